#include "sandboxd/service/restore_steps.h"

#include <nlohmann/json.hpp>

namespace sandboxd {

using json = nlohmann::json;

std::string encodeRestoreDetail(const RestoreDetail& detail) {
  return json{{"snapshot", detail.snapshot},
              {"preRestore", detail.preRestore},
              {"resume", detail.resume}}
      .dump();
}

StatusOr<RestoreDetail> decodeRestoreDetail(const std::string& text) {
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("snapshot") || !parsed["snapshot"].is_string() ||
      !parsed.contains("preRestore") || !parsed["preRestore"].is_string()) {
    return internalError("a restore operation's detail is not what a restore writes: " + text);
  }
  RestoreDetail detail;
  detail.snapshot = parsed["snapshot"].get<std::string>();
  detail.preRestore = parsed["preRestore"].get<std::string>();
  detail.resume = parsed.value("resume", false);
  return detail;
}

std::string encodeForkDetail(const ForkDetail& detail) {
  return json{{"fromSnapshot", detail.snapshot}, {"volumeSnapshot", detail.volumeSnapshot}}
      .dump();
}

std::optional<ForkDetail> decodeForkDetail(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  const json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || !parsed.contains("fromSnapshot") ||
      !parsed["fromSnapshot"].is_string() || !parsed.contains("volumeSnapshot") ||
      !parsed["volumeSnapshot"].is_string()) {
    return std::nullopt;
  }
  return ForkDetail{parsed["fromSnapshot"].get<std::string>(),
                    parsed["volumeSnapshot"].get<std::string>()};
}

const char* toString(RestoreStep step) {
  switch (step) {
    case RestoreStep::Abandon: return "abandon";
    case RestoreStep::Fail: return "fail";
    case RestoreStep::RollBack: return "roll back to the pre-restore snapshot";
    case RestoreStep::WaitStopped: return "wait for the stop";
    case RestoreStep::TakePreRestore: return "snapshot the current volume";
    case RestoreStep::WaitPreRestore: return "wait for the pre-restore snapshot";
    case RestoreStep::DeleteClaim: return "delete the current claim";
    case RestoreStep::WaitClaimGone: return "wait for the claim to go";
    case RestoreStep::CreateClaim: return "create the claim from the snapshot";
    case RestoreStep::Finish: return "finish";
  }
  return "finish";
}

RestoreStep nextRestoreStep(const RestoreObservation& seen) {
  using Claim = RestoreObservation::Claim;
  if (!seen.sandboxLive) {
    return RestoreStep::Abandon;
  }
  if (seen.claim == Claim::Present && seen.claimRestored) {
    return RestoreStep::Finish;  // done already (a previous round's last step was cut short)
  }
  if (!seen.workloadStopped) {
    return RestoreStep::WaitStopped;
  }
  if (seen.claim == Claim::Deleting) {
    return RestoreStep::WaitClaimGone;
  }
  if (!seen.snapshotKnown) {
    // Before anything more is deleted; with the claim gone already, back to its copy.
    return seen.claim == Claim::Absent && seen.preRestore == SnapshotState::Ready
               ? RestoreStep::RollBack
               : RestoreStep::Fail;
  }
  if (seen.claim == Claim::Absent) {
    // The current volume is gone already (deleted by a previous round, after its copy was
    // ready; or there never was one): nothing left to keep.
    return RestoreStep::CreateClaim;
  }
  if (!seen.preRestore) {
    return RestoreStep::TakePreRestore;
  }
  switch (*seen.preRestore) {
    case SnapshotState::Ready: return RestoreStep::DeleteClaim;
    case SnapshotState::Failed: return RestoreStep::Fail;
    case SnapshotState::Pending: return RestoreStep::WaitPreRestore;
  }
  return RestoreStep::WaitPreRestore;
}

}  // namespace sandboxd
