// A slow client, without sockets: a stream whose sink never drains overflows its cap, gets a
// `reset` event and is closed (and dropped by the hub), while another stream on the same hub
// receives every event, in order. No kernel socket buffer decides when this happens.
#include "api/bounded_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sandboxd/service/sandbox_events.h"

namespace sandboxd::api {
namespace {

// What a stream wrote; `drains`: its client takes every byte at once, else none ever.
struct MemorySink : StreamSink {
  explicit MemorySink(bool drains) : drains(drains) {}
  size_t unsent() const override { return drains ? 0 : bytes.size(); }
  void put(const std::string& text) override {
    ASSERT_FALSE(ended) << "written after its end";
    bytes += text;
  }
  void end() override { ended = true; }
  const bool drains;
  std::string bytes;
  bool ended = false;
};

struct Parsed {
  std::string type, id, data;
};

// The events of a text/event-stream (one data line each, as the hub writes them).
std::vector<Parsed> eventsOf(const std::string& text) {
  std::vector<Parsed> out;
  Parsed cur;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      ADD_FAILURE() << "an unterminated line";
      break;
    }
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) {
      if (!cur.type.empty()) {
        out.push_back(cur);
      }
      cur = Parsed{};
    } else if (line.rfind("event: ", 0) == 0) {
      cur.type = line.substr(7);
    } else if (line.rfind("id: ", 0) == 0) {
      cur.id = line.substr(4);
    } else if (line.rfind("data: ", 0) == 0) {
      cur.data = line.substr(6);
    }
  }
  return out;
}

SandboxEventHub::Snapshot noSandboxes() {
  return [](const EventScope&) -> StatusOr<std::vector<SandboxSnapshot>> {
    return std::vector<SandboxSnapshot>{};
  };
}

// Subscribes `stream` to `hub` as EventStreams does (the event's shared wire text).
std::optional<uint64_t> attach(SandboxEventHub& hub, BoundedStream& stream) {
  EventScope admin;
  admin.allUsers = true;
  auto id = hub.subscribe(admin, "", [&stream](const SandboxEventPtr& e) {
    return stream.write(*e->wire);
  });
  EXPECT_TRUE(id.isOk());
  stream.endOfStart();
  return id.isOk() ? *id : std::nullopt;
}

TEST(BoundedStreamTest, ASlowClientIsResetAndClosedWhileAnotherGetsEveryEventInOrder) {
  SandboxEventHub hub({256}, "e1", noSandboxes());
  std::atomic<uint64_t> resets{0};
  auto slowSink = std::make_shared<MemorySink>(false);
  auto fastSink = std::make_shared<MemorySink>(true);
  BoundedStream slow(slowSink, 4096, &resets);
  BoundedStream fast(fastSink, 4096, &resets);
  ASSERT_TRUE(attach(hub, slow));
  ASSERT_TRUE(attach(hub, fast));
  const std::string padding(200, 'x');
  constexpr int kEvents = 100;  // ~25 KB: far past the slow stream's 4 KB
  for (int i = 1; i <= kEvents; ++i) {
    hub.publishSandbox("s" + std::to_string(i % 7), "alice",
                       "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + padding + "\"}");
  }
  // The slow one: its events until the cap, then a reset with an empty id, then its end.
  EXPECT_TRUE(slow.closed());
  EXPECT_TRUE(slowSink->ended);
  EXPECT_EQ(resets.load(), 1u);
  auto slowEvents = eventsOf(slowSink->bytes);
  ASSERT_GE(slowEvents.size(), 3u);
  EXPECT_EQ(slowEvents.front().type, "reset");  // the start
  EXPECT_EQ(slowEvents.back().type, "reset");
  EXPECT_EQ(slowEvents.back().id, "");
  EXPECT_EQ(slowEvents.back().data, "{\"reason\":\"behind\"}");
  const size_t slowGot = slowEvents.size() - 2;
  EXPECT_LT(slowGot, static_cast<size_t>(kEvents));
  EXPECT_GE(slowSink->bytes.size(), 4096u);  // it took what its cap allows before the reset
  for (size_t i = 0; i < slowGot; ++i) {
    EXPECT_EQ(slowEvents[i + 1].id, "e1." + std::to_string(i + 1));
  }
  // The hub no longer delivers to it.
  EXPECT_EQ(hub.subscriptions(), 1u);
  const std::string before = slowSink->bytes;
  hub.publishSandbox("late", "alice", "{}");
  EXPECT_EQ(slowSink->bytes, before);
  // The other: the start, then every event, in order, and still open.
  EXPECT_FALSE(fast.closed());
  EXPECT_FALSE(fastSink->ended);
  auto fastEvents = eventsOf(fastSink->bytes);
  ASSERT_EQ(fastEvents.size(), static_cast<size_t>(kEvents) + 2);  // reset, 100, late
  EXPECT_EQ(fastEvents[0].type, "reset");
  for (int i = 1; i <= kEvents; ++i) {
    EXPECT_EQ(fastEvents[i].type, "sandbox");
    EXPECT_EQ(fastEvents[i].id, "e1." + std::to_string(i));
    EXPECT_EQ(fastEvents[i].data.rfind("{\"n\":" + std::to_string(i) + ",", 0), 0u);
  }
  EXPECT_EQ(fastEvents.back().id, "e1.101");
}

TEST(BoundedStreamTest, TheStartIsNotHeldToTheCapButWhatFollowsIs) {
  auto sink = std::make_shared<MemorySink>(false);
  std::atomic<uint64_t> resets{0};
  BoundedStream stream(sink, 4096, &resets);
  const std::string big(6000, 'y');
  ASSERT_TRUE(stream.write(big));  // the start (a large current state) may exceed the cap
  ASSERT_TRUE(stream.write(big));  // 6,000 unsent, over the cap: still the start
  stream.endOfStart();             // 12,000 unsent: the cap counts from here
  ASSERT_TRUE(stream.write(std::string(4000, 'z')));  // within the cap past the start
  EXPECT_TRUE(stream.write(std::string(200, 'z')));   // 4,000 unsent: still under 4,096
  EXPECT_FALSE(stream.write("more"));                 // 4,200 unsent: over
  EXPECT_TRUE(stream.closed());
  EXPECT_EQ(resets.load(), 1u);
  EXPECT_FALSE(stream.write("after"));  // closed: nothing more
  EXPECT_NE(sink->bytes.find("event: reset\nid: \n"), std::string::npos);
  EXPECT_EQ(sink->bytes.find("after"), std::string::npos);
}

TEST(BoundedStreamTest, UncappedWritesAndCloseEndTheSinkOnce) {
  auto sink = std::make_shared<MemorySink>(false);
  BoundedStream stream(sink, 4096);
  stream.endOfStart();
  EXPECT_TRUE(stream.write(std::string(9000, 'a'), /*capped=*/false));
  stream.close();
  stream.close();
  EXPECT_TRUE(sink->ended);
  EXPECT_FALSE(stream.write("x", false));
}

}  // namespace
}  // namespace sandboxd::api
