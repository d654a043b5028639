// MemoryCluster's list: pages as the API server's (limit, continue; resourceVersion "0" whole),
// and only the fields asked for.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "kube/sim/memory_cluster.h"

namespace sandboxd {
namespace {

json service(const std::string& name, const std::string& app = "x") {
  return {{"metadata", {{"name", name}, {"labels", {{"app", app}}}}},
          {"spec", {{"clusterIP", "None"}}}};
}

class MemoryClusterListTest : public ::testing::Test {
 protected:
  MemoryClusterListTest()
      : cluster_(std::make_shared<MemoryCluster>(std::make_shared<testing::SimulatedTimeSource>(),
                                                 MemoryClusterOptions{})) {}

  void create(const std::string& ns, const std::string& name, const std::string& app = "x") {
    ASSERT_OK(cluster_->create(resources::services(), ns, service(name, app)));
  }

  // Every page of a list from the start: the names on each page.
  std::vector<std::vector<std::string>> pages(const std::string& ns, ListOptions options,
                                              const std::function<void(int)>& between = {}) {
    std::vector<std::vector<std::string>> out;
    do {
      auto page = cluster_->list(resources::services(), ns, options);
      EXPECT_OK(page);
      if (!page.isOk() || out.size() > 20) {
        break;
      }
      out.emplace_back();
      for (const json& item : (*page)["items"]) {
        out.back().push_back(item["metadata"]["name"]);
      }
      options.continueToken = (*page)["metadata"].value("continue", "");
      if (between) {
        between(static_cast<int>(out.size()));
      }
    } while (!options.continueToken.empty());
    return out;
  }

  std::shared_ptr<MemoryCluster> cluster_;
};

using Pages = std::vector<std::vector<std::string>>;

TEST_F(MemoryClusterListTest, PagesListEveryMatchingObjectOnceInOrder) {
  for (const char* name : {"e", "a", "c", "b", "d"}) {
    create("ns1", name);
  }
  create("ns1", "other", "y");  // not selected
  create("ns2", "elsewhere");   // another namespace
  ListOptions options;
  options.labelSelector = "app=x";
  options.limit = 2;
  EXPECT_EQ(pages("ns1", options), (Pages{{"a", "b"}, {"c", "d"}, {"e"}}));
  options.limit = 5;  // exactly the last page: no continue token after it
  EXPECT_EQ(pages("ns1", options), (Pages{{"a", "b", "c", "d", "e"}}));
  options.limit = 4;  // across namespaces, the token carries the namespace
  EXPECT_EQ(pages("", options), (Pages{{"a", "b", "c", "d"}, {"e", "elsewhere"}}));
}

TEST_F(MemoryClusterListTest, WhatExistsThroughoutIsListedOnceWhateverChangesBetweenPages) {
  for (const char* name : {"b", "d", "f", "h"}) {
    create("ns1", name);
  }
  ListOptions options;
  options.limit = 2;
  const Pages got = pages("ns1", options, [&](int page) {
    if (page == 1) {
      create("ns1", "a");  // before the cursor: not seen
      create("ns1", "g");  // after it: seen
      ASSERT_OK(cluster_->remove(resources::services(), "ns1", "h"));
    }
  });
  EXPECT_EQ(got, (Pages{{"b", "d"}, {"f", "g"}}));
}

TEST_F(MemoryClusterListTest, FromTheWatchCacheALimitedListIsWhole) {
  for (const char* name : {"a", "b", "c"}) {
    create("ns1", name);
  }
  ListOptions options;
  options.limit = 1;
  options.resourceVersion = "0";
  auto list = cluster_->list(resources::services(), "ns1", options);
  ASSERT_OK(list);
  EXPECT_EQ((*list)["items"].size(), 3u);
  EXPECT_FALSE((*list)["metadata"].contains("continue"));
}

TEST_F(MemoryClusterListTest, AContinueTokenNotOfThisListIsInvalid) {
  create("ns1", "a");
  ListOptions options;
  options.limit = 1;
  options.continueToken = "no-slash";
  EXPECT_KIND(cluster_->list(resources::services(), "ns1", options), InvalidArgument);
  options.continueToken = "ns2/a";  // another namespace's
  EXPECT_KIND(cluster_->list(resources::services(), "ns1", options), InvalidArgument);
}

TEST_F(MemoryClusterListTest, ASelectorItDoesNotTakeIsInvalid) {
  create("ns1", "a");
  ListOptions options;
  options.labelSelector = "app in (x,y)";
  EXPECT_KIND(cluster_->list(resources::services(), "ns1", options), InvalidArgument);
  options.labelSelector = "app!=y";
  auto list = cluster_->list(resources::services(), "ns1", options);
  ASSERT_OK(list);
  EXPECT_EQ((*list)["items"].size(), 1u);
}

// Items come back as the REST client parses them: only the fields asked for, when named.
TEST_F(MemoryClusterListTest, AListKeepsOfEachItemTheFieldsAskedFor) {
  create("ns1", "a");
  create("ns1", "b");
  auto whole = cluster_->list(resources::services(), "ns1");
  ASSERT_OK(whole);
  ListOptions options;
  options.itemFields = std::make_shared<const FieldMask>(
      FieldMask{{"metadata", FieldMask::keys({"name", "labels"})}});
  auto masked = cluster_->list(resources::services(), "ns1", options);
  ASSERT_OK(masked);
  ASSERT_EQ((*masked)["items"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    json expected = (*whole)["items"][i];
    applyFieldMask(expected, *options.itemFields);
    EXPECT_EQ((*masked)["items"][i], expected);
    EXPECT_TRUE((*whole)["items"][i].contains("spec"));
  }
  EXPECT_EQ((*masked)["metadata"], (*whole)["metadata"]) << "the list's own fields whole";
}

}  // namespace
}  // namespace sandboxd
