// The client subcommands: thin HTTP calls to a running server (DESIGN §3 and §4).
// Exit codes: 0 ok; 1 the operation failed (server error, unreachable server); 2 usage or
// invalid input (bad K=V, the server's 400/422). Errors are one line on stderr; the token is
// never printed.
#include "cli/client_commands.h"

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <cpprest/http_client.h>
#include <nlohmann/json.hpp>

namespace sandboxd::cli {

struct ClientCommands {
  // Shared by every client subcommand.
  std::string server;
  std::string token;
  std::string output = "text";

  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* status = nullptr;
  CLI::App* stop = nullptr;
  CLI::App* start = nullptr;
  CLI::App* env = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* snapshotCreate = nullptr;  // snapshot create|list|delete
  CLI::App* snapshotList = nullptr;
  CLI::App* snapshotDelete = nullptr;
  CLI::App* update = nullptr;  // PATCH: storage, idle period, expiry
  CLI::App* touch = nullptr;   // POST .../activity
  CLI::App* restore = nullptr;  // POST .../restore

  std::string name;
  // create
  std::string image;
  std::vector<std::string> envPairs;
  std::vector<std::string> secretEnvPairs;
  std::string storage;
  std::string profile;
  std::vector<std::string> publicPorts;
  std::string user;
  // create and update: unset unless given (CLI::Option::count)
  int idleStopMinutes = 0;
  std::string expiresAt;
  CLI::Option* idleOption = nullptr;
  CLI::Option* updateIdleOption = nullptr;
  // update
  bool idleStopDefault = false;
  bool noExpiry = false;
  // list
  std::string listUser;
  int listPageSize = 1000;  // sandboxes per request
  // env
  std::vector<std::string> setPairs;
  std::vector<std::string> unsetKeys;
  std::vector<std::string> secretPairs;
  // delete
  bool purge = false;
  bool purgeSnapshots = false;  // with purge: the sandbox's snapshots too
  // snapshot
  std::string snapshotLabel;
  std::string snapshotId;
  // create --from SANDBOX/SNAPSHOT (a fork)
  std::string from;
};

namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

void addCommonOptions(CLI::App* sub, ClientCommands& c) {
  sub->add_option("--server", c.server,
                  "sandboxd URL (default $SANDBOXD_SERVER or http://127.0.0.1:8080)");
  sub->add_option("--token", c.token, "API token (default $SANDBOXD_TOKEN)");
  sub->add_option("-o,--output", c.output, "output format: text or json");
}

// A one-line error on stderr; returns `code`.
int fail(int code, const std::string& message) {
  std::string line = message;
  for (char& ch : line) {
    if (ch == '\n' || ch == '\r') {
      ch = ' ';
    }
  }
  std::cerr << "error: " << line << std::endl;
  return code;
}

// "K=V" → (K, V). The key must be non-empty; the value may be empty or contain '='.
bool splitPair(const std::string& pair, std::string* key, std::string* value) {
  auto eq = pair.find('=');
  if (eq == std::string::npos || eq == 0) {
    return false;
  }
  *key = pair.substr(0, eq);
  *value = pair.substr(eq + 1);
  return true;
}

// Parses K=V pairs into `out` (a JSON object). Returns false with `error` set on bad input.
bool pairsToObject(const std::vector<std::string>& pairs, const std::string& flag, json* out,
                   std::string* error) {
  for (const auto& p : pairs) {
    std::string k;
    std::string v;
    if (!splitPair(p, &k, &v)) {
      // Show only the key part: the value may be a secret.
      std::string shown = p.substr(0, p.find('='));
      *error = "invalid " + flag + " \"" + (shown.empty() ? std::string("=...") : shown) +
               "\": expected KEY=VALUE";
      return false;
    }
    (*out)[k] = v;
  }
  return true;
}

std::string pathSegment(const std::string& s) { return web::uri::encode_data_string(s); }

struct Response {
  int status = 0;
  json body;          // parsed, or null
  std::string text;   // raw body
};

// Sends one request. Throws web::http::http_exception when the server is unreachable.
Response send(const std::string& server, const std::string& token, const std::string& method,
              const std::string& pathAndQuery, const std::optional<json>& body) {
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::seconds(60));
  web::http::client::http_client client(server, cfg);
  web::http::http_request req(method);
  req.set_request_uri(pathAndQuery);
  req.headers().add("Authorization", "Bearer " + token);
  req.headers().add("Accept", "application/json");
  if (body) {
    req.set_body(body->dump(), "application/json");
  }
  auto resp = client.request(req).get();
  Response out;
  out.status = resp.status_code();
  out.text = resp.extract_utf8string(true).get();
  out.body = json::parse(out.text, nullptr, false);
  if (out.body.is_discarded()) {
    out.body = nullptr;
  }
  return out;
}

// The exit code and stderr line for an error answer.
int reportHttpError(const Response& r) {
  std::string message;
  if (r.body.is_object() && r.body.contains("error") && r.body["error"].is_object() &&
      r.body["error"].contains("message") && r.body["error"]["message"].is_string()) {
    message = r.body["error"]["message"].get<std::string>();
  } else {
    message = "server answered HTTP " + std::to_string(r.status);
    if (!r.text.empty() && r.text.size() < 200) {
      message += ": " + r.text;
    }
  }
  if (r.status == 401) {
    message += " (check --token / SANDBOXD_TOKEN)";
  }
  const bool invalidInput = r.status == 400 || r.status == 422;
  return fail(invalidInput ? kExitUsage : kExitFailed, message);
}

std::string str(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_string()) {
    return j[key].get<std::string>();
  }
  return "";
}

std::string replicasText(const json& s) {
  if (s.contains("replicas") && s["replicas"].is_object()) {
    const auto& r = s["replicas"];
    return std::to_string(r.value("ready", 0)) + "/" + std::to_string(r.value("desired", 0));
  }
  return "-";
}

void printSandboxText(const json& s, std::ostream& out) {
  out << "name:      " << str(s, "name") << "\n";
  out << "user:      " << str(s, "user") << "\n";
  std::string status = str(s, "status");
  std::string reason = str(s, "reason");
  std::string message = str(s, "message");
  out << "status:    " << status;
  if (!reason.empty()) {
    out << " (" << reason << ")";
  }
  out << "\n";
  if (!message.empty()) {
    out << "message:   " << message << "\n";
  }
  out << "ready:     " << replicasText(s) << "\n";
  out << "image:     " << str(s, "image") << "\n";
  out << "storage:   " << str(s, "storage") << "\n";
  if (s.contains("idleStopMinutes") && s["idleStopMinutes"].is_number_integer()) {
    const int idle = s["idleStopMinutes"].get<int>();
    out << "idle stop: " << (idle == 0 ? std::string("never") : std::to_string(idle) + " min")
        << " (last activity " << str(s, "lastActivityAt") << ")\n";
  }
  if (!str(s, "expiresAt").empty()) {
    out << "expires:   " << str(s, "expiresAt") << "\n";
  }
  if (!str(s, "profile").empty()) {
    out << "profile:   " << str(s, "profile") << "\n";
  }
  if (s.contains("publicPorts") && s["publicPorts"].is_array() && !s["publicPorts"].empty()) {
    std::string ports;
    for (const auto& p : s["publicPorts"]) {
      ports += (ports.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : p.dump());
    }
    out << "public:    " << ports << "\n";
  }
  out << "workload:  " << str(s, "workload") << "\n";
  out << "namespace: " << str(s, "namespace") << "\n";
  if (s.contains("env") && s["env"].is_object() && !s["env"].empty()) {
    out << "env:\n";
    for (const auto& [k, v] : s["env"].items()) {
      out << "  " << k << "=" << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
  }
  if (s.contains("secretEnvKeys") && s["secretEnvKeys"].is_array() &&
      !s["secretEnvKeys"].empty()) {
    out << "secretEnv:\n";
    for (const auto& k : s["secretEnvKeys"]) {
      out << "  " << (k.is_string() ? k.get<std::string>() : k.dump()) << " (secret)\n";
    }
  }
  if (s.contains("urls") && s["urls"].is_object() && !s["urls"].empty()) {
    out << "urls:\n";
    for (const auto& [k, v] : s["urls"].items()) {
      out << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
    }
  }
  out << "created:   " << str(s, "createdAt") << "\n";
  out << "updated:   " << str(s, "updatedAt") << "\n";
}

// The sandboxes a list query selects, every page of them: GET `pathAndQuery` (its query holds
// limit=), then again with each answer's "continue" token until an answer has
// none. The answer is {"items": [every page's items]}, or the first error answer as it came.
Response sendAllPages(const std::string& server, const std::string& token,
                      const std::string& pathAndQuery) {
  json items = json::array();
  std::string next;
  for (;;) {
    std::string path = pathAndQuery;
    if (!next.empty()) {
      path += "&continue=" + web::uri::encode_data_string(next);
    }
    Response page = send(server, token, "GET", path, std::nullopt);
    if (page.status >= 400 || !page.body.is_object() || !page.body.contains("items") ||
        !page.body["items"].is_array()) {
      return page;
    }
    for (auto& item : page.body["items"]) {
      items.push_back(std::move(item));
    }
    const auto cont = page.body.find("continue");
    if (cont == page.body.end() || !cont->is_string() || cont->get<std::string>().empty() ||
        cont->get<std::string>() == next) {
      page.body = json{{"items", std::move(items)}};
      return page;
    }
    next = cont->get<std::string>();
  }
}

// Rows as aligned columns, the first row the header.
void printTable(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    out << line << "\n";
  }
}

void printListText(const json& body, std::ostream& out) {
  const json items = body.contains("items") && body["items"].is_array() ? body["items"]
                                                                        : json::array();
  if (items.empty()) {
    out << "No sandboxes.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "USER", "STATUS", "READY", "IMAGE", "CREATED"});
  for (const auto& s : items) {
    rows.push_back({str(s, "name"), str(s, "user"), str(s, "status"), replicasText(s),
                    str(s, "image"), str(s, "createdAt")});
  }
  printTable(rows, out);
}

void printSnapshotsText(const json& body, std::ostream& out) {
  const json items = body.contains("items") && body["items"].is_array() ? body["items"]
                                                                        : json::array();
  if (items.empty()) {
    out << "No snapshots.\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"ID", "LABEL", "STATE", "SIZE", "CREATED", "ERROR"});
  for (const auto& s : items) {
    rows.push_back({str(s, "id"), str(s, "label"), str(s, "state"), str(s, "size"),
                    str(s, "createdAt"), str(s, "error")});
  }
  printTable(rows, out);
}

}  // namespace

std::shared_ptr<ClientCommands> addClientCommands(CLI::App& app) {
  auto c = std::make_shared<ClientCommands>();

  c->create = app.add_subcommand("create", "Create a sandbox on a running server");
  c->create->add_option("name", c->name, "sandbox name")->required();
  c->create->add_option("--image", c->image, "container image (default: configured)");
  c->create->add_option("--env", c->envPairs, "environment variable K=V (repeatable)")
      ->allow_extra_args(false);
  c->create->add_option("--secret-env", c->secretEnvPairs, "secret variable K=V (repeatable)")
      ->allow_extra_args(false);
  c->create->add_option("--storage", c->storage, "home volume size, e.g. 5Gi");
  c->create->add_option("--public", c->publicPorts,
                        "port whose URL anyone may open, e.g. app (repeatable; default: "
                        "owner-only)")
      ->allow_extra_args(false);
  c->create->add_option("--user", c->user, "admin tokens only: create for this user");
  c->create->add_option("--profile", c->profile,
                        "a profile the server offers, e.g. large (default: the server's)");
  c->idleOption = c->create->add_option(
      "--idle-stop-minutes", c->idleStopMinutes,
      "stop it after this many minutes without activity; 0 = never (default: the profile's)");
  c->create->add_option("--expires-at", c->expiresAt,
                        "delete it (home volume kept) at this RFC 3339 time, e.g. "
                        "2026-12-31T18:00:00Z");
  c->create->add_option("--from", c->from,
                        "fork: make the home volume from snapshot SANDBOX/ID (see snapshot "
                        "list)");
  addCommonOptions(c->create, *c);

  c->list = app.add_subcommand("list", "List your sandboxes");
  c->list->add_option("--user", c->listUser, "admin tokens only: this user's sandboxes");
  c->list->add_option("--page-size", c->listPageSize,
                      "sandboxes per request (1-5000); list fetches every page")
      ->check(CLI::Range(1, 5000));
  addCommonOptions(c->list, *c);

  c->status = app.add_subcommand("status", "Show a sandbox");
  c->status->add_option("name", c->name, "sandbox name")->required();
  addCommonOptions(c->status, *c);

  c->stop = app.add_subcommand("stop", "Stop a sandbox (data kept)");
  c->stop->add_option("name", c->name, "sandbox name")->required();
  addCommonOptions(c->stop, *c);

  c->start = app.add_subcommand("start", "Start a stopped sandbox");
  c->start->add_option("name", c->name, "sandbox name")->required();
  addCommonOptions(c->start, *c);

  c->env = app.add_subcommand("env", "Set or unset a sandbox's environment variables");
  c->env->add_option("name", c->name, "sandbox name")->required();
  c->env->add_option("pairs", c->setPairs, "K=V to set");
  c->env->add_option("--unset", c->unsetKeys, "variable to remove (repeatable)")
      ->allow_extra_args(false);
  c->env->add_option("--secret", c->secretPairs, "secret variable K=V (repeatable)")
      ->allow_extra_args(false);
  addCommonOptions(c->env, *c);

  c->remove = app.add_subcommand("delete", "Delete a sandbox (keeps its home volume)");
  c->remove->add_option("name", c->name, "sandbox name")->required();
  CLI::Option* purge = c->remove->add_flag("--purge", c->purge, "also delete the home volume");
  c->remove
      ->add_flag("--purge-snapshots", c->purgeSnapshots,
                 "with --purge: also delete the sandbox's snapshots (a purge keeps them)")
      ->needs(purge);
  addCommonOptions(c->remove, *c);

  CLI::App* snapshot = app.add_subcommand("snapshot", "Home-volume snapshots of a sandbox");
  snapshot->require_subcommand(1);
  c->snapshotCreate = snapshot->add_subcommand("create", "Snapshot a sandbox's home volume");
  c->snapshotCreate->add_option("name", c->name, "sandbox name")->required();
  c->snapshotCreate->add_option("--label", c->snapshotLabel,
                                "label (labelled snapshots are kept until deleted)");
  c->snapshotList = snapshot->add_subcommand("list", "List a sandbox's snapshots");
  c->snapshotList->add_option("name", c->name, "sandbox name")->required();
  c->snapshotDelete = snapshot->add_subcommand("delete", "Delete a snapshot");
  c->snapshotDelete->add_option("name", c->name, "sandbox name")->required();
  c->snapshotDelete->add_option("id", c->snapshotId, "snapshot id")->required();
  for (CLI::App* sub : {c->snapshotCreate, c->snapshotList, c->snapshotDelete}) {
    addCommonOptions(sub, *c);
  }

  c->restore = app.add_subcommand(
      "restore", "Restore a snapshot in place of a sandbox's home volume (the current one is "
                 "snapshotted first, label pre-restore)");
  c->restore->add_option("name", c->name, "sandbox name")->required();
  c->restore->add_option("--snapshot", c->snapshotId, "the snapshot's id (see snapshot list)")
      ->required();
  addCommonOptions(c->restore, *c);

  c->update = app.add_subcommand(
      "update", "Grow a sandbox's home volume, or set its idle auto-stop or its expiry");
  c->update->add_option("name", c->name, "sandbox name")->required();
  c->update->add_option("--storage", c->storage,
                        "grow the home volume to this size, e.g. 10Gi (never shrinks)");
  c->updateIdleOption = c->update->add_option(
      "--idle-stop-minutes", c->idleStopMinutes,
      "stop it after this many minutes without activity; 0 = never");
  c->update->add_flag("--idle-stop-default", c->idleStopDefault,
                      "back to the profile's idle auto-stop period");
  c->update->add_option("--expires-at", c->expiresAt,
                        "delete it (home volume kept) at this RFC 3339 time");
  c->update->add_flag("--no-expiry", c->noExpiry, "never expire");
  addCommonOptions(c->update, *c);

  c->touch = app.add_subcommand(
      "touch", "Report activity in a sandbox: its idle auto-stop counts from now");
  c->touch->add_option("name", c->name, "sandbox name")->required();
  addCommonOptions(c->touch, *c);

  return c;
}

std::optional<int> runClientCommand(ClientCommands& c) {
  CLI::App* which = nullptr;
  for (CLI::App* sub : {c.create, c.list, c.status, c.stop, c.start, c.env, c.remove,
                        c.snapshotCreate, c.snapshotList, c.snapshotDelete, c.update, c.touch,
                        c.restore}) {
    if (sub != nullptr && sub->parsed()) {
      which = sub;
    }
  }
  if (which == nullptr) {
    return std::nullopt;
  }

  if (c.output != "text" && c.output != "json") {
    return fail(kExitUsage, "-o must be text or json, got \"" + c.output + "\"");
  }
  std::string server = c.server;
  if (server.empty()) {
    const char* env = std::getenv("SANDBOXD_SERVER");
    server = env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8080";
  }
  while (server.size() > 1 && server.back() == '/') {
    server.pop_back();
  }
  if (!web::uri::validate(server) || (server.rfind("http://", 0) != 0 &&
                                      server.rfind("https://", 0) != 0)) {
    return fail(kExitUsage, "invalid --server URL \"" + server + "\" (expected http://HOST:PORT)");
  }
  std::string token = c.token;
  if (token.empty()) {
    const char* env = std::getenv("SANDBOXD_TOKEN");
    token = env != nullptr ? env : "";
  }
  if (token.empty()) {
    return fail(kExitUsage, "no API token: pass --token or set SANDBOXD_TOKEN");
  }

  std::string method;
  std::string path;
  std::optional<json> body;
  const std::string sandboxPath = "/api/v1/sandboxes/" + pathSegment(c.name);
  std::string error;

  if (which == c.create) {
    json b = {{"name", c.name}};
    json env = json::object();
    json secretEnv = json::object();
    if (!pairsToObject(c.envPairs, "--env", &env, &error) ||
        !pairsToObject(c.secretEnvPairs, "--secret-env", &secretEnv, &error)) {
      return fail(kExitUsage, error);
    }
    if (!c.image.empty()) {
      b["image"] = c.image;
    }
    if (!env.empty()) {
      b["env"] = env;
    }
    if (!secretEnv.empty()) {
      b["secretEnv"] = secretEnv;
    }
    if (!c.storage.empty()) {
      b["storage"] = c.storage;
    }
    if (!c.publicPorts.empty()) {
      b["publicPorts"] = c.publicPorts;
    }
    if (!c.user.empty()) {
      b["user"] = c.user;
    }
    if (!c.profile.empty()) {
      b["profile"] = c.profile;
    }
    if (c.idleOption->count() > 0) {
      b["idleStopMinutes"] = c.idleStopMinutes;
    }
    if (!c.expiresAt.empty()) {
      b["expiresAt"] = c.expiresAt;
    }
    if (!c.from.empty()) {
      const size_t slash = c.from.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == c.from.size() ||
          c.from.find('/', slash + 1) != std::string::npos) {
        return fail(kExitUsage, "--from must be SANDBOX/SNAPSHOT-ID, got \"" + c.from + "\"");
      }
      b["fromSnapshot"] = {{"sandbox", c.from.substr(0, slash)},
                           {"snapshot", c.from.substr(slash + 1)}};
    }
    method = "POST";
    path = "/api/v1/sandboxes";
    body = b;
  } else if (which == c.list) {
    method = "GET";
    path = "/api/v1/sandboxes?limit=" + std::to_string(c.listPageSize);
    if (!c.listUser.empty()) {
      path += "&user=" + web::uri::encode_data_string(c.listUser);
    }
  } else if (which == c.status) {
    method = "GET";
    path = sandboxPath;
  } else if (which == c.stop) {
    method = "POST";
    path = sandboxPath + "/stop";
  } else if (which == c.start) {
    method = "POST";
    path = sandboxPath + "/start";
  } else if (which == c.env) {
    json set = json::object();
    json setSecret = json::object();
    if (!pairsToObject(c.setPairs, "K=V", &set, &error) ||
        !pairsToObject(c.secretPairs, "--secret", &setSecret, &error)) {
      return fail(kExitUsage, error);
    }
    if (set.empty() && setSecret.empty() && c.unsetKeys.empty()) {
      return fail(kExitUsage, "nothing to change: give K=V pairs, --secret K=V or --unset K");
    }
    json b = json::object();
    if (!set.empty()) {
      b["set"] = set;
    }
    if (!setSecret.empty()) {
      b["setSecret"] = setSecret;
    }
    if (!c.unsetKeys.empty()) {
      b["unset"] = c.unsetKeys;
    }
    method = "PATCH";
    path = sandboxPath + "/env";
    body = b;
  } else if (which == c.remove) {
    method = "DELETE";
    path = sandboxPath + (c.purge ? (c.purgeSnapshots ? "?purge=true&purgeSnapshots=true"
                                                      : "?purge=true")
                                  : "");
  } else if (which == c.snapshotCreate) {
    method = "POST";
    path = sandboxPath + "/snapshots";
    body = c.snapshotLabel.empty() ? json::object() : json{{"label", c.snapshotLabel}};
  } else if (which == c.snapshotList) {
    method = "GET";
    path = sandboxPath + "/snapshots";
  } else if (which == c.snapshotDelete) {
    method = "DELETE";
    path = sandboxPath + "/snapshots/" + pathSegment(c.snapshotId);
  } else if (which == c.update) {
    const bool idleSet = c.updateIdleOption->count() > 0;
    if ((idleSet && c.idleStopDefault) || (!c.expiresAt.empty() && c.noExpiry)) {
      return fail(kExitUsage, idleSet && c.idleStopDefault
                                  ? "give --idle-stop-minutes or --idle-stop-default, not both"
                                  : "give --expires-at or --no-expiry, not both");
    }
    json b = json::object();
    if (!c.storage.empty()) {
      b["storage"] = c.storage;
    }
    if (idleSet || c.idleStopDefault) {
      b["idleStopMinutes"] = idleSet ? json(c.idleStopMinutes) : json();
    }
    if (!c.expiresAt.empty() || c.noExpiry) {
      b["expiresAt"] = c.noExpiry ? json() : json(c.expiresAt);
    }
    if (b.empty()) {
      return fail(kExitUsage, "nothing to change: give --storage, --idle-stop-minutes, "
                              "--idle-stop-default, --expires-at or --no-expiry");
    }
    method = "PATCH";
    path = sandboxPath;
    body = b;
  } else if (which == c.touch) {
    method = "POST";
    path = sandboxPath + "/activity";
  } else if (which == c.restore) {
    method = "POST";
    path = sandboxPath + "/restore";
    body = json{{"snapshot", c.snapshotId}};
  }

  Response r;
  try {
    r = which == c.list ? sendAllPages(server, token, path)
                        : send(server, token, method, path, body);
  } catch (const std::exception& e) {
    return fail(kExitFailed, "cannot reach sandboxd at " + server + ": " + e.what());
  }
  if (r.status >= 400) {
    return reportHttpError(r);
  }
  if (which == c.touch) {
    if (c.output != "json") {
      std::cout << "Activity in " << c.name << " noted.\n";
    }
    return kExitOk;
  }
  if (r.body.is_null()) {
    return fail(kExitFailed, "unexpected answer from sandboxd (HTTP " + std::to_string(r.status) +
                                 ", not JSON)");
  }

  if (c.output == "json") {
    std::cout << r.body.dump(2) << std::endl;
    return kExitOk;
  }
  if (which == c.list) {
    printListText(r.body, std::cout);
  } else if (which == c.restore) {
    std::cout << "Restore of snapshot " << c.snapshotId << " into " << c.name
              << " accepted; the current home volume is kept as snapshot "
              << r.body.value("preRestoreSnapshot", "") << " (label pre-restore)"
              << (r.body.value("resume", false) ? "; it starts again when done" : "")
              << ".\nFollow it with: sandboxd status " << c.name << "\n";
  } else if (which == c.snapshotCreate || which == c.snapshotList || which == c.snapshotDelete) {
    if (which == c.snapshotCreate) {
      std::cout << "Snapshot of " << c.name << " requested.\n";
    } else if (which == c.snapshotDelete) {
      std::cout << "Snapshot " << c.snapshotId << " of " << c.name << " deleted.\n";
    }
    printSnapshotsText(which == c.snapshotList ? r.body : json{{"items", {r.body}}}, std::cout);
  } else {
    if (which == c.create) {
      std::cout << "Sandbox " << c.name << " created.\n";
    } else if (which == c.stop) {
      std::cout << "Stop of " << c.name << " accepted.\n";
    } else if (which == c.start) {
      std::cout << "Start of " << c.name << " accepted.\n";
    } else if (which == c.env) {
      std::cout << "Environment of " << c.name << " updated (the pod restarts).\n";
    } else if (which == c.update) {
      std::cout << "Sandbox " << c.name << " updated.\n";
    } else if (which == c.remove) {
      std::cout << "Delete of " << c.name << " accepted"
                << (c.purgeSnapshots ? " (home volume and snapshots will be deleted)"
                    : c.purge        ? " (home volume will be deleted, snapshots kept)"
                                     : " (home volume kept)")
                << ".\n";
    }
    printSandboxText(r.body, std::cout);
  }
  std::cout.flush();
  return kExitOk;
}

}  // namespace sandboxd::cli
