// The status reason vocabulary: every reason has a name of its own, and the names the manager
// and the reconciler record (kept in registry rows, shown by the API) stay what they are. The
// names of the derived reasons are checked with status derivation (tests/status).
#include "sandboxd/model/reason.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sandboxd {
namespace {

TEST(StatusReasonTest, EveryReasonHasANameOfItsOwn) {
  // The enum is dense from Ready (0) to its last enumerator, SecretLost.
  std::set<std::string> seen;
  for (int i = 0; i <= static_cast<int>(StatusReason::SecretLost); ++i) {
    const std::string name = toString(static_cast<StatusReason>(i));
    EXPECT_NE(name, "Unknown") << "reason " << i << " has no name";
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
  }
}

TEST(StatusReasonTest, RecordedReasonsKeepTheirNames) {
  const std::vector<std::pair<StatusReason, std::string>> recorded = {
      {StatusReason::Accepted, "Accepted"},
      {StatusReason::Created, "Created"},
      {StatusReason::CreateFailed, "CreateFailed"},
      {StatusReason::DeleteRequested, "DeleteRequested"},
      {StatusReason::Deleted, "Deleted"},
      {StatusReason::StatusUnknown, "StatusUnknown"},
      {StatusReason::ReconcileFailed, "ReconcileFailed"},
      {StatusReason::SecretLost, "SecretLost"},
  };
  for (const auto& [reason, name] : recorded) {
    EXPECT_EQ(toString(reason), name);
  }
}

}  // namespace
}  // namespace sandboxd
