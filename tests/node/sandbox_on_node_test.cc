// Sandboxes on a real node (tests/node/node_cluster.h): the probes gate RUNNING on the terminal
// port, the process sees its env and secret env values and an env change rolls it to the new
// ones, it runs with the rendered securityContext and can write its home, and the home
// volume's files survive stop/start and delete/re-create and are gone after a purge.
#include "node/node_cluster.h"

namespace sandboxd::integration {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class SandboxOnNodeTest : public NodeClusterTest {};

TEST_F(SandboxOnNodeTest, RunningOnlyOnceTheTerminalPortAnswers) {
  // Probes every second, so that a failed one comes soon.
  startNodeServe(
      "  probes:\n    port: ttyd\n    startup:\n      enabled: true\n      periodSeconds: 1\n"
      "      timeoutSeconds: 1\n      failureThreshold: 600\n    readiness:\n"
      "      enabled: true\n      periodSeconds: 1\n      timeoutSeconds: 1\n"
      "      failureThreshold: 3\n");
  ASSERT_FALSE(HasFatalFailure());
  // The image opens the terminal port only once the test says so.
  ASSERT_TRUE(lifecycle("gate", "create", {{"env", {{"SANDBOX_TEST_TERMINAL_GATE", "1"}}}}));

  waitRecord("gate", "started", [](const std::string& s) { return !s.empty(); });
  EXPECT_EQ(podNode("gate"), realNode_);
  // The container runs, the port does not answer: the kubelet's startup probe fails...
  std::vector<std::string> failed;
  ASSERT_TRUE(eventually([&] {
    failed = podEvents("gate", "Unhealthy");
    return !failed.empty();
  })) << "no failed probe reported by the kubelet";
  EXPECT_TRUE(contains(failed.front(), "Startup probe failed")) << failed.front();
  // ...and the sandbox is not RUNNING.
  auto r = call("GET", "/api/v1/sandboxes/gate");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.json().value("status", ""), "RUNNING") << r.body;
  EXPECT_EQ(record("gate", "terminal-open"), "");

  // Open the port (the file the entrypoint waits for, written into the home volume).
  const std::string home = homeDir("gate");
  ASSERT_FALSE(home.empty());
  std::ofstream(home + "/.sandbox-test/open-terminal") << "now\n";
  EXPECT_FALSE(waitStatus("gate", "RUNNING", "", std::chrono::seconds(120)).is_null());
  EXPECT_EQ(trim(record("gate", "terminal-open")), "gate-0")
      << "RUNNING before the terminal port was opened";
  EXPECT_TRUE(purge("gate"));
}

TEST_F(SandboxOnNodeTest, TheProcessSeesItsEnvAndSecretsAndAChangeRollsItToTheNewValues) {
  startNodeServe();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("envy", "create",
                        {{"env", {{"GREETING", "hello world"}, {"DROPPED", "soon"}}},
                         {"secretEnv", {{"API_KEY", "s3cret-1"}}}}));
  ASSERT_FALSE(waitStatus("envy", "RUNNING", "", std::chrono::seconds(120)).is_null());
  EXPECT_EQ(podNode("envy"), realNode_);

  auto env = parseEnv(waitRecord("envy", "env", [](const std::string& s) { return !s.empty(); }));
  EXPECT_EQ(env["GREETING"], "hello world");
  EXPECT_EQ(env["DROPPED"], "soon");
  EXPECT_EQ(env["API_KEY"], "s3cret-1");
  EXPECT_EQ(env["HOME"], "/home/agent");
  EXPECT_EQ(env["SANDBOX_NAME"], "envy");
  EXPECT_EQ(env["SANDBOX_USER"], "alice");

  auto patched = call("PATCH", "/api/v1/sandboxes/envy/env",
                      R"({"set":{"GREETING":"bonjour"},"setSecret":{"API_KEY":"s3cret-2"},)"
                      R"("unset":["DROPPED"]})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_FALSE(contains(patched.body, "s3cret")) << patched.body;

  // A new process (a second start recorded) with the new values.
  waitRecord("envy", "starts", [](const std::string& s) { return lineCount(s) >= 2; });
  env = parseEnv(waitRecord("envy", "env", [](const std::string& s) {
    return parseEnv(s)["API_KEY"] == "s3cret-2";
  }));
  EXPECT_EQ(env["GREETING"], "bonjour");
  EXPECT_EQ(env.count("DROPPED"), 0u);
  EXPECT_FALSE(waitStatus("envy", "RUNNING", "", std::chrono::seconds(120)).is_null());

  // Only a secret's value changes (the env entries stay the same): the process gets it too.
  patched = call("PATCH", "/api/v1/sandboxes/envy/env", R"({"setSecret":{"API_KEY":"s3cret-3"}})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  env = parseEnv(waitRecord("envy", "env", [](const std::string& s) {
    return parseEnv(s)["API_KEY"] == "s3cret-3";
  }));
  EXPECT_EQ(env["GREETING"], "bonjour");
  EXPECT_TRUE(purge("envy"));
}

TEST_F(SandboxOnNodeTest, RunsWithTheRenderedSecurityContextAndCanWriteItsHome) {
  startNodeServe();
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_TRUE(lifecycle("secure", "create"));
  ASSERT_FALSE(waitStatus("secure", "RUNNING", "", std::chrono::seconds(120)).is_null());
  EXPECT_EQ(podNode("secure"), realNode_);

  // runAsUser/runAsGroup 1000, fsGroup 1000 as a supplementary group.
  const std::string id = record("secure", "id");
  EXPECT_TRUE(contains(id, "uid=1000")) << id;
  EXPECT_TRUE(contains(id, "gid=1000")) << id;
  auto status = record("secure", "proc-status");
  EXPECT_TRUE(contains(status, "NoNewPrivs:\t1")) << "allowPrivilegeEscalation false\n" << status;
  EXPECT_TRUE(contains(status, "Seccomp:\t2")) << "seccomp RuntimeDefault (filter mode)\n"
                                               << status;
  EXPECT_TRUE(contains(status, "CapEff:\t0000000000000000")) << "every capability dropped\n"
                                                              << status;
  EXPECT_TRUE(contains(status, "CapBnd:\t0000000000000000")) << status;
  // The home volume belongs to the fsGroup (set-group-id, group-writable): the process,
  // not root, wrote its records there.
  const std::string home = homeDir("secure");
  std::istringstream homeStat(record("secure", "home-stat"));
  std::string uid, gid, mode;
  homeStat >> uid >> gid >> mode;
  EXPECT_EQ(gid, "1000") << homeStat.str();
  EXPECT_TRUE(mode.size() == 4 && mode[0] == '2' && (mode[2] - '0') >= 6) << homeStat.str();
  struct stat st {};
  ASSERT_EQ(::stat((home + "/.sandbox-test/env").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u) << "written by the sandbox's user";
  EXPECT_TRUE(purge("secure"));
}

TEST_F(SandboxOnNodeTest, HomeFilesSurviveStopStartAndDeleteRecreateAndGoWithAPurge) {
  startNodeServe();
  ASSERT_FALSE(HasFatalFailure());
  auto starts = [&](int n) {
    return waitRecord("keep", "starts", [n](const std::string& s) { return lineCount(s) == n; });
  };
  ASSERT_TRUE(lifecycle("keep", "create"));
  ASSERT_FALSE(waitStatus("keep", "RUNNING", "", std::chrono::seconds(120)).is_null());
  const std::string first = starts(1);
  const std::string home = homeDir("keep");
  ASSERT_FALSE(home.empty());

  ASSERT_TRUE(lifecycle("keep", "stop"));
  ASSERT_FALSE(waitStatus("keep", "STOPPED").is_null());
  ASSERT_TRUE(lifecycle("keep", "start"));
  ASSERT_FALSE(waitStatus("keep", "RUNNING", "", std::chrono::seconds(120)).is_null());
  // The second process appended to the file the first one wrote.
  EXPECT_EQ(starts(2).substr(0, first.size()), first);

  auto removed = call("DELETE", "/api/v1/sandboxes/keep");
  ASSERT_TRUE(removed.status >= 200 && removed.status < 300) << removed.body;
  ::sandboxd::testing::HttpResult after;
  ASSERT_TRUE(eventually([&] {
    after = call("GET", "/api/v1/sandboxes/keep");
    return (after.status == 404 || after.json().value("status", "") == "TERMINATED") &&
           get(resources::pods(), names::pod("keep")).status().kind() == ErrorKind::NotFound;
  })) << "delete did not finish: " << after.status << " " << after.body;
  ASSERT_TRUE(lifecycle("keep", "create"));
  ASSERT_FALSE(waitStatus("keep", "RUNNING", "", std::chrono::seconds(120)).is_null());
  EXPECT_EQ(homeDir("keep"), home) << "re-create re-attaches the same volume";
  EXPECT_EQ(starts(3).substr(0, first.size()), first);

  EXPECT_TRUE(purge("keep"));
  // The volume and its files are gone...
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(home); }))
      << home << " is still there after a purge";
  // ...and a new sandbox of the same name starts with an empty home.
  ASSERT_TRUE(lifecycle("keep", "create"));
  ASSERT_FALSE(waitStatus("keep", "RUNNING", "", std::chrono::seconds(120)).is_null());
  EXPECT_NE(homeDir("keep"), home);
  starts(1);
  EXPECT_TRUE(purge("keep"));
}

}  // namespace
}  // namespace sandboxd::integration
