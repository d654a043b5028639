// The snapshot routes over HTTP with a fake SnapshotManager: bodies, the JSON shape, the
// snapshots_unavailable code, and 503 when the server has no snapshot manager.
#include "api/api_test_support.h"
#include "sandboxd/service/snapshot_objects.h"

namespace sandboxd::testing {
namespace {

using nlohmann::json;

class FakeSnapshots : public SnapshotManager {
 public:
  StatusOr<SnapshotRecord> create(const Caller& caller, const std::string& name,
                                  const std::string& label) override {
    if (!next.isOk()) {
      return next;
    }
    lastCaller = caller.user;
    lastLabel = label;
    SnapshotRecord s = sample(name);
    s.label = label;
    return s;
  }
  StatusOr<std::vector<SnapshotRecord>> list(const Caller&, const std::string& name) override {
    SnapshotRecord ready = sample(name);
    ready.state = SnapshotState::Ready;
    ready.size = "5Gi";
    ready.readyAt = SystemTime(std::chrono::seconds(1700000100));
    return std::vector<SnapshotRecord>{ready};
  }
  StatusOr<SnapshotRecord> remove(const Caller&, const std::string& name,
                                  const std::string& id) override {
    if (id != "abc123") {
      return notFound("snapshot \"" + id + "\" not found");
    }
    return sample(name);
  }

  StatusOr<RestoreAccepted> restore(const Caller& caller, const std::string& name,
                                    const std::string& id) override {
    if (!next.isOk()) {
      return next;
    }
    lastCaller = caller.user;
    lastRestored = id;
    return RestoreAccepted{name, id, "feed00000001", 42, true};
  }
  int stepRestores() override { return 0; }
  void start() override {}
  void stop() override {}

  static SnapshotRecord sample(const std::string& name) {
    SnapshotRecord s;
    s.id = "abc123";
    s.sandbox = name;
    s.createdAt = SystemTime(std::chrono::seconds(1700000000));
    return s;
  }

  Status next = Status::ok();
  std::string lastCaller;
  std::string lastLabel;
  std::string lastRestored;
};

class SnapshotRoutesTest : public ApiServerFixture {
 protected:
  void configureOptions(api::ApiServerOptions& options) override {
    options.snapshots = snapshots_;
  }
  std::shared_ptr<FakeSnapshots> snapshots_ = std::make_shared<FakeSnapshots>();
};

TEST_F(SnapshotRoutesTest, CreateTakesAnOptionalLabel) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  auto r = call("POST", "/api/v1/sandboxes/demo/snapshots", kAliceToken,
                json{{"label", "before"}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(snapshots_->lastLabel, "before");
  EXPECT_EQ(snapshots_->lastCaller, "alice");
  const json j = r.json();
  EXPECT_EQ(j["id"], "abc123");
  EXPECT_EQ(j["sandbox"], "demo");
  EXPECT_EQ(j["label"], "before");
  EXPECT_EQ(j["state"], "pending");
  EXPECT_FALSE(j.contains("size"));
  EXPECT_FALSE(j.contains("readyAt"));

  r = call("POST", "/api/v1/sandboxes/demo/snapshots");  // no body
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(snapshots_->lastLabel, "");
}

TEST_F(SnapshotRoutesTest, RestoreNamesTheSnapshotAndAnswersWhatItWillKeep) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  auto r = call("POST", "/api/v1/sandboxes/demo/restore", kAliceToken,
                json{{"snapshot", "abc123"}}.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(snapshots_->lastRestored, "abc123");
  EXPECT_EQ(snapshots_->lastCaller, "alice");
  const json j = r.json();
  EXPECT_EQ(j["sandbox"], "demo");
  EXPECT_EQ(j["snapshot"], "abc123");
  EXPECT_EQ(j["preRestoreSnapshot"], "feed00000001");
  EXPECT_EQ(j["operation"], 42);
  EXPECT_EQ(j["resume"], true);

  snapshots_->lastRestored.clear();
  for (const std::string& body : {std::string("{}"), std::string("{\"snapshot\": 7}"),
                                  std::string("{\"snapshot\": \"\"}"),
                                  std::string("{\"snapshot\": \"a\", \"x\": 1}"),
                                  std::string("[]")}) {
    r = call("POST", "/api/v1/sandboxes/demo/restore", kAliceToken, body);
    EXPECT_EQ(r.status, 422) << body << ": " << r.body;
    EXPECT_EQ(r.json()["error"].value("code", ""), "invalid_argument") << r.body;
  }
  r = call("POST", "/api/v1/sandboxes/demo/restore", kAliceToken, "{");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(snapshots_->lastRestored.empty()) << "no bad body reached the manager";

  snapshots_->next = failedPrecondition("a restore of sandbox \"demo\" is in progress");
  r = call("POST", "/api/v1/sandboxes/demo/restore", kAliceToken,
           json{{"snapshot", "abc123"}}.dump());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.json()["error"].value("message", "").find("in progress"), std::string::npos);
}

TEST_F(SnapshotRoutesTest, BadBodiesAre400And422) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  snapshots_->lastCaller.clear();
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/snapshots", kAliceToken, "{nope").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/snapshots", kAliceToken,
                 json{{"label", 5}}.dump()).status, 422);
  EXPECT_EQ(call("POST", "/api/v1/sandboxes/demo/snapshots", kAliceToken,
                 json{{"name", "x"}}.dump()).status, 422);
  EXPECT_EQ(snapshots_->lastCaller, "") << "the manager was never asked";
}

TEST_F(SnapshotRoutesTest, UnavailableSnapshotsHaveTheirOwnCode) {
  ASSERT_EQ(createAs(kAliceToken, "demo").status, 201);
  snapshots_->next = snapshotsUnavailable("the cluster has no snapshot API");
  auto r = call("POST", "/api/v1/sandboxes/demo/snapshots");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json()["error"]["code"], "snapshots_unavailable");
  snapshots_->next = failedPrecondition("sandbox \"demo\" was purged");
  r = call("POST", "/api/v1/sandboxes/demo/snapshots");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.json()["error"]["code"], "conflict");
}

TEST_F(SnapshotRoutesTest, ListAndDelete) {
  auto r = call("GET", "/api/v1/sandboxes/demo/snapshots");
  ASSERT_EQ(r.status, 200) << r.body;
  const json item = r.json()["items"][0];
  EXPECT_EQ(item["state"], "ready");
  EXPECT_EQ(item["size"], "5Gi");
  EXPECT_EQ(item["createdAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(item["readyAt"], "2023-11-14T22:15:00Z");
  EXPECT_EQ(call("DELETE", "/api/v1/sandboxes/demo/snapshots/abc123").status, 202);
  r = call("DELETE", "/api/v1/sandboxes/demo/snapshots/zzz");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo/snapshots", "").status, 401);
}

class NoSnapshotsTest : public ApiServerFixture {};

TEST_F(NoSnapshotsTest, WithoutASnapshotManagerTheRoutesAnswer503) {
  EXPECT_EQ(call("GET", "/api/v1/sandboxes/demo/snapshots").status, 503);
}

}  // namespace
}  // namespace sandboxd::testing
