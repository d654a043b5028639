// SandboxManager::listPage over the SQLite registry and the simulated cluster: keyset pages in
// name order, the filters, and the paging invariant (a sandbox that exists throughout a walk
// is listed exactly once, whatever is created and deleted meanwhile).
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "sandboxd/service/sandbox_manager.h"
#include "service/sandbox_listing.h"
#include "service/service_fixture.h"

namespace sandboxd::testing {
namespace {

class SandboxListingTest : public ManagerFixture {
 protected:
  void create(const Caller& caller, const std::string& name) {
    CreateRequest r;
    r.name = name;
    auto made = manager_->create(caller, r);
    ASSERT_TRUE(made.isOk()) << name << ": " << made.status().toString();
  }

  // Every page of `query` from the first; `between(page)` runs after each page.
  std::vector<std::string> walk(const Caller& caller, ListQuery query,
                                const std::function<void(int)>& between = nullptr) {
    std::vector<std::string> names;
    for (int page = 0; page < 1000; ++page) {
      auto answer = manager_->listPage(caller, query);
      EXPECT_TRUE(answer.isOk()) << answer.status().toString();
      if (!answer.isOk()) {
        break;
      }
      EXPECT_LE(answer->items.size(), query.limit);
      for (const auto& view : answer->items) {
        names.push_back(view.record->name);
      }
      if (!answer->next) {
        break;
      }
      EXPECT_GT(*answer->next, query.after) << "a walk only moves forward";
      query.after = *answer->next;
      if (between) {
        between(page);
      }
    }
    return names;
  }
};

std::string boxName(int i) {
  std::string n = std::to_string(i);
  return "box-" + std::string(3 - n.size(), '0') + n;
}

TEST_F(SandboxListingTest, AWalkListsEverySandboxOnceInNameOrder) {
  for (int i = 0; i < 23; ++i) {
    create(alice_, boxName(i));
  }
  ListQuery query;
  query.limit = 5;
  const auto names = walk(alice_, query);
  std::vector<std::string> expected;
  for (int i = 0; i < 23; ++i) {
    expected.push_back(boxName(i));
  }
  EXPECT_EQ(names, expected);
  // A page exactly as long as what is left says nothing remains.
  query.limit = 23;
  auto whole = manager_->listPage(alice_, query);
  ASSERT_TRUE(whole.isOk());
  EXPECT_EQ(whole->items.size(), 23u);
  EXPECT_FALSE(whole->next);
  query.limit = 22;
  auto short1 = manager_->listPage(alice_, query);
  ASSERT_TRUE(short1.isOk());
  EXPECT_EQ(short1->next, std::optional<std::string>(boxName(21)));
}

TEST_F(SandboxListingTest, SurvivorsAreListedExactlyOnceWhileOthersComeAndGo) {
  // Even names survive; odd ones are deleted during the walk; new ones appear before, inside
  // and after the part already walked.
  std::set<std::string> survivors;
  for (int i = 0; i < 60; i += 2) {
    create(alice_, boxName(i));
    survivors.insert(boxName(i));
    create(alice_, boxName(i + 1));
  }
  int created = 0;
  int deleted = 1;
  const auto churn = [&](int page) {
    // Two deletions of sandboxes not yet walked or already walked, two creations.
    for (int k = 0; k < 2 && deleted < 60; ++k, deleted += 2) {
      auto gone = manager_->remove(alice_, boxName(deleted), /*purge=*/k == 0);
      ASSERT_TRUE(gone.isOk()) << gone.status().toString();
    }
    create(alice_, "box-" + std::to_string(page) + "-new");  // between box-00N and box-00N+1
    create(alice_, "aaa-" + std::to_string(created++));      // before every box
    time_->advance(std::chrono::seconds(1));  // the cluster deletes and starts meanwhile
  };
  ListQuery query;
  query.limit = 4;
  const auto names = walk(alice_, query, churn);
  std::map<std::string, int> times;
  for (const auto& name : names) {
    ++times[name];
  }
  for (const auto& [name, n] : times) {
    EXPECT_EQ(n, 1) << name << " listed " << n << " times";
  }
  for (const auto& name : survivors) {
    EXPECT_EQ(times.count(name), 1u) << name << " survived the walk but was not listed";
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_GT(deleted, 30) << "the churn ran";
}

TEST_F(SandboxListingTest, FiltersByStatusPrefixAndUserWithTheAccessRule) {
  create(alice_, "web-a");
  create(alice_, "web-b");
  create(alice_, "db-a");
  create(bob_, "web-c");
  waitReady();
  ASSERT_TRUE(manager_->stop(alice_, "web-b").isOk());
  waitReady();

  ListQuery query;
  query.namePrefix = "web";
  EXPECT_EQ(walk(alice_, query), (std::vector<std::string>{"web-a", "web-b"}));
  EXPECT_EQ(walk(admin_, query), (std::vector<std::string>{"web-a", "web-b", "web-c"}));
  query.status = Phase::Stopped;
  EXPECT_EQ(walk(alice_, query), (std::vector<std::string>{"web-b"}));
  query.status = Phase::Running;
  query.limit = 1;
  EXPECT_EQ(walk(admin_, query), (std::vector<std::string>{"web-a", "web-c"}));
  query = ListQuery{};
  query.user = "bob";
  EXPECT_EQ(walk(admin_, query), (std::vector<std::string>{"web-c"}));
  auto denied = manager_->listPage(alice_, query);
  ASSERT_FALSE(denied.isOk());
  EXPECT_EQ(denied.status().kind(), ErrorKind::PermissionDenied);
  query.user = "alice";
  EXPECT_EQ(walk(alice_, query), (std::vector<std::string>{"db-a", "web-a", "web-b"}));
  query.status = Phase::Error;
  EXPECT_EQ(walk(alice_, query), std::vector<std::string>{});
  for (size_t bad : {size_t{0}, ListQuery::kMaxLimit + 1}) {
    ListQuery q;
    q.limit = bad;
    auto refused = manager_->listPage(alice_, q);
    ASSERT_FALSE(refused.isOk());
    EXPECT_EQ(refused.status().kind(), ErrorKind::InvalidArgument);
  }
}

// A status filter that passes few: a page stops once it has looked at 4 × limit rows (here
// 9: three batches of limit + 1 = 3), short or even empty, with `next`; the walk still finds
// every match, once.
TEST_F(SandboxListingTest, ARareStatusStopsPagesShortAndTheWalkStillFindsEveryMatch) {
  for (int i = 0; i < 30; ++i) {
    create(alice_, boxName(i));
  }
  waitReady();
  for (int i : {3, 4, 25, 29}) {
    ASSERT_TRUE(manager_->stop(alice_, boxName(i)).isOk());
  }
  waitReady();
  ListQuery query;
  query.status = Phase::Stopped;
  query.limit = 2;
  auto config = config_.sandbox;
  std::vector<std::string> names;
  std::vector<size_t> sizes;
  for (int page = 0; page < 100; ++page) {
    auto answer = listSandboxPage(*registry_, *service_, config, alice_, query, /*minScan=*/1);
    ASSERT_TRUE(answer.isOk()) << answer.status().toString();
    sizes.push_back(answer->items.size());
    for (const auto& view : answer->items) {
      EXPECT_EQ(view.observed.phase, Phase::Stopped);
      names.push_back(view.record->name);
    }
    if (!answer->next) {
      break;
    }
    query.after = *answer->next;
  }
  EXPECT_EQ(names, (std::vector<std::string>{boxName(3), boxName(4), boxName(25), boxName(29)}));
  EXPECT_GT(sizes.size(), 3u) << "pages stopped short";
  EXPECT_NE(std::find(sizes.begin(), sizes.end(), 0u), sizes.end())
      << "a page of no match still carries next";
}

}  // namespace
}  // namespace sandboxd::testing
