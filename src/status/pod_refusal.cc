#include "sandboxd/status/pod_refusal.h"

#include <string>

#include "sandboxd/model/reason.h"

namespace sandboxd {
namespace {

using json = nlohmann::json;

std::string field(const json& object, const char* parent, const char* key) {
  const auto p = object.find(parent);
  if (p == object.end() || !p->is_object()) {
    return "";
  }
  const auto v = p->find(key);
  return v != p->end() && v->is_string() ? v->get<std::string>() : "";
}

std::string text(const json& object, const char* key) {
  const auto v = object.find(key);
  return v != object.end() && v->is_string() ? v->get<std::string>() : "";
}

// When the event last happened: lastTimestamp, else eventTime, else its creation (RFC 3339,
// which orders as text within one format).
std::string lastSeen(const json& event) {
  for (const char* key : {"lastTimestamp", "eventTime"}) {
    if (std::string t = text(event, key); !t.empty()) {
      return t;
    }
  }
  return field(event, "metadata", "creationTimestamp");
}

}  // namespace

std::string podRefusalFieldSelector(const std::string& name) {
  std::string selector = "involvedObject.kind=StatefulSet,reason=FailedCreate";
  if (!name.empty()) {
    selector += ",involvedObject.name=" + name;
  }
  return selector;
}

ObservedStatus withPodRefusal(ObservedStatus status, const json& statefulSet,
                              const json& events) {
  if (status.workload != WorkloadKind::StatefulSet ||
      status.reason != toString(StatusReason::PodNotCreated) || !events.is_array()) {
    return status;
  }
  const std::string name = field(statefulSet, "metadata", "name");
  const std::string uid = field(statefulSet, "metadata", "uid");
  const json* newest = nullptr;
  for (const json& event : events) {
    if (!event.is_object() || text(event, "reason") != "FailedCreate" ||
        text(event, "type") != "Warning" || field(event, "involvedObject", "kind") != "StatefulSet" ||
        field(event, "involvedObject", "name") != name ||
        field(event, "involvedObject", "uid") != uid || text(event, "message").empty()) {
      continue;  // another object's, or an earlier StatefulSet's of the same name
    }
    if (newest == nullptr || lastSeen(event) >= lastSeen(*newest)) {
      newest = &event;
    }
  }
  if (newest == nullptr) {
    return status;
  }
  status.phase = Phase::Error;
  status.reason = toString(StatusReason::PodRefused);
  status.message = "the API server refused to create the pod of StatefulSet " + name + ": " +
                   text(*newest, "message");
  return status;
}

}  // namespace sandboxd
