#include "api/sandbox_json.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string>

namespace sandboxd::api {

nlohmann::json sandboxToJson(const SandboxView& view) {
  const SandboxRecord& r = *view.record;
  const ObservedStatus& o = view.observed;

  nlohmann::json env = nlohmann::json::object();
  for (const auto& [key, value] : r.env) {
    env[key] = value;
  }
  std::vector<std::string> secretKeys = r.secretEnvKeys;
  std::sort(secretKeys.begin(), secretKeys.end());
  secretKeys.erase(std::unique(secretKeys.begin(), secretKeys.end()), secretKeys.end());
  nlohmann::json urls = nlohmann::json::object();
  for (const auto& [port, url] : view.urls) {
    urls[port] = url;
  }

  return nlohmann::json{
      {"name", r.name},
      {"user", r.user},
      {"namespace", r.nameSpace},
      {"image", r.image},
      {"env", std::move(env)},
      {"secretEnvKeys", secretKeys},
      {"storage", r.storage},
      {"publicPorts", r.publicPorts},
      {"profile", r.profile},
      {"status", toString(o.phase)},
      {"reason", o.reason},
      {"message", o.message},
      {"replicas", {{"desired", o.desiredReplicas}, {"ready", o.readyReplicas}}},
      {"workload", toString(o.workload)},
      {"urls", std::move(urls)},
      {"createdAt", formatRfc3339(r.createdAt)},
      {"updatedAt", formatRfc3339(r.updatedAt)},
      {"idleStopMinutes", view.idleStopMinutes},
      {"expiresAt", r.expires() ? nlohmann::json(formatRfc3339(r.expiresAt)) : nlohmann::json()},
      {"lastActivityAt", formatRfc3339(std::max(r.lastActivityAt, r.createdAt))},
  };
}

namespace {

// `value` as a JSON string, as nlohmann's dump writes it (ensure_ascii off, invalid UTF-8
// replaced). Printable ASCII, the common case, is written here; anything else (control
// characters, which need \u escapes, and non-ASCII, which needs UTF-8 validation) goes
// through nlohmann itself.
void appendString(std::string& out, const std::string& value) {
  bool escapes = false;
  for (unsigned char c : value) {
    if (c < 0x20 || c >= 0x80) {
      out += nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
    escapes = escapes || c == '"' || c == '\\';
  }
  out += '"';
  if (!escapes) {
    out += value;
  } else {
    for (char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
  }
  out += '"';
}

void appendKey(std::string& out, const char* key) {
  out += '"';
  out += key;
  out += "\":";
}

void appendMap(std::string& out, const std::map<std::string, std::string>& map) {
  out += '{';
  bool first = true;
  for (const auto& [key, value] : map) {
    if (!first) {
      out += ',';
    }
    first = false;
    appendString(out, key);
    out += ':';
    appendString(out, value);
  }
  out += '}';
}

void appendStrings(std::string& out, const std::vector<std::string>& values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    appendString(out, values[i]);
  }
  out += ']';
}

// One Sandbox, keys in the order nlohmann (std::map) writes them.
void appendSandbox(std::string& out, const SandboxView& view) {
  const SandboxRecord& r = *view.record;
  const ObservedStatus& o = view.observed;
  // Sorted and unique, as sandboxToJson writes them; copied only when they are not already.
  std::vector<std::string> sortedKeys;
  const std::vector<std::string>* secretKeys = &r.secretEnvKeys;
  if (std::adjacent_find(secretKeys->begin(), secretKeys->end(),
                         std::greater_equal<std::string>()) != secretKeys->end()) {
    sortedKeys = r.secretEnvKeys;
    std::sort(sortedKeys.begin(), sortedKeys.end());
    sortedKeys.erase(std::unique(sortedKeys.begin(), sortedKeys.end()), sortedKeys.end());
    secretKeys = &sortedKeys;
  }

  // Fields in the order nlohmann (std::map) writes them; each but the last followed by ','.
  const auto text = [&out](const char* key, const std::string& value) {
    appendKey(out, key);
    appendString(out, value);
    out += ',';
  };
  const auto map = [&out](const char* key, const std::map<std::string, std::string>& value) {
    appendKey(out, key);
    appendMap(out, value);
    out += ',';
  };
  out += '{';
  text("createdAt", formatRfc3339(r.createdAt));
  map("env", r.env);
  appendKey(out, "expiresAt");
  if (r.expires()) {
    appendString(out, formatRfc3339(r.expiresAt));
  } else {
    out += "null";
  }
  out += ',';
  appendKey(out, "idleStopMinutes");
  out += std::to_string(view.idleStopMinutes);
  out += ',';
  text("image", r.image);
  text("lastActivityAt", formatRfc3339(std::max(r.lastActivityAt, r.createdAt)));
  text("message", o.message);
  text("name", r.name);
  text("namespace", r.nameSpace);
  text("profile", r.profile);
  appendKey(out, "publicPorts");
  appendStrings(out, r.publicPorts);
  out += ',';
  text("reason", o.reason);
  appendKey(out, "replicas");
  out += "{\"desired\":";
  out += std::to_string(o.desiredReplicas);
  out += ",\"ready\":";
  out += std::to_string(o.readyReplicas);
  out += "},";
  appendKey(out, "secretEnvKeys");
  appendStrings(out, *secretKeys);
  out += ',';
  text("status", toString(o.phase));
  text("storage", r.storage);
  text("updatedAt", formatRfc3339(r.updatedAt));
  map("urls", view.urls);
  text("user", r.user);
  appendKey(out, "workload");
  appendString(out, toString(o.workload));
  out += '}';
}

}  // namespace

std::string sandboxListText(const std::vector<SandboxView>& views,
                            const std::string& continueToken) {
  std::string out;
  out.reserve(64 + views.size() * 512);
  out += "{\"items\":[";
  for (size_t i = 0; i < views.size(); ++i) {
    if (i + kPrefetchAhead < views.size()) {
      prefetchRecord(views[i + kPrefetchAhead].record.get());
    }
    if (i > 0) {
      out += ',';
    }
    appendSandbox(out, views[i]);
  }
  out += ']';
  if (!continueToken.empty()) {
    out += ",\"continue\":";
    out += nlohmann::json(continueToken).dump();
  }
  out += '}';
  return out;
}

nlohmann::json operationToJson(const OperationRecord& op) {
  nlohmann::json item = {{"id", op.id},
                         {"kind", toString(op.kind)},
                         {"state", toString(op.state)},
                         {"user", op.user},
                         {"requestedAt", formatRfc3339(op.requestedAt)}};
  if (op.finishedAt) {
    item["finishedAt"] = formatRfc3339(*op.finishedAt);
  }
  if (!op.error.empty()) {
    item["error"] = op.error;
  }
  return item;
}

nlohmann::json operationListToJson(const std::vector<OperationRecord>& operations) {
  nlohmann::json items = nlohmann::json::array();
  for (const OperationRecord& op : operations) {
    items.push_back(operationToJson(op));
  }
  return nlohmann::json{{"items", std::move(items)}};
}

}  // namespace sandboxd::api
