#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Transaction.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string readBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class SqliteRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    auto r = openSqliteRegistry(path_, time_);
    ASSERT_OK(r);
    registry_ = *r;
  }
  void TearDown() override { registry_.reset(); }

  static SandboxRecord record(const std::string& name, const std::string& user) {
    SandboxRecord r;
    r.name = name;
    r.user = user;
    r.nameSpace = "sandboxes";
    r.sandboxId = "id-" + name;
    r.image = "ghcr.io/example/runtime:1";
    r.env = {{"FOO", "bar"}};
    r.secretEnvKeys = {"API_KEY"};
    r.storage = "5Gi";
    r.publicPorts = {"app"};
    r.profile = "large";
    return r;
  }

  testing::TestDir dir_{"sandboxd-registry-test"};
  const std::string path_ = (dir_ / "sandboxd.db").string();
  std::shared_ptr<testing::SimulatedTimeSource> time_;
  RegistryPtr registry_;
};

TEST_F(SqliteRegistryTest, InsertThenGetRoundTripsEveryField) {
  SandboxRecord in = record("demo", "alice");
  in.desired = DesiredState::Stopped;
  in.purge = true;
  in.phase = Phase::Stopping;
  in.reason = "ScaledDown";
  in.message = "stopping at user request";
  in.workload = WorkloadKind::Deployment;
  in.createdAt = SystemTime(milliseconds(1700000000123));
  in.version = 42;  // ignored: a new row starts at version 1
  ASSERT_OK(registry_->insertSandbox(in));

  auto out = registry_->getSandbox("demo");
  ASSERT_OK(out);
  EXPECT_EQ(out->name, "demo");
  EXPECT_EQ(out->user, "alice");
  EXPECT_EQ(out->nameSpace, "sandboxes");
  EXPECT_EQ(out->sandboxId, "id-demo");
  EXPECT_EQ(out->image, "ghcr.io/example/runtime:1");
  EXPECT_EQ(out->env, in.env);
  EXPECT_EQ(out->secretEnvKeys, in.secretEnvKeys);
  EXPECT_EQ(out->storage, "5Gi");
  EXPECT_EQ(out->publicPorts, std::vector<std::string>{"app"});
  EXPECT_EQ(out->profile, "large");
  EXPECT_EQ(out->desired, DesiredState::Stopped);
  EXPECT_TRUE(out->purge);
  EXPECT_EQ(out->phase, Phase::Stopping);
  EXPECT_EQ(out->reason, "ScaledDown");
  EXPECT_EQ(out->message, "stopping at user request");
  EXPECT_EQ(out->workload, WorkloadKind::Deployment);
  EXPECT_EQ(out->createdAt, in.createdAt);  // exact to the millisecond
  EXPECT_EQ(out->updatedAt, time_->systemTime());
  EXPECT_EQ(out->version, 1);
}

TEST_F(SqliteRegistryTest, CreatedAtDefaultsToNow) {
  time_->advance(milliseconds(1234));
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  auto out = registry_->getSandbox("demo");
  ASSERT_OK(out);
  EXPECT_EQ(out->createdAt, time_->systemTime());
  EXPECT_EQ(out->updatedAt, time_->systemTime());
}

TEST_F(SqliteRegistryTest, DuplicateNameIsAlreadyExistsWhoeverOwnsIt) {
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  Status again = registry_->insertSandbox(record("demo", "bob"));
  EXPECT_KIND(again, AlreadyExists);
  EXPECT_NE(again.message().find("sandbox name already taken"), std::string::npos)
      << again.message();
  auto out = registry_->getSandbox("demo");
  ASSERT_OK(out);
  EXPECT_EQ(out->user, "alice");
}

TEST_F(SqliteRegistryTest, InsertRejectsEmptyNameOrUser) {
  EXPECT_KIND(registry_->insertSandbox(record("", "alice")), InvalidArgument);
  EXPECT_KIND(registry_->insertSandbox(record("demo", "")), InvalidArgument);
}

TEST_F(SqliteRegistryTest, GetMissingIsNotFound) {
  EXPECT_KIND(registry_->getSandbox("nope"), NotFound);
}

TEST_F(SqliteRegistryTest, ListIsOrderedByNameAndFiltersByUser) {
  for (const auto& [name, user] : std::vector<std::pair<std::string, std::string>>{
           {"zeta", "alice"}, {"alpha", "bob"}, {"mid", "alice"}, {"beta", "carol"}}) {
    ASSERT_OK(registry_->insertSandbox(record(name, user)));
  }
  auto all = registry_->listSandboxes();
  ASSERT_OK(all);
  std::vector<std::string> names;
  for (const auto& r : *all) {
    names.push_back(r->name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "beta", "mid", "zeta"}));

  auto alice = registry_->listSandboxes(std::string("alice"));
  ASSERT_OK(alice);
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0]->name, "mid");
  EXPECT_EQ((*alice)[1]->name, "zeta");

  auto nobody = registry_->listSandboxes(std::string("dave"));
  ASSERT_OK(nobody);
  EXPECT_TRUE(nobody->empty());
}

// Keyset pages: after a name, of a prefix, of one user (through the (user, name) index), at
// most `limit`; a file's rows written by another connection are seen at once.
TEST_F(SqliteRegistryTest, PagesStartAfterANameAndFilterByPrefixAndUser) {
  for (const auto& [name, user] : std::vector<std::pair<std::string, std::string>>{
           {"ab", "alice"}, {"abc", "bob"}, {"abd", "alice"}, {"ac", "alice"},
           {"b", "alice"}, {"a", "bob"}}) {
    ASSERT_OK(registry_->insertSandbox(record(name, user)));
  }
  const auto page = [&](Registry::PageQuery q) {
    auto rows = registry_->listSandboxPage(q);
    EXPECT_TRUE(rows.isOk()) << rows.status().toString();
    std::vector<std::string> names;
    for (const auto& r : rows.isOk() ? *rows : std::vector<SandboxRecordPtr>{}) {
      names.push_back(r->name);
    }
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(page({std::nullopt, "", "", 3}), (Names{"a", "ab", "abc"}));
  EXPECT_EQ(page({std::nullopt, "abc", "", 3}), (Names{"abd", "ac", "b"}));
  EXPECT_EQ(page({std::nullopt, "b", "", 3}), Names{});
  EXPECT_EQ(page({std::nullopt, "zzz-not-a-row", "", 3}), Names{});
  EXPECT_EQ(page({std::nullopt, "", "ab", 10}), (Names{"ab", "abc", "abd"}));
  EXPECT_EQ(page({std::nullopt, "ab", "ab", 10}), (Names{"abc", "abd"}));
  EXPECT_EQ(page({std::nullopt, "", "abc", 10}), (Names{"abc"}));
  EXPECT_EQ(page({std::nullopt, "", "x", 10}), Names{});
  EXPECT_EQ(page({std::string("alice"), "", "", 2}), (Names{"ab", "abd"}));
  EXPECT_EQ(page({std::string("alice"), "abd", "", 2}), (Names{"ac", "b"}));
  EXPECT_EQ(page({std::string("alice"), "", "ab", 10}), (Names{"ab", "abd"}));
  EXPECT_EQ(page({std::string("alice"), "ab", "a", 10}), (Names{"abd", "ac"}));
  EXPECT_EQ(page({std::string("dave"), "", "", 10}), Names{});
  EXPECT_EQ(page({std::nullopt, "", "", 0}), Names{});

  // Rows deleted and inserted between pages: the walk goes on after the name it stopped at.
  ASSERT_OK(registry_->deleteSandbox("abc"));
  ASSERT_OK(registry_->insertSandbox(record("aa", "alice")));
  EXPECT_EQ(page({std::nullopt, "abc", "", 10}), (Names{"abd", "ac", "b"}));
  EXPECT_EQ(page({std::string("alice"), "", "", 10}), (Names{"aa", "ab", "abd", "ac", "b"}));
}

TEST_F(SqliteRegistryTest, UpdateIsCompareAndSet) {
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  auto current = registry_->getSandbox("demo");
  ASSERT_OK(current);
  const SystemTime created = current->createdAt;

  time_->advance(seconds(5));
  SandboxRecord changed = *current;
  changed.phase = Phase::Running;
  changed.env["NEW"] = "value";
  changed.createdAt = SystemTime{};  // created_at is immutable whatever the caller passes
  auto v2 = registry_->updateSandbox(changed);
  ASSERT_OK(v2);
  EXPECT_EQ(*v2, 2);

  auto stored = registry_->getSandbox("demo");
  ASSERT_OK(stored);
  EXPECT_EQ(stored->version, 2);
  EXPECT_EQ(stored->phase, Phase::Running);
  EXPECT_EQ(stored->env.at("NEW"), "value");
  EXPECT_EQ(stored->createdAt, created);
  EXPECT_EQ(stored->updatedAt, time_->systemTime());

  // A writer still holding version 1 loses.
  SandboxRecord stale = *current;
  stale.phase = Phase::Error;
  auto lost = registry_->updateSandbox(stale);
  EXPECT_KIND(lost, Aborted);
  auto after = registry_->getSandbox("demo");
  ASSERT_OK(after);
  EXPECT_EQ(after->phase, Phase::Running);
  EXPECT_EQ(after->version, 2);

  // Re-read and retry wins.
  after->phase = Phase::Stopped;
  auto v3 = registry_->updateSandbox(*after);
  ASSERT_OK(v3);
  EXPECT_EQ(*v3, 3);
}

// An update writes only the columns it changes when this connection knows the stored row;
// whatever it knows, the file ends up holding exactly the record written.
TEST_F(SqliteRegistryTest, EveryFieldAnUpdateChangesIsStoredAndNoOther) {
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  const std::vector<std::function<void(SandboxRecord&)>> changes = {
      [](SandboxRecord& r) { r.user = "bob"; },
      [](SandboxRecord& r) { r.nameSpace = "elsewhere"; },
      [](SandboxRecord& r) { r.sandboxId = "id-other"; },
      [](SandboxRecord& r) { r.image = "ghcr.io/example/runtime:2"; },
      [](SandboxRecord& r) { r.env["NEW"] = "value"; },
      [](SandboxRecord& r) { r.secretEnvKeys.push_back("TOKEN"); },
      [](SandboxRecord& r) { r.storage = "10Gi"; },
      [](SandboxRecord& r) { r.desired = DesiredState::Stopped; },
      [](SandboxRecord& r) { r.purge = true; },
      [](SandboxRecord& r) { r.phase = Phase::Stopping; },
      [](SandboxRecord& r) { r.reason = "ScaledDown"; },
      [](SandboxRecord& r) { r.message = "stopping"; },
      [](SandboxRecord& r) { r.workload = WorkloadKind::Deployment; },
      [](SandboxRecord& r) { r.publicPorts.clear(); },
      [](SandboxRecord& r) { r.profile = "small"; },
      [](SandboxRecord& r) {  // several at once, as a request clearing an error does
        r.desired = DesiredState::Running;
        r.reason.clear();
        r.message.clear();
      },
  };
  auto expectStored = [&](const SandboxRecord& want, const char* how) {
    auto got = (*other)->getSandbox("demo");  // a connection of its own: the file's row
    ASSERT_OK(got);
    EXPECT_EQ(got->user, want.user) << how;
    EXPECT_EQ(got->nameSpace, want.nameSpace) << how;
    EXPECT_EQ(got->sandboxId, want.sandboxId) << how;
    EXPECT_EQ(got->image, want.image) << how;
    EXPECT_EQ(got->env, want.env) << how;
    EXPECT_EQ(got->secretEnvKeys, want.secretEnvKeys) << how;
    EXPECT_EQ(got->storage, want.storage) << how;
    EXPECT_EQ(got->desired, want.desired) << how;
    EXPECT_EQ(got->purge, want.purge) << how;
    EXPECT_EQ(got->phase, want.phase) << how;
    EXPECT_EQ(got->reason, want.reason) << how;
    EXPECT_EQ(got->message, want.message) << how;
    EXPECT_EQ(got->workload, want.workload) << how;
    EXPECT_EQ(got->publicPorts, want.publicPorts) << how;
    EXPECT_EQ(got->profile, want.profile) << how;
    EXPECT_EQ(got->version, want.version + 1) << how;
  };
  for (const auto& change : changes) {
    // Known row: this connection just read it.
    SandboxRecord r = *registry_->getSandbox("demo");
    change(r);
    ASSERT_OK(registry_->updateSandbox(r));
    expectStored(r, "after a read of its own");
    // Unknown row: another connection wrote since (the same values, a new version).
    SandboxRecord theirs = *(*other)->getSandbox("demo");
    ASSERT_OK((*other)->updateSandbox(theirs));
    theirs.version += 1;
    change(theirs);
    theirs.image += "-x";
    ASSERT_OK(registry_->updateSandbox(theirs));
    expectStored(theirs, "after another connection's write");
  }
}

// Every field of a row, for comparing two reads of it.
auto fieldsOf(const SandboxRecord& r) {
  return std::make_tuple(r.name, r.user, r.nameSpace, r.sandboxId, r.image, r.env,
                         r.secretEnvKeys, r.storage, r.desired, r.purge, r.phase, r.reason,
                         r.message, r.workload, r.publicPorts, r.profile, r.createdAt.time_since_epoch().count(),
                         r.updatedAt.time_since_epoch().count(), r.version);
}

// A write keeps the row it wrote rather than reading it back: what the writer then reads is
// what the file holds, times cut to the millisecond included.
TEST_F(SqliteRegistryTest, TheRowsAWriterHoldsAreTheFilesRows) {
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  auto expectSame = [&](const std::string& name, const char* after) {
    auto held = registry_->getSandbox(name);
    auto file = (*other)->getSandbox(name);  // a connection of its own: the file's row
    ASSERT_OK(held);
    ASSERT_OK(file);
    EXPECT_EQ(fieldsOf(*held), fieldsOf(*file)) << after;
  };
  ASSERT_OK(registry_->listSandboxes(std::nullopt));  // rows held from here on
  time_->advance(std::chrono::microseconds(1234567));
  SandboxRecord in = record("demo", "alice");
  in.createdAt = SystemTime(std::chrono::microseconds(1700000000123456));
  ASSERT_OK(registry_->insertSandbox(in));
  expectSame("demo", "insert");

  SandboxRecord r = *registry_->getSandbox("demo");
  r.desired = DesiredState::Stopped;
  r.createdAt = SystemTime{};  // not a column an update writes
  time_->advance(std::chrono::microseconds(777));
  OperationRecord op;
  op.sandbox = r.name;
  op.sandboxId = r.sandboxId;
  op.kind = OperationKind::Stop;
  op.user = r.user;
  ASSERT_OK(registry_->updateSandboxWithOperation(r, op));
  expectSame("demo", "intent");

  r = *registry_->getSandbox("demo");
  r.env["NEW"] = "value";
  r.secretEnvKeys = {"B_KEY", "A_KEY"};
  r.phase = Phase::Stopped;
  r.message = "stopped";
  time_->advance(std::chrono::microseconds(1500));
  ASSERT_OK(registry_->updateSandbox(r));
  expectSame("demo", "update");

  // After another connection's write the writer no longer knows the stored row: read back.
  SandboxRecord theirs = *(*other)->getSandbox("demo");
  theirs.reason = "Theirs";
  ASSERT_OK((*other)->updateSandbox(theirs));
  theirs = *registry_->getSandbox("demo");
  theirs.image = "ghcr.io/example/runtime:2";
  ASSERT_OK(registry_->updateSandbox(theirs));
  expectSame("demo", "update after another connection's");
}

TEST_F(SqliteRegistryTest, UpdateOfMissingRowIsNotFound) {
  SandboxRecord r = record("ghost", "alice");
  r.version = 1;
  EXPECT_KIND(registry_->updateSandbox(r), NotFound);
}

TEST_F(SqliteRegistryTest, DeleteRemovesTheRow) {
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  EXPECT_OK(registry_->deleteSandbox("demo"));
  EXPECT_KIND(registry_->getSandbox("demo"), NotFound);
  EXPECT_KIND(registry_->deleteSandbox("demo"), NotFound);
  // The name is free again.
  EXPECT_OK(registry_->insertSandbox(record("demo", "bob")));
}

TEST_F(SqliteRegistryTest, EnvRoundTripsExactly) {
  SandboxRecord in = record("demo", "alice");
  in.env = {
      {"UNICODE", "héllo wörld — 日本語 🚀"},
      {"NEWLINES", "line1\nline2\r\nline3\n"},
      {"QUOTES", R"(she said "hi" and 'bye' `x` \n \" \\)"},
      {"JSON", R"({"a": [1, 2, {"b": null}]})"},
      {"EMPTY", ""},
      {"EQUALS", "a=b=c"},
      {"SPACES", "  leading and trailing  "},
      {"NUL", std::string("before\0after", 12)},
      {"TAB_CTRL", "\t\x01\x1f"},
      {"lower_case.dots-dash", "ok"},
  };
  in.secretEnvKeys = {"SECRET_ONE", "ÜNICODE_KEY", "with \"quote\""};
  ASSERT_OK(registry_->insertSandbox(in));
  auto out = registry_->getSandbox("demo");
  ASSERT_OK(out);
  EXPECT_EQ(out->env, in.env);
  EXPECT_EQ(out->secretEnvKeys, in.secretEnvKeys);

  // And through an update.
  out->env["UNICODE"] = "ß∂ƒ©";
  out->env.erase("EMPTY");
  ASSERT_OK(registry_->updateSandbox(*out));
  auto again = registry_->getSandbox("demo");
  ASSERT_OK(again);
  EXPECT_EQ(again->env, out->env);

  SandboxRecord none = record("bare", "alice");
  none.env.clear();
  none.secretEnvKeys.clear();
  ASSERT_OK(registry_->insertSandbox(none));
  auto bare = registry_->getSandbox("bare");
  ASSERT_OK(bare);
  EXPECT_TRUE(bare->env.empty());
  EXPECT_TRUE(bare->secretEnvKeys.empty());
}

TEST_F(SqliteRegistryTest, EnvThatIsNotUtf8IsInvalidArgument) {
  SandboxRecord in = record("demo", "alice");
  in.env = {{"BAD", "\xff\xfe"}};
  EXPECT_KIND(registry_->insertSandbox(in), InvalidArgument);
}

TEST_F(SqliteRegistryTest, TokenAuthenticates) {
  auto token = registry_->createToken("alice", false);
  ASSERT_OK(token);
  EXPECT_EQ(token->rfind("sbx_", 0), 0u);
  EXPECT_EQ(token->size(), 4u + 64u);

  auto info = registry_->authenticate(*token);
  ASSERT_OK(info);
  EXPECT_EQ(info->user, "alice");
  EXPECT_FALSE(info->admin);
  EXPECT_FALSE(info->id.empty());
  EXPECT_EQ(info->id.find(token->substr(4)), std::string::npos);
  EXPECT_EQ(info->createdAt, time_->systemTime());
}

TEST_F(SqliteRegistryTest, AdminFlagIsKept) {
  auto admin = registry_->createToken("root", true);
  auto user = registry_->createToken("alice", false);
  ASSERT_OK(admin);
  ASSERT_OK(user);
  EXPECT_NE(*admin, *user);
  auto a = registry_->authenticate(*admin);
  ASSERT_OK(a);
  EXPECT_TRUE(a->admin);
  EXPECT_EQ(a->user, "root");
  auto u = registry_->authenticate(*user);
  ASSERT_OK(u);
  EXPECT_FALSE(u->admin);
  EXPECT_NE(a->id, u->id);
}

TEST_F(SqliteRegistryTest, WrongTokensAreUnauthenticated) {
  auto token = registry_->createToken("alice", false);
  ASSERT_OK(token);
  std::string flipped = *token;
  flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
  for (const std::string& bad :
       {flipped, std::string(""), std::string("sbx_"), token->substr(4), *token + "x",
        std::string("Bearer ") + *token}) {
    auto r = registry_->authenticate(bad);
    EXPECT_KIND(r, Unauthenticated);
    if (!r.isOk()) {
      EXPECT_EQ(r.status().message(), "invalid token");
    }
  }
  EXPECT_KIND(registry_->createToken("", false), InvalidArgument);
}

TEST_F(SqliteRegistryTest, DatabaseFilesHoldNoPlaintextToken) {
  auto token = registry_->createToken("alice", true);
  ASSERT_OK(token);
  const std::string secret = token->substr(4);  // the random part
  // Whatever is on disk right now (main file and WAL)...
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    bytes += readBytes(path_ + suffix);
  }
  EXPECT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
  EXPECT_EQ(bytes.find(*token), std::string::npos);
  // ...while its hash and id are there, so the search looked at the right bytes.
  auto info = registry_->authenticate(*token);
  ASSERT_OK(info);
  EXPECT_NE(bytes.find(sha256Hex(*token)), std::string::npos);
  EXPECT_NE(bytes.find(info->id), std::string::npos);

  // After a checkpoint folds the WAL into the main file, still nothing.
  registry_.reset();
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  const std::string main = readBytes(path_);
  EXPECT_NE(main.find(info->id), std::string::npos);
  EXPECT_EQ(main.find(secret), std::string::npos);
}

TEST_F(SqliteRegistryTest, TokenCreatedByAnotherInstanceIsAcceptedAtOnce) {
  // Authenticate once first, so any caching would already be in place.
  auto first = registry_->createToken("alice", false);
  ASSERT_OK(first);
  ASSERT_OK(registry_->authenticate(*first));

  // A second registry on the same file stands in for the CLI's `token create` process.
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  auto token = (*other)->createToken("bob", true);
  ASSERT_OK(token);

  auto info = registry_->authenticate(*token);
  ASSERT_OK(info);
  EXPECT_EQ(info->user, "bob");
  EXPECT_TRUE(info->admin);

  // Sandboxes too.
  ASSERT_OK((*other)->insertSandbox(record("from-other", "bob")));
  EXPECT_OK(registry_->getSandbox("from-other"));
}

// A token that authenticated is held (no query the next time), but never past a change to the
// file by another connection: one removed there is refused at the next request.
TEST_F(SqliteRegistryTest, ATokenRemovedFromTheFileIsRefusedAtOnce) {
  auto alice = registry_->createToken("alice", true);
  ASSERT_OK(alice);
  auto bob = registry_->createToken("bob", false);
  ASSERT_OK(bob);
  for (int i = 0; i < 3; ++i) {
    auto info = registry_->authenticate(*alice);
    ASSERT_OK(info);
    EXPECT_EQ(info->user, "alice");
    EXPECT_TRUE(info->admin);
    ASSERT_OK(registry_->authenticate(*bob));
  }
  // This registry's own writes leave what it holds valid.
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  EXPECT_OK(registry_->authenticate(*alice));
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE, 5000);
    db.exec("DELETE FROM tokens WHERE user = 'alice'");
  }
  EXPECT_KIND(registry_->authenticate(*alice), Unauthenticated);
  auto still = registry_->authenticate(*bob);
  ASSERT_OK(still);
  EXPECT_EQ(still->user, "bob");
  EXPECT_FALSE(still->admin);
}

// The registry keeps its prepared statements: a statement run before must neither keep an
// old read snapshot (another process's writes show at once) nor stay broken after an error.
TEST_F(SqliteRegistryTest, ReusedStatementsSeeOtherWritersAndSurviveErrors) {
  ASSERT_OK(registry_->insertSandbox(record("a", "alice")));
  EXPECT_KIND(registry_->getSandbox("b"), NotFound);
  auto listed = registry_->listSandboxes(std::nullopt);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 1u);

  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  ASSERT_OK((*other)->insertSandbox(record("b", "bob")));
  EXPECT_OK(registry_->getSandbox("b"));
  listed = registry_->listSandboxes(std::nullopt);
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 2u);

  // A failed insert (duplicate) leaves the statement usable for the next one.
  EXPECT_KIND(registry_->insertSandbox(record("a", "alice")), AlreadyExists);
  ASSERT_OK(registry_->insertSandbox(record("c", "carol")));
  auto c = registry_->getSandbox("c");
  ASSERT_OK(c);
  EXPECT_EQ(c->user, "carol") << "no binding left over from the failed insert";

  // A compare-and-set that lost leaves the update statement usable too.
  SandboxRecord stale = *c;
  stale.version = 99;
  EXPECT_KIND(registry_->updateSandbox(stale), Aborted);
  SandboxRecord fresh = *c;
  fresh.image = "ghcr.io/example/runtime:2";
  ASSERT_OK(registry_->updateSandbox(fresh));
  auto seen = (*other)->getSandbox("c");
  ASSERT_OK(seen);
  EXPECT_EQ(seen->image, "ghcr.io/example/runtime:2");
}

// Reads of sandboxes are answered from rows held in memory; they must never be older than the
// file, whoever wrote it: this registry, another registry on the same file (another process),
// or plain SQL.
TEST_F(SqliteRegistryTest, ReadsFollowEveryWriterOfTheFile) {
  ASSERT_OK(registry_->insertSandbox(record("a", "alice")));
  ASSERT_OK(registry_->insertSandbox(record("b", "bob")));
  ASSERT_OK(registry_->listSandboxes(std::nullopt));  // rows now held

  const auto names = [&](const std::optional<std::string>& user) {
    std::vector<std::string> out;
    auto listed = registry_->listSandboxes(user);
    EXPECT_OK(listed);
    if (listed.isOk()) {
      for (const auto& r : *listed) {
        out.push_back(r->name);
      }
    }
    return out;
  };
  using Names = std::vector<std::string>;

  // This registry's own writes.
  auto a = registry_->getSandbox("a");
  ASSERT_OK(a);
  a->phase = Phase::Running;
  a->env["NEW"] = "1";
  ASSERT_OK(registry_->updateSandbox(*a));
  auto a2 = registry_->getSandbox("a");
  ASSERT_OK(a2);
  EXPECT_EQ(a2->phase, Phase::Running);
  EXPECT_EQ(a2->env.at("NEW"), "1");
  EXPECT_EQ(a2->version, 2);
  ASSERT_OK(registry_->deleteSandbox("b"));
  EXPECT_KIND(registry_->getSandbox("b"), NotFound);
  EXPECT_EQ(names(std::nullopt), (Names{"a"}));

  // Another registry on the file: insert, update, delete.
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  ASSERT_OK((*other)->insertSandbox(record("c", "alice")));
  EXPECT_EQ(names("alice"), (Names{"a", "c"}));
  auto c = (*other)->getSandbox("c");
  ASSERT_OK(c);
  c->image = "ghcr.io/example/runtime:2";
  ASSERT_OK((*other)->updateSandbox(*c));
  auto seen = registry_->getSandbox("c");
  ASSERT_OK(seen);
  EXPECT_EQ(seen->image, "ghcr.io/example/runtime:2");
  EXPECT_EQ(seen->version, 2);
  // A write of ours based on the row we read before the other's update loses, as it must.
  SandboxRecord stale = *registry_->getSandbox("a");
  ASSERT_OK((*other)->updateSandbox(*(*other)->getSandbox("a")));
  EXPECT_KIND(registry_->updateSandbox(stale), Aborted);
  ASSERT_OK((*other)->deleteSandbox("a"));
  EXPECT_KIND(registry_->getSandbox("a"), NotFound);
  EXPECT_EQ(names(std::nullopt), (Names{"c"}));

  // Plain SQL from another connection, including a row this version cannot read (a phase
  // from a newer sandboxd): only reads that need that row fail, and recover with it.
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE, 5000);
    db.exec("UPDATE sandboxes SET message = 'from sql', version = version + 1 WHERE name = 'c'");
    db.exec("INSERT INTO sandboxes (name, user, namespace, sandbox_id, image, env, "
            "secret_env_keys, storage, desired, purge, phase, reason, message, workload, "
            "created_at, updated_at, version) SELECT 'd', user, namespace, 'id-d', image, env, "
            "secret_env_keys, storage, desired, purge, 'Hibernating', reason, message, workload, "
            "created_at, updated_at, 1 FROM sandboxes WHERE name = 'c'");
  }
  auto fromSql = registry_->getSandbox("c");
  ASSERT_OK(fromSql);
  EXPECT_EQ(fromSql->message, "from sql");
  EXPECT_KIND(registry_->getSandbox("d"), Internal);
  EXPECT_KIND(registry_->listSandboxes(std::nullopt), Internal);
  {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE, 5000);
    db.exec("UPDATE sandboxes SET phase = 'STOPPED' WHERE name = 'd'");
  }
  auto d = registry_->getSandbox("d");
  ASSERT_OK(d);
  EXPECT_EQ(d->phase, Phase::Stopped);
  EXPECT_EQ(names(std::nullopt), (Names{"c", "d"}));
}

TEST_F(SqliteRegistryTest, BlobsPutGetOverwriteDelete) {
  EXPECT_KIND(registry_->getBlob("deployment", "demo"), NotFound);
  ASSERT_OK(registry_->putBlob("deployment", "demo", R"({"kind":"Deployment"})"));
  auto v = registry_->getBlob("deployment", "demo");
  ASSERT_OK(v);
  EXPECT_EQ(*v, R"({"kind":"Deployment"})");

  ASSERT_OK(registry_->putBlob("deployment", "demo", "second"));
  v = registry_->getBlob("deployment", "demo");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "second");

  // Same name, other kind: separate.
  ASSERT_OK(registry_->putBlob("service", "demo", "svc"));
  EXPECT_EQ(*registry_->getBlob("service", "demo"), "svc");
  EXPECT_EQ(*registry_->getBlob("deployment", "demo"), "second");

  EXPECT_OK(registry_->deleteBlob("deployment", "demo"));
  EXPECT_KIND(registry_->getBlob("deployment", "demo"), NotFound);
  EXPECT_KIND(registry_->deleteBlob("deployment", "demo"), NotFound);
  EXPECT_OK(registry_->getBlob("service", "demo"));
}

TEST_F(SqliteRegistryTest, BlobsKeepArbitraryBytes) {
  std::string binary;
  for (int i = 0; i < 256; ++i) {
    binary.push_back(static_cast<char>(i));
  }
  binary += std::string(100000, 'x');
  ASSERT_OK(registry_->putBlob("bin", "all-bytes", binary));
  EXPECT_EQ(*registry_->getBlob("bin", "all-bytes"), binary);

  ASSERT_OK(registry_->putBlob("bin", "empty", ""));
  auto empty = registry_->getBlob("bin", "empty");
  ASSERT_OK(empty);
  EXPECT_EQ(*empty, "");
}

TEST_F(SqliteRegistryTest, PingAndSchemaVersion) {
  EXPECT_OK(registry_->ping());
  EXPECT_GE(registry_->schemaVersion(), 1);
}

TEST_F(SqliteRegistryTest, InMemoryDatabaseWorks) {
  auto r = openSqliteRegistry(":memory:", time_);
  ASSERT_OK(r);
  ASSERT_OK((*r)->insertSandbox(record("demo", "alice")));
  EXPECT_OK((*r)->getSandbox("demo"));
  auto token = (*r)->createToken("alice", false);
  ASSERT_OK(token);
  EXPECT_OK((*r)->authenticate(*token));
}

TEST_F(SqliteRegistryTest, OpenFailureIsAStatus) {
  auto r = openSqliteRegistry((dir_ / "no" / "such" / "dir" / "x.db").string(), time_);
  EXPECT_KIND(r, Internal);
}

// Another process holding the write lock past our busy timeout is Unavailable (retryable),
// not Internal.
TEST_F(SqliteRegistryTest, LockedDatabaseIsUnavailable) {
  SqliteRegistryOptions options;
  options.busyTimeoutMs = 50;
  auto impatient = openSqliteRegistry(path_, time_, options);
  ASSERT_OK(impatient);

  {
    SQLite::Database holder(path_, SQLite::OPEN_READWRITE);
    SQLite::Transaction hold(holder, SQLite::TransactionBehavior::IMMEDIATE);

    Status s = (*impatient)->insertSandbox(record("demo", "alice"));
    EXPECT_KIND(s, Unavailable);
    EXPECT_KIND((*impatient)->createToken("alice", false), Unavailable);
    EXPECT_KIND((*impatient)->putBlob("k", "n", "v"), Unavailable);
    // Readers are not blocked by a writer in WAL mode.
    EXPECT_OK((*impatient)->listSandboxes());
  }  // `hold` rolls back, releasing the lock
  EXPECT_OK((*impatient)->insertSandbox(record("demo", "alice")));
}

// Runs `threads` workers that each insert their own sandboxes and bump a shared counter row
// with compare-and-set, retrying on Aborted; any other failure fails the test.
void hammer(const std::vector<RegistryPtr>& registries, int threads, int perThread,
            const std::string& prefix) {
  ASSERT_OK(registries[0]->insertSandbox([&] {
    SandboxRecord r;
    r.name = prefix + "counter";
    r.user = "shared";
    return r;
  }()));
  std::atomic<int> unexpected{0};
  std::atomic<int> aborted{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Registry& reg = *registries[t % registries.size()];
      for (int i = 0; i < perThread; ++i) {
        SandboxRecord own;
        own.name = prefix + "t" + std::to_string(t) + "-" + std::to_string(i);
        own.user = "user" + std::to_string(t);
        own.env = {{"I", std::to_string(i)}};
        Status inserted = reg.insertSandbox(own);
        if (!inserted.isOk()) {
          ADD_FAILURE() << inserted.toString();
          ++unexpected;
        }
        for (;;) {
          auto current = reg.getSandbox(prefix + "counter");
          if (!current.isOk()) {
            ADD_FAILURE() << current.status().toString();
            ++unexpected;
            break;
          }
          current->message = "bumped by " + std::to_string(t);
          auto updated = reg.updateSandbox(*current);
          if (updated.isOk()) {
            break;
          }
          if (updated.status().kind() == ErrorKind::Aborted) {
            ++aborted;
            continue;
          }
          ADD_FAILURE() << updated.status().toString();
          ++unexpected;
          break;
        }
        auto token = reg.createToken(own.user, false);
        if (!token.isOk() || !reg.authenticate(*token).isOk()) {
          ADD_FAILURE() << "token round trip failed";
          ++unexpected;
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  EXPECT_EQ(unexpected.load(), 0);
  auto counter = registries[0]->getSandbox(prefix + "counter");
  ASSERT_OK(counter);
  EXPECT_EQ(counter->version, 1 + threads * perThread);
  auto all = registries[0]->listSandboxes();
  ASSERT_OK(all);
  EXPECT_EQ(static_cast<int>(all->size()), 1 + threads * perThread);
}

TEST_F(SqliteRegistryTest, ConcurrentWritersOnOneInstance) {
  hammer({registry_}, 8, 25, "one-");
}

// Two instances = two connections to the same file, as with two processes: the IMMEDIATE
// transactions and the busy timeout make them queue instead of failing with "locked".
TEST_F(SqliteRegistryTest, ConcurrentWritersOnTwoInstances) {
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  hammer({registry_, *other}, 8, 25, "two-");
}

OperationRecord operation(const std::string& sandboxId, OperationKind kind) {
  OperationRecord op;
  op.sandbox = "box";
  op.sandboxId = sandboxId;
  op.kind = kind;
  op.user = "alice";
  return op;
}

TEST_F(SqliteRegistryTest, OperationsAreRecordedPendingFinishedAndListedNewestFirst) {
  auto stop = registry_->addOperation(operation("id-1", OperationKind::Stop));
  ASSERT_OK(stop);
  time_->advance(std::chrono::seconds(1));
  auto env = registry_->addOperation(operation("id-1", OperationKind::UpdateEnv));
  ASSERT_OK(env);
  EXPECT_GT(*env, *stop);
  EXPECT_EQ(*registry_->sandboxesWithPendingOperations(), std::set<std::string>{"id-1"});

  ASSERT_OK(registry_->finishOperation(*env, OperationState::Failed, "cluster said no"));
  ASSERT_OK(registry_->finishOperation(*env, OperationState::Done))
      << "finishing one no longer pending is a no-op";
  auto ops = registry_->listOperations("id-1", 10);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].id, *env);
  EXPECT_EQ((*ops)[0].kind, OperationKind::UpdateEnv);
  EXPECT_EQ((*ops)[0].state, OperationState::Failed);
  EXPECT_EQ((*ops)[0].error, "cluster said no");
  EXPECT_TRUE((*ops)[0].finishedAt.has_value());
  EXPECT_EQ((*ops)[1].state, OperationState::Pending);
  EXPECT_EQ((*ops)[1].user, "alice");
  EXPECT_FALSE((*ops)[1].finishedAt.has_value());
  EXPECT_EQ((*ops)[1].requestedAt + std::chrono::seconds(1), (*ops)[0].requestedAt);
  auto pending = registry_->listOperations("id-1", 10, /*pendingOnly=*/true);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, *stop);
  EXPECT_TRUE(registry_->listOperations("id-other", 10)->empty());
  EXPECT_KIND(registry_->finishOperation(*stop, OperationState::Superseded), InvalidArgument);
}

TEST_F(SqliteRegistryTest, ANewRowAndItsOperationAreWrittenTogetherWithTheDetail) {
  OperationRecord create = operation("id-fork", OperationKind::Create);
  create.sandbox = "fork";
  create.detail = R"({"fromSnapshot":"0123456789ab","volumeSnapshot":"demo-snap-0123456789ab"})";
  auto id = registry_->insertSandboxWithOperation(record("fork", "alice"), create);
  ASSERT_OK(id);
  ASSERT_OK(registry_->getSandbox("fork"));
  auto ops = registry_->listOperations("id-fork", 10);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), 1u);
  EXPECT_EQ((*ops)[0].id, *id);
  EXPECT_EQ((*ops)[0].detail, create.detail) << "what a restart needs, read back as written";

  // The name is taken: neither the row nor the operation is written.
  OperationRecord again = operation("id-fork-2", OperationKind::Create);
  again.sandbox = "fork";
  SandboxRecord other = record("fork", "bob");
  other.sandboxId = "id-fork-2";
  EXPECT_KIND(registry_->insertSandboxWithOperation(other, again), AlreadyExists);
  EXPECT_TRUE(registry_->listOperations("id-fork-2", 10)->empty());
  EXPECT_EQ(registry_->getSandbox("fork")->user, "alice");
}

TEST_F(SqliteRegistryTest, PendingOperationsOfAKindOldestFirst) {
  auto restoreA = registry_->addOperation(operation("id-a", OperationKind::Restore));
  auto stopB = registry_->addOperation(operation("id-b", OperationKind::Stop));
  auto restoreB = registry_->addOperation(operation("id-b", OperationKind::Restore));
  auto doneC = registry_->addOperation(operation("id-c", OperationKind::Restore));
  ASSERT_OK(restoreA);
  ASSERT_OK(stopB);
  ASSERT_OK(restoreB);
  ASSERT_OK(doneC);
  ASSERT_OK(registry_->finishOperation(*doneC, OperationState::Done));
  auto pending = registry_->pendingOperations(OperationKind::Restore);
  ASSERT_OK(pending);
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, *restoreA);
  EXPECT_EQ((*pending)[1].id, *restoreB);
  EXPECT_EQ((*pending)[1].sandboxId, "id-b");
  EXPECT_TRUE(registry_->pendingOperations(OperationKind::Stop)->empty())
      << "a restore is a lifecycle request: it supersedes the sandbox's pending stop";
}

TEST_F(SqliteRegistryTest, AnIntentAndItsOperationAreWrittenTogetherOrNotAtAll) {
  ASSERT_OK(registry_->insertSandbox(record("demo", "alice")));
  auto current = registry_->getSandbox("demo");
  ASSERT_OK(current);
  auto pendingStart = registry_->addOperation(operation("id-demo", OperationKind::Start));
  ASSERT_OK(pendingStart);

  SandboxRecord stopped = *current;
  stopped.desired = DesiredState::Stopped;
  auto written =
      registry_->updateSandboxWithOperation(stopped, operation("id-demo", OperationKind::Stop));
  ASSERT_OK(written);
  EXPECT_EQ(written->version, 2);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Stopped);
  auto ops = registry_->listOperations("id-demo", 10);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[0].id, written->operation);
  EXPECT_EQ((*ops)[0].kind, OperationKind::Stop);
  EXPECT_EQ((*ops)[0].state, OperationState::Pending);
  EXPECT_EQ((*ops)[1].state, OperationState::Superseded) << "as addOperation does";

  // A stale version: the row is not changed, and no operation is recorded.
  SandboxRecord stale = *current;
  stale.desired = DesiredState::Deleted;
  EXPECT_KIND(registry_->updateSandboxWithOperation(stale,
                                                    operation("id-demo", OperationKind::Delete)),
              Aborted);
  EXPECT_EQ(registry_->getSandbox("demo")->desired, DesiredState::Stopped);
  EXPECT_EQ(registry_->listOperations("id-demo", 10)->size(), 2u);
  EXPECT_EQ((*registry_->listOperations("id-demo", 10))[0].state, OperationState::Pending)
      << "the failed request superseded nothing";
  // An operation without a sandbox id: nothing written either.
  SandboxRecord next = *registry_->getSandbox("demo");
  next.desired = DesiredState::Running;
  EXPECT_KIND(registry_->updateSandboxWithOperation(next, operation("", OperationKind::Start)),
              InvalidArgument);
  EXPECT_EQ(registry_->getSandbox("demo")->version, 2);
}

TEST_F(SqliteRegistryTest, ANewerLifecycleRequestSupersedesPendingOnesButNotEnvUpdates) {
  auto stop = registry_->addOperation(operation("id-1", OperationKind::Stop));
  auto env = registry_->addOperation(operation("id-1", OperationKind::UpdateEnv));
  auto other = registry_->addOperation(operation("id-2", OperationKind::Stop));
  auto start = registry_->addOperation(operation("id-1", OperationKind::Start));
  ASSERT_OK(start);
  auto ops = registry_->listOperations("id-1", 10);
  ASSERT_OK(ops);
  std::map<int64_t, OperationState> states;
  for (const auto& op : *ops) {
    states[op.id] = op.state;
  }
  EXPECT_EQ(states[*stop], OperationState::Superseded);
  EXPECT_EQ(states[*env], OperationState::Pending);
  EXPECT_EQ(states[*start], OperationState::Pending);
  EXPECT_EQ((*registry_->listOperations("id-2", 10))[0].state, OperationState::Pending)
      << "another sandbox's requests are untouched";
  (void)other;
}

TEST_F(SqliteRegistryTest, OnlyTheNewestOperationsOfASandboxAreKept) {
  const int total = Registry::kOperationHistory + 7;
  int64_t last = 0;
  for (int i = 0; i < total; ++i) {
    auto id = registry_->addOperation(operation("id-1", OperationKind::UpdateEnv));
    ASSERT_OK(id);
    last = *id;
  }
  ASSERT_OK(registry_->addOperation(operation("id-2", OperationKind::Create)));
  auto ops = registry_->listOperations("id-1", 1000);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), static_cast<size_t>(Registry::kOperationHistory));
  EXPECT_EQ(ops->front().id, last);
  EXPECT_EQ(registry_->listOperations("id-2", 1000)->size(), 1u);
  EXPECT_KIND(registry_->addOperation(operation("", OperationKind::Stop)), InvalidArgument);
}

// finishOperationSoon with the background thread off: only later calls store the finishes.
TEST_F(SqliteRegistryTest, AFinishLeftForLaterIsStoredBeforeAnyLaterRequestOrRead) {
  SqliteRegistryOptions options;
  options.finishInBackground = false;
  registry_.reset();
  {
    auto opened = openSqliteRegistry(path_, time_, options);
    ASSERT_OK(opened);
    registry_ = std::move(*opened);
  }
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);

  auto stop = registry_->addOperation(operation("id-1", OperationKind::Stop));
  ASSERT_OK(stop);
  const SystemTime finishedAt = time_->systemTime();
  registry_->finishOperationSoon(*stop, OperationState::Done);
  time_->advance(std::chrono::seconds(5));
  EXPECT_EQ((*(*other)->listOperations("id-1", 10))[0].state, OperationState::Pending)
      << "not stored yet: another connection still sees it pending";

  // A newer lifecycle request supersedes what is pending; the stop is done, not superseded.
  auto start = registry_->addOperation(operation("id-1", OperationKind::Start));
  ASSERT_OK(start);
  auto ops = (*other)->listOperations("id-1", 10);
  ASSERT_OK(ops);
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[1].id, *stop);
  EXPECT_EQ((*ops)[1].state, OperationState::Done);
  EXPECT_EQ((*ops)[1].finishedAt, finishedAt) << "the time it was finished, not stored";
  EXPECT_EQ((*ops)[0].state, OperationState::Pending);

  // Reads of operations store what is queued first.
  registry_->finishOperationSoon(*start, OperationState::Failed, "cluster said no");
  EXPECT_TRUE(registry_->sandboxesWithPendingOperations()->empty());
  auto other2 = registry_->addOperation(operation("id-2", OperationKind::Stop));
  ASSERT_OK(other2);
  registry_->finishOperationSoon(*other2, OperationState::Done);
  auto listed = registry_->listOperations("id-2", 10);
  ASSERT_OK(listed);
  EXPECT_EQ((*listed)[0].state, OperationState::Done);
  EXPECT_EQ((*(*other)->listOperations("id-1", 10))[0].error, "cluster said no");

  // So does a plain finish, and closing the registry.
  auto env = registry_->addOperation(operation("id-3", OperationKind::UpdateEnv));
  auto env2 = registry_->addOperation(operation("id-3", OperationKind::UpdateEnv));
  ASSERT_OK(env2);
  registry_->finishOperationSoon(*env, OperationState::Done);
  ASSERT_OK(registry_->finishOperation(*env2, OperationState::Done));
  EXPECT_EQ((*(*other)->listOperations("id-3", 10))[1].state, OperationState::Done);
  auto env3 = registry_->addOperation(operation("id-3", OperationKind::UpdateEnv));
  ASSERT_OK(env3);
  registry_->finishOperationSoon(*env3, OperationState::Done);
  registry_.reset();  // the last reference: closed
  EXPECT_EQ((*(*other)->listOperations("id-3", 10))[0].state, OperationState::Done);
}

TEST_F(SqliteRegistryTest, AFinishLeftForLaterReachesOtherProcessesWithoutAnotherCall) {
  auto other = openSqliteRegistry(path_, time_);
  ASSERT_OK(other);
  auto stop = registry_->addOperation(operation("id-1", OperationKind::Stop));
  ASSERT_OK(stop);
  registry_->finishOperationSoon(*stop, OperationState::Done);
  registry_->finishOperationSoon(*stop, OperationState::Superseded);  // refused, logged
  OperationState seen = OperationState::Pending;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen == OperationState::Pending && std::chrono::steady_clock::now() < deadline) {
    seen = (*(*other)->listOperations("id-1", 10))[0].state;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(seen, OperationState::Done);
}

}  // namespace
}  // namespace sandboxd
