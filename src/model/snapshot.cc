#include "sandboxd/model/snapshot.h"

namespace sandboxd {

const char* toString(SnapshotState state) {
  switch (state) {
    case SnapshotState::Pending: return "pending";
    case SnapshotState::Ready: return "ready";
    case SnapshotState::Failed: return "failed";
  }
  return "pending";
}

std::optional<SnapshotState> snapshotStateFromString(const std::string& s) {
  for (SnapshotState state : {SnapshotState::Pending, SnapshotState::Ready, SnapshotState::Failed}) {
    if (s == toString(state)) {
      return state;
    }
  }
  return std::nullopt;
}

std::string snapshotObjectName(const std::string& sandbox, const std::string& id) {
  return sandbox + "-snap-" + id;
}

}  // namespace sandboxd
