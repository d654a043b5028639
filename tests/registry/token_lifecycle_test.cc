// Token lifecycle in the SQLite registry: expiry (by the injected clock), revocation (by this
// registry or another one on the same file), listing. Migration 0003.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "fakes/simulated_time_source.h"
#include "fakes/status_matchers.h"
#include "sandboxd/common/random_generator.h"
#include "sandboxd/registry/registry.h"
#include "support/test_dir.h"

namespace sandboxd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

class TokenLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    time_ = std::make_shared<testing::SimulatedTimeSource>();
    auto r = openSqliteRegistry(path_, time_);
    ASSERT_OK(r);
    registry_ = *r;
  }
  RegistryPtr openOther() {
    auto r = openSqliteRegistry(path_, time_);
    EXPECT_OK(r);
    return r.isOk() ? *r : nullptr;
  }

  testing::TestDir dir_{"sandboxd-token-test"};
  const std::string path_ = (dir_ / "sandboxd.db").string();
  std::shared_ptr<testing::SimulatedTimeSource> time_;
  RegistryPtr registry_;
};

TEST_F(TokenLifecycleTest, ATokenWithAnExpiryWorksUntilThenAndNotFromThen) {
  const SystemTime expires = time_->systemTime() + hours(12);
  auto created = registry_->issueToken("alice", false, hours(12));
  ASSERT_OK(created);
  EXPECT_EQ(created->info.user, "alice");
  ASSERT_TRUE(created->info.expiresAt.has_value());
  EXPECT_EQ(*created->info.expiresAt, expires);
  ASSERT_OK(registry_->authenticate(created->token));  // now held in memory

  time_->advance(hours(12) - milliseconds(1));
  EXPECT_OK(registry_->authenticate(created->token));
  time_->advance(milliseconds(1));
  // Held, and no write to the file since: expiry alone refuses it.
  EXPECT_KIND(registry_->authenticate(created->token), Unauthenticated);
  time_->advance(hours(1));
  EXPECT_KIND(registry_->authenticate(created->token), Unauthenticated);

  // A registry opened afterwards (not holding it) refuses it too.
  auto other = openOther();
  ASSERT_NE(other, nullptr);
  EXPECT_KIND(other->authenticate(created->token), Unauthenticated);
}

TEST_F(TokenLifecycleTest, ATtlThatIsNotPositiveIsRefusedAndNothingIsStored) {
  EXPECT_KIND(registry_->issueToken("alice", false, seconds(0)), InvalidArgument);
  EXPECT_KIND(registry_->issueToken("alice", false, seconds(-1)), InvalidArgument);
  EXPECT_KIND(registry_->issueToken("", false, std::nullopt), InvalidArgument);
  auto tokens = registry_->listTokens();
  ASSERT_OK(tokens);
  EXPECT_TRUE(tokens->empty());
}

TEST_F(TokenLifecycleTest, RevokingRefusesTheTokenAtOnceAndNoOther) {
  auto alice = registry_->issueToken("alice", false, std::nullopt);
  auto bob = registry_->issueToken("bob", true, std::nullopt);
  ASSERT_OK(alice);
  ASSERT_OK(bob);
  ASSERT_OK(registry_->authenticate(alice->token));  // held
  ASSERT_OK(registry_->authenticate(bob->token));

  time_->advance(seconds(5));
  auto revoked = registry_->revokeToken(alice->info.id);
  ASSERT_OK(revoked);
  EXPECT_EQ(revoked->id, alice->info.id);
  ASSERT_TRUE(revoked->revokedAt.has_value());
  EXPECT_EQ(*revoked->revokedAt, time_->systemTime());

  EXPECT_KIND(registry_->authenticate(alice->token), Unauthenticated);
  auto stillBob = registry_->authenticate(bob->token);
  ASSERT_OK(stillBob);
  EXPECT_EQ(stillBob->user, "bob");

  // Revoking again changes nothing (the first revocation time stays).
  time_->advance(seconds(5));
  auto again = registry_->revokeToken(alice->info.id);
  ASSERT_OK(again);
  EXPECT_EQ(again->revokedAt, revoked->revokedAt);
  EXPECT_KIND(registry_->revokeToken("tok_unknown"), NotFound);
}

// `sandboxd token revoke` is another process on the same file: a running server's registry
// holds the token in memory and must still refuse it at the next request.
TEST_F(TokenLifecycleTest, ATokenRevokedByAnotherRegistryOnTheFileIsRefusedAtOnce) {
  auto alice = registry_->issueToken("alice", false, std::nullopt);
  ASSERT_OK(alice);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(registry_->authenticate(alice->token));
  }
  {
    auto other = openOther();
    ASSERT_NE(other, nullptr);
    ASSERT_OK(other->revokeToken(alice->info.id));
  }
  EXPECT_KIND(registry_->authenticate(alice->token), Unauthenticated);
}

TEST_F(TokenLifecycleTest, ListShowsEveryTokenOldestFirstWithoutSecrets) {
  auto a = registry_->issueToken("alice", false, std::nullopt);
  time_->advance(seconds(1));
  auto b = registry_->issueToken("bob", true, hours(1));
  time_->advance(seconds(1));
  auto c = registry_->issueToken("alice", false, std::nullopt);
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(c);
  ASSERT_OK(registry_->revokeToken(c->info.id));

  auto all = registry_->listTokens();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, a->info.id);
  EXPECT_EQ((*all)[1].id, b->info.id);
  EXPECT_EQ((*all)[2].id, c->info.id);
  EXPECT_EQ((*all)[0].createdAt, a->info.createdAt);
  EXPECT_FALSE((*all)[0].expiresAt.has_value());
  EXPECT_FALSE((*all)[0].revokedAt.has_value());
  EXPECT_TRUE((*all)[1].admin);
  EXPECT_EQ((*all)[1].expiresAt, b->info.expiresAt);
  EXPECT_TRUE((*all)[2].revokedAt.has_value());

  auto alices = registry_->listTokens(std::string("alice"));
  ASSERT_OK(alices);
  ASSERT_EQ(alices->size(), 2u);
  EXPECT_EQ((*alices)[0].id, a->info.id);
  EXPECT_EQ((*alices)[1].id, c->info.id);
  auto nobody = registry_->listTokens(std::string("carol"));
  ASSERT_OK(nobody);
  EXPECT_TRUE(nobody->empty());
}

// A database made by schema version 2 (tokens without expiry or revocation) keeps its tokens
// working after migration 0003.
TEST_F(TokenLifecycleTest, TokensFromBeforeTheMigrationKeepWorking) {
  registry_.reset();
  const std::string oldPath = (dir_ / "old.db").string();
  const std::filesystem::path oldMigrations = dir_ / "migrations-v2";
  std::filesystem::create_directories(oldMigrations);
  for (const char* name : {"0001_init.sql", "0002_operations.sql"}) {
    std::filesystem::copy_file(std::filesystem::path(SANDBOXD_SOURCE_DIR) / "migrations" / name,
                               oldMigrations / name);
  }
  SqliteRegistryOptions v2;
  v2.migrationsDir = oldMigrations.string();
  auto version = migrateDatabase(oldPath, v2);
  ASSERT_OK(version);
  ASSERT_EQ(*version, 2);
  // A token as schema version 2 stored it.
  const std::string token = "sbx_from_before_the_migration";
  {
    SQLite::Database db(oldPath, SQLite::OPEN_READWRITE, 5000);
    SQLite::Statement q(db,
                        "INSERT INTO tokens (id, user, admin, token_hash, created_at) "
                        "VALUES ('tok_old', 'alice', 1, ?, 1000)");
    q.bind(1, sha256Hex(token));
    q.exec();
  }
  auto migrated = openSqliteRegistry(oldPath, time_);
  ASSERT_OK(migrated);
  EXPECT_GE((*migrated)->schemaVersion(), 3);  // token lifecycle's schema, or a later one
  auto info = (*migrated)->authenticate(token);
  ASSERT_OK(info);
  EXPECT_EQ(info->user, "alice");
  EXPECT_TRUE(info->admin);
  EXPECT_FALSE(info->expiresAt.has_value());
  ASSERT_OK((*migrated)->revokeToken(info->id));
  EXPECT_KIND((*migrated)->authenticate(token), Unauthenticated);
}

}  // namespace
}  // namespace sandboxd
