// The change feed: a write through one console's store reaches a feed on
// the same database, in order; a lost feed connection comes back and says
// "resync".
#include "console/pg_feed.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "console/pg_store.h"
#include "console/pg_test_db.h"
#include "console/pg_test_require.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

using namespace std::chrono_literals;
using test::PgTestDb;

constexpr auto kDeadline = 10s;  // bound on every wait: a loaded CI machine

TEST(PgFeedChange, ParsesWhatPgStoreSendsAndRefusesTheRest) {
  auto c =
      parseChange(R"({"kind":"block","key":"192.0.2.7","op":"put","version":42,"origin":"ab"})");
  ASSERT_OK(c);
  EXPECT_EQ(*c, (StoreChange{"block", "192.0.2.7", "put", 42, "ab"}));
  EXPECT_ERROR(parseChange("hello"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseChange(R"({"kind":"block"})"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseChange(R"({"kind":"block","key":"k","op":"put","version":-1,"origin":""})"),
               Errc::kInvalidArgument);
}

// What a feed delivered, for the test thread to wait on.
class Inbox {
 public:
  PgFeedCallbacks callbacks() {
    PgFeedCallbacks cb;
    cb.on_change = [this](const StoreChange& c) {
      std::lock_guard lock(mu_);
      changes_.push_back(c);
      cv_.notify_all();
    };
    cb.on_resync = [this] {
      std::lock_guard lock(mu_);
      ++resyncs_;
      cv_.notify_all();
    };
    return cb;
  }
  // Waits until `count` changes arrived; false after kDeadline.
  bool waitChanges(size_t count) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return changes_.size() >= count; });
  }
  bool waitResync() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return resyncs_ > 0; });
  }
  std::vector<StoreChange> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<StoreChange> changes_;
  int resyncs_ = 0;
};

TEST(PgChangeFeed, AWriteThroughOneStoreReachesAFeedOnTheOthersDatabase) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto a = PgStore::open((*db)->url());
  ASSERT_OK(a);
  auto b = PgStore::open((*db)->url());  // console B: its feed hears A's writes
  ASSERT_OK(b);
  Inbox inbox;
  auto feed = PgChangeFeed::start((*db)->url(), inbox.callbacks());
  ASSERT_OK(feed);

  const auto sent = std::chrono::steady_clock::now();
  ASSERT_OK((*a)->putBlock({"192.0.2.7", std::nullopt, "alice", "", 3, 100}));
  ASSERT_TRUE(inbox.waitChanges(1)) << "no notification within 10 s";
  const auto latency = std::chrono::steady_clock::now() - sent;
  StoreChange got = inbox.changes()[0];
  EXPECT_EQ(got.kind, "block");
  EXPECT_EQ(got.key, "192.0.2.7");
  EXPECT_EQ(got.op, "put");
  EXPECT_EQ(got.version, *(*a)->resourceVersion());
  EXPECT_EQ(got.origin, (*a)->origin());
  EXPECT_LT(latency, kDeadline);

  // Every kind of write announces itself, in commit order, rolled-back
  // ones never.
  ASSERT_OK((*b)->putPolicy({"p", {}, {"p", 5, 1000, 2000, EnforcerKind::kXdp}, 1}));
  (void)(*a)->consumeEnrollmentToken("nope", 0);  // fails: rolled back
  ASSERT_OK((*a)->deleteBlock("192.0.2.7"));
  auto incident = (*b)->putIncident({0, 1, "n", "bob", 5, ""});
  ASSERT_OK(incident);
  ASSERT_TRUE(inbox.waitChanges(4));
  auto all = inbox.changes();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[1].kind, "policy");
  EXPECT_EQ(all[1].origin, (*b)->origin());
  EXPECT_EQ(all[2].op, "delete");
  EXPECT_EQ(all[3].kind, "incident");
  EXPECT_EQ(all[3].key, std::to_string(*incident));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_EQ(all[i].version, all[i - 1].version + 1);
  EXPECT_EQ((*feed)->stats().changes, 4u);
}

// The listener alone, as an event loop would drive it: its fd becomes
// readable when a change is committed, drain() hands it over.
TEST(PgChangeFeed, AListenerInACallersEventLoop) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto store = PgStore::open((*db)->url());
  ASSERT_OK(store);
  auto listener = PgListener::open((*db)->url());
  ASSERT_OK(listener);
  ASSERT_OK((*store)->putBlock({"198.51.100.0/24", 5000, "bob", "", 1, 1}));
  std::vector<StoreChange> got;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{(*listener)->fd(), POLLIN, 0};
    ASSERT_GE(poll(&pfd, 1, 100), 0);
    ASSERT_OK((*listener)->drain([&](const StoreChange& c) { got.push_back(c); }));
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "198.51.100.0/24");
  EXPECT_EQ(got[0].origin, (*store)->origin());
}

TEST(PgChangeFeed, ALostConnectionComesBackAndAsksForAResync) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto store = PgStore::open((*db)->url());
  ASSERT_OK(store);
  Inbox inbox;
  auto feed = PgChangeFeed::start((*db)->url(), inbox.callbacks(), {10, 200});
  ASSERT_OK(feed);
  auto admin = (*db)->connect();
  ASSERT_OK(admin);
  auto killed = (*admin)->exec(
      "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
      " WHERE datname = $1 AND application_name = 'syn-guard change feed'",
      {(*db)->name()});
  ASSERT_OK(killed);
  ASSERT_EQ(killed->int64(0, 0), 1);
  ASSERT_TRUE(inbox.waitResync()) << "no resync within 10 s";
  EXPECT_EQ((*feed)->stats().reconnects, 1u);
  ASSERT_OK((*store)->putMeta("after", "reconnect"));
  ASSERT_TRUE(inbox.waitChanges(1));
  EXPECT_EQ(inbox.changes()[0].key, "after");
}

TEST(PgChangeFeed, PayloadsFromOtherProgramsAreCountedAndSkipped) {
  SG_REQUIRE_PG();
  auto db = PgTestDb::create();
  ASSERT_OK(db);
  auto store = PgStore::open((*db)->url());
  ASSERT_OK(store);
  Inbox inbox;
  auto feed = PgChangeFeed::start((*db)->url(), inbox.callbacks());
  ASSERT_OK(feed);
  auto other = (*db)->connect();
  ASSERT_OK(other);
  ASSERT_OK((*other)->exec("SELECT pg_notify($1, 'not json')", {std::string(kPgChangeChannel)}));
  ASSERT_OK((*store)->putMeta("k", "v"));
  ASSERT_TRUE(inbox.waitChanges(1));
  EXPECT_EQ(inbox.changes()[0].key, "k");
  EXPECT_EQ((*feed)->stats().malformed, 1u);
}

}  // namespace
}  // namespace sg::console
