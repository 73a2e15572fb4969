// The Store suite (store_test.cpp) on PostgreSQL, and what only PostgreSQL
// has: several consoles on one database, concurrent migrations, connection
// errors and reconnects. Each test works in a database of its own
// (pg_test_db.h) on the server SYNGUARD_TEST_PG_URL names.
#include "console/pg_store.h"

#include <atomic>
#include <barrier>
#include <chrono>
#include <set>
#include <thread>

#include "console/pg_migrations.h"
#include "console/pg_test_db.h"
#include "console/pg_test_require.h"
#include "console/store_test.h"

namespace sg::console {
namespace {

using test::PgTestDb;

class PgFixture final : public StoreFixture {
 public:
  static Result<std::unique_ptr<StoreFixture>> make() {
    SG_READ(db, PgTestDb::create());
    return std::unique_ptr<StoreFixture>(new PgFixture(std::move(*db)));
  }
  Result<std::unique_ptr<Store>> open() override {
    SG_READ(store, PgStore::open(db_->url()));
    return std::unique_ptr<Store>(std::move(*store));
  }

 private:
  explicit PgFixture(std::unique_ptr<PgTestDb> db) : db_(std::move(db)) {}
  std::unique_ptr<PgTestDb> db_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest,
                         ::testing::Values(Backend{"postgres", test::pgTestUnavailable,
                                                   PgFixture::make}),
                         [](const auto& info) { return info.param.name; });

// Two consoles' stores on one fresh database.
class PgTwoStores : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_PG();
    auto db = PgTestDb::create();
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto a = PgStore::open(db_->url());
    ASSERT_OK(a);
    auto b = PgStore::open(db_->url());
    ASSERT_OK(b);
    a_ = std::move(*a);
    b_ = std::move(*b);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    db_.reset();
  }

  std::unique_ptr<PgTestDb> db_;
  std::unique_ptr<PgStore> a_, b_;
};

TEST_F(PgTwoStores, EachSeesTheOthersWrites) {
  ASSERT_OK(a_->putBlock({"192.0.2.7", std::nullopt, "alice", "flood 1", 3, 100}));
  auto blocks = b_->listBlocks();
  ASSERT_OK(blocks);
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].added_by, "alice");
  ASSERT_OK(b_->putPolicy({"p", {{"dept", "x"}}, {"p", 5, 1000, 2000, EnforcerKind::kXdp}, 1}));
  EXPECT_EQ(a_->listPolicies()->size(), 1u);
  EXPECT_TRUE(*b_->deleteBlock("192.0.2.7"));
  EXPECT_TRUE(a_->listBlocks()->empty());
  EXPECT_EQ(*a_->resourceVersion(), *b_->resourceVersion());
  EXPECT_NE(a_->origin(), b_->origin());
}

// Both stores write at once from two threads: every version either reads
// after its own write is higher than the one before, and none is lost.
TEST_F(PgTwoStores, ResourceVersionRisesStrictlyAcrossBoth) {
  constexpr int kWrites = 50;
  const uint64_t v0 = *a_->resourceVersion();
  std::atomic<int> failures{0};
  auto writer = [&](PgStore& store, const char* who) {
    uint64_t last = v0;
    for (int i = 0; i < kWrites; ++i) {
      if (!store.putMeta(std::string(who) + std::to_string(i), "x").ok()) ++failures;
      auto v = store.resourceVersion();
      if (!v.ok() || *v <= last) ++failures;
      if (v.ok()) last = *v;
    }
  };
  std::thread ta(writer, std::ref(*a_), "a");
  std::thread tb(writer, std::ref(*b_), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*a_->resourceVersion(), v0 + 2 * kWrites);
  EXPECT_EQ(*b_->resourceVersion(), v0 + 2 * kWrites);
}

// The same token consumed through both consoles at the same moment: one
// enrollment succeeds, the other is refused, for every token.
TEST_F(PgTwoStores, AnEnrollmentTokenConsumedByBothAtOnceWorksOnce) {
  constexpr int kTokens = 20;
  for (int i = 0; i < kTokens; ++i) {
    ASSERT_OK(a_->putEnrollmentToken({"t" + std::to_string(i), {{"org", "acme"}}, 5000, false}));
  }
  std::barrier sync(2);
  std::atomic<int> won{0}, refused{0}, other{0};
  auto enroll = [&](PgStore& store) {
    for (int i = 0; i < kTokens; ++i) {
      sync.arrive_and_wait();
      auto t = store.consumeEnrollmentToken("t" + std::to_string(i), 1000);
      if (t.ok()) {
        ++won;
      } else if (t.error().code() == Errc::kPermissionDenied) {
        ++refused;
      } else {
        ++other;
      }
    }
  };
  std::thread ta(enroll, std::ref(*a_));
  std::thread tb(enroll, std::ref(*b_));
  ta.join();
  tb.join();
  EXPECT_EQ(won.load(), kTokens);
  EXPECT_EQ(refused.load(), kTokens);
  EXPECT_EQ(other.load(), 0);
}

// One name enrolled through both consoles at the same moment, each with a
// token of its own: one wins, the other is refused and keeps its token.
TEST_F(PgTwoStores, OneNameEnrolledByBothAtOnceHasOneOwner) {
  constexpr int kNames = 20;
  for (int i = 0; i < kNames; ++i) {
    ASSERT_OK(a_->putEnrollmentToken({"a" + std::to_string(i), {}, 5000, false}));
    ASSERT_OK(a_->putEnrollmentToken({"b" + std::to_string(i), {}, 5000, false}));
  }
  std::barrier sync(2);
  std::atomic<int> won{0}, taken{0}, other{0};
  auto enroll = [&](PgStore& store, const std::string& who) {
    for (int i = 0; i < kNames; ++i) {
      EndpointRecord e;
      e.name = "ep-" + std::to_string(i);
      e.credential_hash = who;
      sync.arrive_and_wait();
      auto r = store.enrollEndpoint(who + std::to_string(i), 1000, e);
      if (r.ok()) {
        ++won;
      } else if (r.error().code() == Errc::kAlreadyExists) {
        ++taken;
        // The loser's token is still unused.
        EXPECT_OK(store.consumeEnrollmentToken(who + std::to_string(i), 1000));
      } else {
        ++other;
      }
    }
  };
  std::thread ta(enroll, std::ref(*a_), "a");
  std::thread tb(enroll, std::ref(*b_), "b");
  ta.join();
  tb.join();
  EXPECT_EQ(won.load(), kNames);
  EXPECT_EQ(taken.load(), kNames);
  EXPECT_EQ(other.load(), 0);
}

// Ids a write assigns are taken under the version lock, so they rise in
// commit order: a reader paging the audit log by id while both consoles
// append (as `ctl audit` or a watch would) never skips an entry.
TEST_F(PgTwoStores, AuditPagedByIdWhileBothAppendMissesNothing) {
  constexpr int kEntries = 200;
  auto reader = PgStore::open(db_->url());
  ASSERT_OK(reader);
  std::atomic<bool> writing{true};
  size_t seen = 0;
  uint64_t last = 0;
  auto page = [&] {
    auto entries = (*reader)->listAudit(last, 1000);
    if (!entries.ok()) return;
    seen += entries->size();
    if (!entries->empty()) last = entries->back().id;
  };
  std::thread pager([&] {
    while (writing) page();
  });
  auto append = [&](PgStore& store, const char* who) {
    for (int i = 0; i < kEntries; ++i) (void)store.appendAudit({0, i, who, "block", "x", ""});
  };
  std::thread ta(append, std::ref(*a_), "a");
  std::thread tb(append, std::ref(*b_), "b");
  ta.join();
  tb.join();
  writing = false;
  pager.join();
  page();
  EXPECT_EQ(seen, 2u * kEntries);
  EXPECT_EQ((*reader)->listAudit(0, 1000)->size(), 2u * kEntries);
}

TEST(PgMigrations, TwoStoresStartingAtOnceMigrateOnce) {
  SG_REQUIRE_PG();
  for (int round = 0; round < 3; ++round) {
    auto db = PgTestDb::create();
    ASSERT_OK(db);
    std::barrier sync(2);
    Result<std::unique_ptr<PgStore>> opened[2] = {makeError(Errc::kIo, "not run"),
                                                  makeError(Errc::kIo, "not run")};
    auto start = [&](int i) {
      sync.arrive_and_wait();
      opened[i] = PgStore::open((*db)->url());
    };
    std::thread t0(start, 0), t1(start, 1);
    t0.join();
    t1.join();
    ASSERT_OK(opened[0]);
    ASSERT_OK(opened[1]);
    auto conn = (*db)->connect();
    ASSERT_OK(conn);
    auto count = (*conn)->exec("SELECT COUNT(*) FROM schema_migrations");
    ASSERT_OK(count);
    EXPECT_EQ(count->int64(0, 0), static_cast<int64_t>(pgMigrations().size()));
    auto version = (*conn)->exec("SELECT COUNT(*) FROM resource_version");
    ASSERT_OK(version);
    EXPECT_EQ(version->int64(0, 0), 1);
  }
}

// Two consoles taking desired-state versions and flood ids at once never get
// one value twice, and the first claim of a flood's source wins for both.
TEST(PgScaleOut, TwoStoresShareCountersAndClaims) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto a = PgStore::open((*db)->url());
  auto b = PgStore::open((*db)->url());
  ASSERT_OK(a);
  ASSERT_OK(b);
  constexpr int kEach = 50;
  std::vector<uint64_t> got[2];
  std::barrier sync(2);
  auto take = [&](int i, PgStore& store) {
    sync.arrive_and_wait();
    for (int n = 0; n < kEach; ++n) {
      auto v = store.nextCounter("desired_version");
      if (v.ok()) got[i].push_back(*v);
    }
  };
  std::thread t0(take, 0, std::ref(**a)), t1(take, 1, std::ref(**b));
  t0.join();
  t1.join();
  std::set<uint64_t> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  EXPECT_EQ(all.size(), 2u * kEach);
  EXPECT_EQ(*all.rbegin(), 2u * kEach);
  EXPECT_EQ(*(*a)->claimMeta("flood_source:192.0.2.7", "3"), "3");
  EXPECT_EQ(*(*b)->claimMeta("flood_source:192.0.2.7", "4"), "3");
}

TEST(PgMigrations, ANewerSchemaIsRefused) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  { ASSERT_OK(PgStore::open((*db)->url())); }
  {
    auto conn = (*db)->connect();
    ASSERT_OK(conn);
    ASSERT_OK((*conn)->exec("INSERT INTO schema_migrations (version) VALUES (999)"));
  }
  auto newer = PgStore::open((*db)->url());
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.error().message().find("newer than this build"), std::string::npos);
}

TEST(PgConnection, ErrorsNameTheServerAndDatabaseButNeverThePassword) {
  SG_REQUIRE_PG();
  auto server = parsePgUrl(test::pgTestUrl());
  ASSERT_OK(server);
  ASSERT_FALSE(server->password.empty());
  // A wrong password: the server refuses it.
  const std::string wrong = "wrong-secret-" + server->password.substr(0, 4) + "x";
  std::string url = test::pgTestUrl();
  url.replace(url.find(server->password), server->password.size(), wrong);
  auto refused = PgStore::open(url);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::kUnavailable);
  const std::string msg = refused.error().message();
  EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("synguard_test"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
  // Nothing listening (port 1): the address is named, the password is not.
  auto closed = PgStore::open("postgres://u:hunter2secret@127.0.0.1:1/somedb");
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code(), Errc::kUnavailable);
  EXPECT_NE(closed.error().message().find("postgres://u@127.0.0.1:1/somedb"), std::string::npos)
      << closed.error().message();
  EXPECT_EQ(closed.error().message().find("hunter2"), std::string::npos);
  // Not a URL libpq takes.
  auto bad = PgStore::open("postgres://u:hunter2secret@127.0.0.1:1/db?nosuchoption=1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(bad.error().message().find("hunter2"), std::string::npos) << bad.error().message();
}

// The server ends the store's connection (a restart, a failover, an
// administrator): the next call reconnects and works.
TEST(PgConnection, AStoreReconnectsAfterItsConnectionIsLost) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto store = PgStore::open((*db)->url());
  ASSERT_OK(store);
  ASSERT_OK((*store)->putMeta("k", "1"));
  auto admin = (*db)->connect();
  ASSERT_OK(admin);
  auto killed = (*admin)->exec(
      "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = $1 AND application_name = 'syn-guard console'",
      {(*db)->name()});
  ASSERT_OK(killed);
  ASSERT_EQ(killed->int64(0, 0), 1);
  EXPECT_EQ(**(*store)->getMeta("k"), "1");  // a read: retried on a new connection
  ASSERT_OK(
      (*admin)->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE datname = $1 AND application_name = 'syn-guard console'",
                     {(*db)->name()}));
  ASSERT_OK((*store)->putMeta("k", "2"));  // a write: BEGIN retried on a new connection
  EXPECT_EQ(**(*store)->getMeta("k"), "2");
}

// A statement the server refuses inside a write's pipeline (text that is
// not UTF-8) aborts the rest: nothing is stored, the version does not move,
// and the store goes on working on the same connection.
TEST(PgConnection, AWriteTheServerRefusesChangesNothing) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto store = PgStore::open((*db)->url());
  ASSERT_OK(store);
  ASSERT_OK((*store)->putMeta("k", "1"));
  const uint64_t v = *(*store)->resourceVersion();
  auto refused = (*store)->putMeta("bad\xff", "2");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("UTF8"), std::string::npos) << refused.error().message();
  EXPECT_EQ(*(*store)->resourceVersion(), v);
  EXPECT_ERROR((*store)->appendAudit({0, 1, "a", "b", "\xc3", ""}), Errc::kIo);
  EXPECT_TRUE((*store)->listAudit(0, 10)->empty());
  ASSERT_OK((*store)->putMeta("k", "3"));
  EXPECT_EQ(**(*store)->getMeta("k"), "3");
  EXPECT_EQ(*(*store)->resourceVersion(), v + 1);
}

// A write blocked by a lock another session holds fails after the statement
// timeout (here from the URL, which overrides the store's 30 s default) and
// leaves the store usable.
TEST(PgConnection, AWriteBlockedTooLongFailsInsteadOfHanging) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  const std::string url = (*db)->url();
  auto store = PgStore::open(url + (url.find('?') == std::string::npos ? "?" : "&") +
                             "options=-c%20statement_timeout%3D300");
  ASSERT_OK(store);
  auto other = (*db)->connect();
  ASSERT_OK(other);
  auto fallback = (*other)->exec("SHOW statement_timeout");  // what a URL without one gets
  ASSERT_OK(fallback);
  EXPECT_EQ(fallback->text(0, 0), "30s");
  ASSERT_OK((*other)->script("BEGIN; SELECT version FROM resource_version FOR UPDATE"));
  const auto start = std::chrono::steady_clock::now();
  auto blocked = (*store)->putMeta("k", "v");
  ASSERT_FALSE(blocked.ok());
  EXPECT_NE(blocked.error().message().find("statement timeout"), std::string::npos)
      << blocked.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_OK((*other)->script("COMMIT"));
  ASSERT_OK((*store)->putMeta("k", "v"));
  EXPECT_EQ(**(*store)->getMeta("k"), "v");
}

}  // namespace
}  // namespace sg::console
