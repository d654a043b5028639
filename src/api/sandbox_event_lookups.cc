#include "sandboxd/api/sandbox_event_lookups.h"

#include <utility>

#include "api/sandbox_json.h"

namespace sandboxd {
namespace {

using nlohmann::json;

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

SandboxSnapshot snapshotOf(const SandboxView& view) {
  return SandboxSnapshot{view.record->name, view.record->user, compact(api::sandboxToJson(view))};
}

}  // namespace

SandboxEventLookups sandboxEventLookups(SandboxManagerPtr manager) {
  const Caller admin{"", true};
  SandboxEventLookups lookups;
  lookups.listAll = [manager, admin]() -> StatusOr<std::vector<SandboxSnapshot>> {
    ASSIGN_OR_RETURN(auto views, manager->list(admin, std::nullopt));
    std::vector<SandboxSnapshot> out;
    out.reserve(views.size());
    for (const auto& view : views) {
      out.push_back(snapshotOf(view));
    }
    return out;
  };
  lookups.get = [manager, admin](const std::string& name) -> StatusOr<SandboxSnapshot> {
    ASSIGN_OR_RETURN(auto view, manager->peek(admin, name));  // never writes
    return snapshotOf(view);
  };
  lookups.operations =
      [manager, admin](const std::string& name) -> StatusOr<std::vector<OperationSnapshot>> {
    ASSIGN_OR_RETURN(auto ops, manager->operations(admin, name));
    std::vector<OperationSnapshot> out;
    out.reserve(ops.size());
    for (const auto& op : ops) {
      json j = api::operationToJson(op);
      j["sandbox"] = name;
      out.push_back(OperationSnapshot{op.id, toString(op.state), compact(j)});
    }
    return out;
  };
  return lookups;
}

}  // namespace sandboxd
