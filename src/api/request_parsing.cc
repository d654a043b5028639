#include "api/request_parsing.h"

#include "sandboxd/service/quotas.h"

#include <cctype>
#include <set>

#include "api/list_token.h"
#include "sandboxd/service/lifetimes.h"
#include "sandboxd/validation/token_ttl.h"
#include "sandboxd/validation/validation.h"

namespace sandboxd::api {

namespace {

const char* typeName(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

Status checkObject(const nlohmann::json& body, const std::set<std::string>& allowed,
                   const std::string& what) {
  if (!body.is_object()) {
    return invalidArgument(what + " must be a JSON object, got " + typeName(body));
  }
  for (const auto& item : body.items()) {
    if (allowed.count(item.key()) == 0) {
      std::string known;
      for (const auto& k : allowed) {
        known += (known.empty() ? "" : ", ") + k;
      }
      return invalidArgument("unknown field \"" + item.key() + "\" (allowed: " + known + ")");
    }
  }
  return Status::ok();
}

Status readString(const nlohmann::json& body, const char* field, std::string* out) {
  auto it = body.find(field);
  if (it == body.end()) {
    return Status::ok();
  }
  if (!it->is_string()) {
    return invalidArgument(std::string("field \"") + field + "\" must be a string, got " +
                           typeName(*it));
  }
  *out = it->get<std::string>();
  return Status::ok();
}

Status readStringMap(const nlohmann::json& body, const char* field, EnvMap* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    return Status::ok();
  }
  if (!it->is_object()) {
    return invalidArgument(std::string("field \"") + field +
                           "\" must be an object of string values, got " + typeName(*it));
  }
  for (const auto& item : it->items()) {
    if (!item.value().is_string()) {
      return invalidArgument(std::string("field \"") + field + "." + item.key() +
                             "\" must be a string, got " + typeName(item.value()));
    }
    (*out)[item.key()] = item.value().get<std::string>();
  }
  return Status::ok();
}

Status readStringArray(const nlohmann::json& body, const char* field,
                       std::vector<std::string>* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    return Status::ok();
  }
  if (!it->is_array()) {
    return invalidArgument(std::string("field \"") + field +
                           "\" must be an array of strings, got " + typeName(*it));
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& v = (*it)[i];
    if (!v.is_string()) {
      return invalidArgument(std::string("field \"") + field + "[" + std::to_string(i) +
                             "]\" must be a string, got " + typeName(v));
    }
    out->push_back(v.get<std::string>());
  }
  return Status::ok();
}

}  // namespace

std::optional<nlohmann::json> parseJsonBody(const std::string& body, std::string* error) {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    if (error != nullptr) {
      // e.what() carries "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
      std::string what = e.what();
      auto pos = what.find("] ");
      *error = "malformed JSON: " + (pos == std::string::npos ? what : what.substr(pos + 2));
    }
    return std::nullopt;
  }
}

namespace {

// An optional integer minutes field: absent → nullopt; null → a set nullopt (cleared).
Status readMinutes(const nlohmann::json& body, const char* field,
                   std::optional<std::optional<int>>* out) {
  auto it = body.find(field);
  if (it == body.end()) {
    return Status::ok();
  }
  if (it->is_null()) {
    *out = std::optional<int>();
    return Status::ok();
  }
  if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
      it->get<int64_t>() > kMaxIdleStopMinutes) {
    return invalidArgument(std::string("field \"") + field +
                           "\" must be a whole number of minutes from 0 (never) to " +
                           std::to_string(kMaxIdleStopMinutes) + ", or null");
  }
  *out = std::optional<int>(static_cast<int>(it->get<int64_t>()));
  return Status::ok();
}

// An optional RFC 3339 time field: absent → nullopt; null → a set nullopt (cleared).
Status readTime(const nlohmann::json& body, const char* field,
                std::optional<std::optional<SystemTime>>* out) {
  auto it = body.find(field);
  if (it == body.end()) {
    return Status::ok();
  }
  if (it->is_null()) {
    *out = std::optional<SystemTime>();
    return Status::ok();
  }
  std::optional<SystemTime> at = it->is_string() ? parseRfc3339(it->get<std::string>())
                                                 : std::nullopt;
  if (!at) {
    return invalidArgument(std::string("field \"") + field +
                           "\" must be an RFC 3339 time such as 2026-12-31T18:00:00Z, or null");
  }
  *out = at;
  return Status::ok();
}

}  // namespace

StatusOr<CreateRequest> parseCreateRequest(const nlohmann::json& body) {
  RETURN_IF_ERROR(checkObject(body,
                              {"name", "image", "env", "secretEnv", "storage", "publicPorts",
                               "user", "profile", "idleStopMinutes", "expiresAt",
                               "fromSnapshot"},
                              "body"));
  CreateRequest request;
  auto name = body.find("name");
  if (name == body.end() || name->is_null()) {
    return invalidArgument("field \"name\" is required");
  }
  RETURN_IF_ERROR(readString(body, "name", &request.name));
  RETURN_IF_ERROR(readString(body, "image", &request.image));
  RETURN_IF_ERROR(readStringMap(body, "env", &request.env));
  RETURN_IF_ERROR(readStringMap(body, "secretEnv", &request.secretEnv));
  RETURN_IF_ERROR(readString(body, "storage", &request.storage));
  RETURN_IF_ERROR(readStringArray(body, "publicPorts", &request.publicPorts));
  RETURN_IF_ERROR(readString(body, "user", &request.user));
  RETURN_IF_ERROR(readString(body, "profile", &request.profile));
  std::optional<std::optional<int>> idle;
  RETURN_IF_ERROR(readMinutes(body, "idleStopMinutes", &idle));
  request.idleStopMinutes = idle.value_or(std::nullopt);
  std::optional<std::optional<SystemTime>> expires;
  RETURN_IF_ERROR(readTime(body, "expiresAt", &expires));
  request.expiresAt = expires.value_or(std::nullopt);
  auto from = body.find("fromSnapshot");
  if (from != body.end() && !from->is_null()) {
    RETURN_IF_ERROR(checkObject(*from, {"sandbox", "snapshot"}, "fromSnapshot"));
    RETURN_IF_ERROR(readString(*from, "sandbox", &request.fromSandbox));
    RETURN_IF_ERROR(readString(*from, "snapshot", &request.fromSnapshot));
    if (request.fromSandbox.empty() || request.fromSnapshot.empty()) {
      return invalidArgument(
          "field \"fromSnapshot\" needs \"sandbox\" and \"snapshot\" (a snapshot id)");
    }
  }
  return request;
}

StatusOr<SandboxUpdate> parseSandboxUpdate(const nlohmann::json& body) {
  RETURN_IF_ERROR(checkObject(body, {"storage", "idleStopMinutes", "expiresAt"}, "body"));
  SandboxUpdate update;
  if (body.contains("storage")) {
    std::string storage;
    RETURN_IF_ERROR(readString(body, "storage", &storage));
    if (storage.empty()) {
      return invalidArgument("field \"storage\" must be a size such as \"10Gi\"");
    }
    update.storage = storage;
  }
  RETURN_IF_ERROR(readMinutes(body, "idleStopMinutes", &update.idleStopMinutes));
  RETURN_IF_ERROR(readTime(body, "expiresAt", &update.expiresAt));
  if (update.empty()) {
    return invalidArgument("nothing to change: give storage, idleStopMinutes or expiresAt");
  }
  return update;
}

StatusOr<EnvChange> parseEnvChange(const nlohmann::json& body) {
  RETURN_IF_ERROR(checkObject(body, {"set", "setSecret", "unset"}, "body"));
  EnvChange change;
  RETURN_IF_ERROR(readStringMap(body, "set", &change.set));
  RETURN_IF_ERROR(readStringMap(body, "setSecret", &change.setSecret));
  RETURN_IF_ERROR(readStringArray(body, "unset", &change.unset));
  return change;
}

StatusOr<TokenRequest> parseTokenRequest(const nlohmann::json& body) {
  RETURN_IF_ERROR(checkObject(body, {"user", "admin", "ttl"}, "body"));
  TokenRequest request;
  auto user = body.find("user");
  if (user == body.end() || user->is_null()) {
    return invalidArgument("field \"user\" is required");
  }
  RETURN_IF_ERROR(readString(body, "user", &request.user));
  RETURN_IF_ERROR(validateUserName(request.user));
  auto admin = body.find("admin");
  if (admin != body.end() && !admin->is_null()) {
    if (!admin->is_boolean()) {
      return invalidArgument(std::string("field \"admin\" must be a boolean, got ") +
                             typeName(*admin));
    }
    request.admin = admin->get<bool>();
  }
  std::string ttl;
  RETURN_IF_ERROR(readString(body, "ttl", &ttl));
  if (body.contains("ttl") && !body["ttl"].is_null()) {
    ASSIGN_OR_RETURN(request.ttl, parseTokenTtl(ttl));
  }
  return request;
}

StatusOr<UserQuota> parseQuotaRequest(const nlohmann::json& body, const std::string& user) {
  RETURN_IF_ERROR(checkObject(body, {"maxSandboxes", "maxRunning", "maxStorage"}, "body"));
  UserQuota quota;
  quota.user = user;
  for (const auto& [field, out] : {std::pair<const char*, std::optional<int64_t>*>{
                                       "maxSandboxes", &quota.maxSandboxes},
                                   {"maxRunning", &quota.maxRunning}}) {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) {
      continue;
    }
    if (!it->is_number_integer()) {
      return invalidArgument(std::string("field \"") + field + "\" must be an integer, got " +
                             typeName(*it));
    }
    *out = it->get<int64_t>();
  }
  if (body.contains("maxStorage") && !body["maxStorage"].is_null()) {
    std::string storage;
    RETURN_IF_ERROR(readString(body, "maxStorage", &storage));
    quota.maxStorage = storage;
  }
  RETURN_IF_ERROR(validateUserQuota(quota));
  return quota;
}

namespace {

StatusOr<bool> parseBoolParam(const std::vector<std::pair<std::string, std::string>>& query,
                              const std::string& name) {
  bool on = false;
  for (const auto& [key, value] : query) {
    if (key != name) {
      continue;
    }
    if (value == "true" || value == "1") {
      on = true;
    } else if (value == "false" || value == "0") {
      on = false;
    } else {
      return invalidArgument("query parameter \"" + name + "\" must be true or false");
    }
  }
  return on;
}

}  // namespace

StatusOr<bool> parsePurge(const std::vector<std::pair<std::string, std::string>>& query) {
  return parseBoolParam(query, "purge");
}

StatusOr<bool> parsePurgeSnapshots(
    const std::vector<std::pair<std::string, std::string>>& query) {
  return parseBoolParam(query, "purgeSnapshots");
}

StatusOr<std::optional<std::string>> parseUserFilter(
    const std::vector<std::pair<std::string, std::string>>& query) {
  std::optional<std::string> user;
  for (const auto& [key, value] : query) {
    if (key != "user") {
      continue;
    }
    if (value.empty()) {
      return invalidArgument("query parameter \"user\" must not be empty");
    }
    user = value;
  }
  return user;
}

namespace {

constexpr size_t kMaxNamePrefix = 253;

StatusOr<size_t> parseLimit(const std::string& value) {
  const std::string rule = "query parameter \"limit\" must be a whole number from 1 to " +
                           std::to_string(ListQuery::kMaxLimit);
  if (value.empty() || value.size() > 5) {
    return invalidArgument(rule);
  }
  size_t limit = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return invalidArgument(rule);
    }
    limit = limit * 10 + static_cast<size_t>(c - '0');
  }
  if (limit < 1 || limit > ListQuery::kMaxLimit) {
    return invalidArgument(rule);
  }
  return limit;
}

StatusOr<Phase> parseStatusFilter(const std::string& value) {
  std::string upper = value;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (auto phase = phaseFromString(upper)) {
    return *phase;
  }
  return invalidArgument(
      "query parameter \"status\" must be one of CREATING, STARTING, RUNNING, STOPPING, "
      "STOPPED, UPDATING, DELETING, TERMINATED, ERROR");
}

Status checkNamePrefix(const std::string& value) {
  if (value.size() > kMaxNamePrefix) {
    return invalidArgument("query parameter \"q\" (a name prefix) must be at most " +
                           std::to_string(kMaxNamePrefix) + " characters");
  }
  for (char c : value) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return invalidArgument(
          "query parameter \"q\" (a name prefix) may hold only lowercase letters, digits, "
          "'-' and '.'");
    }
  }
  return Status::ok();
}

}  // namespace

StatusOr<ListQuery> parseListQuery(
    const std::vector<std::pair<std::string, std::string>>& query) {
  ListQuery out;
  ASSIGN_OR_RETURN(out.user, parseUserFilter(query));
  std::optional<std::string> token;
  for (const auto& [key, value] : query) {
    if (key == "limit") {
      ASSIGN_OR_RETURN(out.limit, parseLimit(value));
    } else if (key == "status") {
      ASSIGN_OR_RETURN(out.status, parseStatusFilter(value));
    } else if (key == "q") {
      RETURN_IF_ERROR(checkNamePrefix(value));
      out.namePrefix = value;
    } else if (key == "continue") {
      token = value;
    }
  }
  if (token) {
    ASSIGN_OR_RETURN(out.after, decodeContinueToken(*token, out));
  }
  return out;
}

}  // namespace sandboxd::api
