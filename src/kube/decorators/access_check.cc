#include "sandboxd/kube/access_check.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include "kube/decorators/forwarding_kube_client.h"

namespace sandboxd {

std::string Permission::toString() const {
  // As the API server's Forbidden message words it: `cannot patch resource "statefulsets/scale"
  // in API group "apps"`.
  return verb + " " + resource + " in API group \"" + group + "\"";
}

bool Permission::operator<(const Permission& o) const {
  return std::tie(group, resource, verb) < std::tie(o.group, o.resource, o.verb);
}

namespace {

const ResourceType& selfSubjectRulesReviews() {
  static const ResourceType t{"/apis/authorization.k8s.io/v1", "selfsubjectrulesreviews",
                              "SelfSubjectRulesReview", "authorization.k8s.io/v1", false};
  return t;
}

// The strings of `rule[key]` ("" entries kept: the core group is "").
std::vector<std::string> strings(const json& rule, const char* key) {
  std::vector<std::string> out;
  const auto it = rule.find(key);
  if (it == rule.end() || !it->is_array()) {
    return out;
  }
  for (const json& v : *it) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool containsOrAll(const std::vector<std::string>& values, const std::string& wanted) {
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& v) { return v == "*" || v == wanted; });
}

std::string describe(const std::vector<Permission>& permissions) {
  std::string out;
  for (const auto& p : permissions) {
    out += (out.empty() ? "" : ", ") + p.toString();
  }
  return out;
}

// Errors of calls made with sandboxd's own identity, for sandboxd's callers.
Status refusalAsUnavailable(const Status& status) {
  switch (status.kind()) {
    case ErrorKind::PermissionDenied:
      return unavailable(
          "the Kubernetes API server refused sandboxd's own identity (an operator must grant "
          "the permission: deploy/rbac.yaml): " +
          status.message());
    case ErrorKind::Unauthenticated:
      return unavailable("the Kubernetes API server did not accept sandboxd's own credentials: " +
                         status.message());
    default:
      return status;
  }
}

class AccessCheckClient : public ForwardingKubeClient {
 public:
  AccessCheckClient(KubeClientPtr inner, std::string nameSpace, std::vector<Permission> required,
                    TimeSourcePtr time, AccessCheckOptions options)
      : ForwardingKubeClient(std::move(inner)),
        nameSpace_(std::move(nameSpace)),
        required_(std::move(required)),
        time_(std::move(time)),
        options_(options) {}

  // KubeClient
  StatusOr<json> get(const ResourceType& type, const std::string& ns, const std::string& name,
                     const std::string& subresource) override {
    return checked(inner()->get(type, ns, name, subresource));
  }
  StatusOr<json> list(const ResourceType& type, const std::string& ns,
                      const ListOptions& options) override {
    return checked(inner()->list(type, ns, options));
  }
  StatusOr<std::string> listText(const ResourceType& type, const std::string& ns,
                                 const ListOptions& options) override {
    return checked(inner()->listText(type, ns, options));
  }
  StatusOr<json> create(const ResourceType& type, const std::string& ns, const json& object,
                        const WriteOptions& options) override {
    return checked(inner()->create(type, ns, object, options));
  }
  StatusOr<json> replace(const ResourceType& type, const std::string& ns,
                         const std::string& name, const json& object,
                         const WriteOptions& options) override {
    return checked(inner()->replace(type, ns, name, object, options));
  }
  StatusOr<json> patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patchType, const json& patch, const WriteOptions& options,
                       const std::string& subresource) override {
    return checked(inner()->patch(type, ns, name, patchType, patch, options, subresource));
  }
  StatusOr<json> remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) override {
    return checked(inner()->remove(type, ns, name, options));
  }
  Status watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchCallback& onEvent, WatchCancellation* cancel) override {
    return checked(inner()->watch(type, ns, options, onEvent, cancel));
  }

  Status ping() override {
    RETURN_IF_ERROR(refusalAsUnavailable(inner()->ping()));
    return permissionVerdict();
  }

 private:
  Status checked(Status status) {
    if (status.kind() == ErrorKind::PermissionDenied) {
      refused_.store(true, std::memory_order_relaxed);  // review again on the next ping
    }
    return refusalAsUnavailable(status);
  }
  template <typename T>
  StatusOr<T> checked(StatusOr<T> result) {
    if (result.isOk()) {
      return result;
    }
    return checked(result.status());
  }

  // The last review's verdict, reviewing again when it is due.
  Status permissionVerdict() {
    std::lock_guard<std::mutex> lock(mu_);
    const MonotonicTime now = time_->monotonicTime();
    const bool refusedSince = refused_.load(std::memory_order_relaxed) &&
                              now - reviewedAt_ >= options_.recheckWhileMissing;
    if (reviewed_ && now < nextReview_ && !refusedSince) {
      return verdict_;
    }
    refused_.store(false, std::memory_order_relaxed);
    reviewed_ = true;
    reviewedAt_ = now;
    auto review = reviewPermissions(*inner(), nameSpace_, required_);
    std::string summary;
    if (!review.isOk()) {
      summary = "review failed: " + review.status().toString();
      verdict_ = Status::ok();  // unknown is not missing
      nextReview_ = now + options_.recheckWhileMissing;
    } else if (review->missing.empty()) {
      summary = "all granted";
      verdict_ = Status::ok();
      nextReview_ = now + options_.recheck;
    } else if (review->incomplete) {
      summary = "incomplete review (" + review->evaluationError +
                "); perhaps missing: " + describe(review->missing);
      verdict_ = Status::ok();
      nextReview_ = now + options_.recheckWhileMissing;
    } else {
      summary = "missing: " + describe(review->missing);
      verdict_ = unavailable("sandboxd's Kubernetes identity lacks permissions it needs in "
                             "namespace " + nameSpace_ + ": " + describe(review->missing) +
                             " (deploy/rbac.yaml lists them)");
      nextReview_ = now + options_.recheckWhileMissing;
    }
    if (summary != lastSummary_) {
      if (verdict_.isOk() && review.isOk() && review->missing.empty()) {
        spdlog::info("kube: permissions in namespace {}: {}", nameSpace_, summary);
      } else {
        spdlog::warn("kube: permissions in namespace {}: {}", nameSpace_, summary);
      }
      lastSummary_ = summary;
    }
    return verdict_;
  }

  const std::string nameSpace_;
  const std::vector<Permission> required_;
  const TimeSourcePtr time_;
  const AccessCheckOptions options_;
  std::atomic<bool> refused_{false};
  std::mutex mu_;
  bool reviewed_ = false;
  MonotonicTime reviewedAt_{};
  MonotonicTime nextReview_{};
  Status verdict_;
  std::string lastSummary_;
};

}  // namespace

bool ruleGrants(const json& rule, const Permission& permission) {
  if (!rule.is_object()) {
    return false;
  }
  if (!strings(rule, "resourceNames").empty()) {
    return false;  // only the named objects
  }
  if (!containsOrAll(strings(rule, "verbs"), permission.verb) ||
      !containsOrAll(strings(rule, "apiGroups"), permission.group)) {
    return false;
  }
  const auto slash = permission.resource.find('/');
  for (const std::string& resource : strings(rule, "resources")) {
    if (resource == "*" || resource == permission.resource) {
      return true;
    }
    if (slash != std::string::npos && resource == "*" + permission.resource.substr(slash)) {
      return true;  // "*/scale"
    }
  }
  return false;
}

StatusOr<PermissionReview> reviewPermissions(KubeClient& client, const std::string& nameSpace,
                                             const std::vector<Permission>& required) {
  const json request = {{"apiVersion", "authorization.k8s.io/v1"},
                        {"kind", "SelfSubjectRulesReview"},
                        {"spec", {{"namespace", nameSpace}}}};
  WriteOptions options;
  options.fieldManager.clear();  // nothing is stored
  ASSIGN_OR_RETURN(json answer, client.create(selfSubjectRulesReviews(), "", request, options));
  const auto field = [](const json& object, const char* key) {
    const auto it = object.is_object() ? object.find(key) : object.end();
    return it != object.end() ? *it : json();
  };
  const json status = field(answer, "status");
  const json rules = field(status, "resourceRules");
  PermissionReview review;
  review.incomplete = field(status, "incomplete") == true;
  const json error = field(status, "evaluationError");
  review.evaluationError = error.is_string() ? error.get<std::string>() : "";
  for (const Permission& p : required) {
    const bool granted = rules.is_array() &&
                         std::any_of(rules.begin(), rules.end(),
                                     [&](const json& rule) { return ruleGrants(rule, p); });
    if (!granted) {
      review.missing.push_back(p);
    }
  }
  return review;
}

KubeClientPtr withAccessChecks(KubeClientPtr inner, std::string nameSpace,
                               std::vector<Permission> required, TimeSourcePtr time,
                               AccessCheckOptions options) {
  return std::make_shared<AccessCheckClient>(std::move(inner), std::move(nameSpace),
                                             std::move(required), std::move(time), options);
}

}  // namespace sandboxd
