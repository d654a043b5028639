// The restore's decisions (restore_steps.h), one observation at a time: the volume is never
// deleted before its copy is ready, and a claim this restore made ends it.
#include "sandboxd/service/restore_steps.h"

#include <gtest/gtest.h>

namespace sandboxd {
namespace {

using Claim = RestoreObservation::Claim;

RestoreObservation running() {
  RestoreObservation seen;
  seen.sandboxLive = true;
  seen.workloadStopped = false;
  seen.snapshotKnown = true;
  seen.claim = Claim::Present;
  return seen;
}

TEST(RestoreStepsTest, TheStepsInOrder) {
  RestoreObservation seen = running();
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::WaitStopped);
  seen.workloadStopped = true;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::TakePreRestore);
  seen.preRestore = SnapshotState::Pending;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::WaitPreRestore);
  seen.preRestore = SnapshotState::Ready;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::DeleteClaim);
  seen.claim = Claim::Deleting;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::WaitClaimGone);
  seen.claim = Claim::Absent;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::CreateClaim);
  seen.claim = Claim::Present;
  seen.claimRestored = true;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::Finish);
}

TEST(RestoreStepsTest, TheVolumeIsNeverDeletedBeforeItsCopyIsReady) {
  RestoreObservation seen = running();
  seen.workloadStopped = true;
  for (std::optional<SnapshotState> pre :
       {std::optional<SnapshotState>(), std::optional<SnapshotState>(SnapshotState::Pending),
        std::optional<SnapshotState>(SnapshotState::Failed)}) {
    seen.preRestore = pre;
    EXPECT_NE(nextRestoreStep(seen), RestoreStep::DeleteClaim);
    EXPECT_NE(nextRestoreStep(seen), RestoreStep::CreateClaim);
  }
  seen.preRestore = SnapshotState::Failed;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::Fail) << "the volume is left as it is";
  seen.preRestore = SnapshotState::Ready;
  seen.workloadStopped = false;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::WaitStopped) << "not while the pod uses it";
}

TEST(RestoreStepsTest, AClaimAnEarlierRestoreMadeIsNotTheRestoredOne) {
  RestoreObservation seen = running();
  seen.workloadStopped = true;
  seen.claimRestored = false;  // made from the same snapshot by another restore: newer data
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::TakePreRestore);
}

TEST(RestoreStepsTest, ADeletedSandboxOrAVanishedSnapshotEndsIt) {
  RestoreObservation seen = running();
  seen.sandboxLive = false;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::Abandon);

  seen = running();
  seen.workloadStopped = true;
  seen.snapshotKnown = false;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::Fail) << "before the volume is touched";
  seen.claim = Claim::Absent;
  seen.preRestore = SnapshotState::Ready;
  EXPECT_EQ(nextRestoreStep(seen), RestoreStep::RollBack)
      << "the claim went already: made again from its copy";
}

TEST(RestoreStepsTest, DetailsRoundTrip) {
  RestoreDetail detail{"0123456789ab", "ba9876543210", true};
  auto decoded = decodeRestoreDetail(encodeRestoreDetail(detail));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->snapshot, "0123456789ab");
  EXPECT_EQ(decoded->preRestore, "ba9876543210");
  EXPECT_TRUE(decoded->resume);
  EXPECT_FALSE(decodeRestoreDetail("").isOk());
  EXPECT_FALSE(decodeRestoreDetail("{\"snapshot\": 1}").isOk());

  auto fork = decodeForkDetail(encodeForkDetail({"0123456789ab", "demo-snap-0123456789ab"}));
  ASSERT_TRUE(fork.has_value());
  EXPECT_EQ(fork->snapshot, "0123456789ab");
  EXPECT_EQ(fork->volumeSnapshot, "demo-snap-0123456789ab");
  EXPECT_FALSE(decodeForkDetail("").has_value()) << "an ordinary create";
  EXPECT_FALSE(decodeForkDetail(encodeRestoreDetail(detail)).has_value());
}

}  // namespace
}  // namespace sandboxd
