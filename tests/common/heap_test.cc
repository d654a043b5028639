// HeapReleaser hands freed heap back only when at least half the heap is free (and at least the
// floor), and never more often than its interval.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "sandboxd/common/heap.h"

namespace sandboxd {
namespace {

// Leaves ~60 MB of small freed blocks in the heap, pinned there by the live blocks kept among
// them (as a reconcile pass's garbage is by the cache's objects); returns the live ones.
std::vector<std::unique_ptr<char[]>> makeGarbage() {
  std::vector<std::unique_ptr<char[]>> blocks;
  blocks.reserve(256 * 1024);
  for (int i = 0; i < 256 * 1024; ++i) {
    blocks.emplace_back(new char[240]);
    blocks.back()[0] = static_cast<char>(i);
  }
  std::vector<std::unique_ptr<char[]>> live;
  for (size_t i = 0; i < blocks.size(); i += 16) {
    live.push_back(std::move(blocks[i]));
  }
  return live;
}

TEST(HeapReleaserTest, ReleasesAfterABurstButNotAgainWithinItsInterval) {
  HeapReleaser releaser(std::chrono::seconds(30), size_t{16} << 20);
  const MonotonicTime t0{};
  auto live = makeGarbage();
  EXPECT_TRUE(releaser.maybeRelease(t0 + std::chrono::hours(1)));
  auto more = makeGarbage();
  EXPECT_FALSE(releaser.maybeRelease(t0 + std::chrono::hours(1) + std::chrono::seconds(29)))
      << "within the interval";
}

TEST(HeapReleaserTest, NeverReleasesBelowItsFloor) {
  HeapReleaser releaser(std::chrono::seconds(0), SIZE_MAX);
  auto live = makeGarbage();
  EXPECT_FALSE(releaser.maybeRelease(MonotonicTime{}));
}

// A scope binds the thread to the separate arena and back, nested scopes too.
TEST(HeapArenaScopeTest, BindsTheThreadAndRestoresItsArena) {
  const int arena = separateHeapArena();
  if (arena < 0) {  // built without jemalloc (sanitizers): no arenas, and a scope is a no-op
    EXPECT_EQ(currentHeapArena(), -1);
    HeapArenaScope scope(arena);
    EXPECT_EQ(scope.previous(), -1);
    EXPECT_FALSE(heapStats().has_value());
    return;
  }
  EXPECT_EQ(separateHeapArena(), arena) << "one arena for the process, not one per call";
  const int own = currentHeapArena();
  ASSERT_GE(own, 0);
  ASSERT_NE(own, arena);
  {
    HeapArenaScope scope(arena);
    EXPECT_EQ(scope.previous(), own);
    EXPECT_EQ(currentHeapArena(), arena);
    std::unique_ptr<char[]> block(new char[4096]);  // allocating there works
    block[0] = 1;
    {
      HeapArenaScope back(scope.previous());
      EXPECT_EQ(currentHeapArena(), own);
    }
    EXPECT_EQ(currentHeapArena(), arena);
  }
  EXPECT_EQ(currentHeapArena(), own);
  HeapArenaScope none(-1);
  EXPECT_EQ(none.previous(), -1);
  EXPECT_EQ(currentHeapArena(), own) << "-1 changes nothing";
}

// Long-lived objects have an arena of their own, apart from the simulated cluster's and the
// thread's, and what a scope allocates there is counted as that arena's.
TEST(HeapArenaScopeTest, LongLivedObjectsHaveAnArenaOfTheirOwn) {
  const int longLived = longLivedHeapArena();
  if (longLived < 0) {  // built without jemalloc (sanitizers)
    EXPECT_FALSE(heapStats().has_value());
    return;
  }
  EXPECT_EQ(longLivedHeapArena(), longLived) << "one arena for the process, not one per call";
  const int own = currentHeapArena();
  EXPECT_NE(longLived, own);
  EXPECT_NE(longLived, separateHeapArena());
  const size_t before = heapStats()->longLivedAllocated;
  std::vector<std::unique_ptr<char[]>> blocks;
  {
    HeapArenaScope scope(longLived);
    for (int i = 0; i < 1024; ++i) {
      blocks.emplace_back(new char[1024]);
      blocks.back()[0] = static_cast<char>(i);
    }
  }
  EXPECT_EQ(currentHeapArena(), own);
  {
    HeapArenaScope outer(longLived);
    {
      HeapArenaScope inner(longLived);  // already there: no switch
      EXPECT_EQ(inner.previous(), longLived);
      EXPECT_EQ(currentHeapArena(), longLived);
    }
    EXPECT_EQ(currentHeapArena(), longLived) << "the inner scope left the outer's arena";
  }
  EXPECT_EQ(currentHeapArena(), own);
  const size_t held = heapStats()->longLivedAllocated;
  EXPECT_GE(held, before + 1024 * 1024);
  // What the thread allocates after the scope is not the arena's.
  std::vector<std::unique_ptr<char[]>> others;
  for (int i = 0; i < 1024; ++i) {
    others.emplace_back(new char[1024]);
    others.back()[0] = static_cast<char>(i);
  }
  EXPECT_LT(heapStats()->longLivedAllocated, held + 64 * 1024);
  blocks.clear();
  EXPECT_LT(heapStats()->longLivedAllocated, held - 512 * 1024) << "freed blocks go back to it";
}

}  // namespace
}  // namespace sandboxd
