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
  lookups.owners = [manager, admin]() -> StatusOr<std::vector<SandboxOwner>> {
    ASSIGN_OR_RETURN(auto views, manager->list(admin, std::nullopt));
    std::vector<SandboxOwner> out;
    out.reserve(views.size());
    for (const auto& view : views) {
      out.push_back(SandboxOwner{view.record->name, view.record->user});
    }
    return out;
  };
  // Read at the moment a stream starts: nothing of it is kept.
  lookups.inScope = [manager, admin](const EventScope& scope)
      -> StatusOr<std::vector<SandboxSnapshot>> {
    std::vector<SandboxSnapshot> out;
    if (!scope.name.empty()) {
      auto view = manager->peek(admin, scope.name);  // never writes
      if (!view.isOk()) {
        if (view.status().kind() == ErrorKind::NotFound) {
          return out;
        }
        return view.status();
      }
      if (scope.covers(view->record->user, view->record->name)) {
        out.push_back(snapshotOf(*view));
      }
      return out;
    }
    ASSIGN_OR_RETURN(auto views,
                     manager->list(admin, scope.allUsers ? std::nullopt
                                                         : std::optional<std::string>(scope.user)));
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
