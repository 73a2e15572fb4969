#include "console/port_flood_book.h"

#include <gtest/gtest.h>

#include "test_helpers.h"

namespace sg::console {
namespace {

proto::PortFloodReport msg(proto::PortFloodKind kind, const char* dst, uint16_t port,
                           uint64_t first_ns, uint64_t at_ns, uint64_t rate = 1000) {
  proto::PortFloodReport m;
  m.kind = kind;
  m.dst = *parsePrefix(dst);
  m.dst_port = port;
  m.reason = "rate";
  m.rate = rate;
  m.peak_rate = rate;
  m.normal_rate = 1000;  // these rates alone stay LOW: the endpoints' rule shows
  m.distinct_sources = 5000;
  m.completion_permille = 20;
  m.top_prefixes = {{*parsePrefix("198.51.100.0/24"), 400}};
  m.response = "syncookies";
  m.first_ns = first_ns;
  m.at_ns = at_ns;
  return m;
}

using K = proto::PortFloodKind;

// What the service does with the ids apply() changed, once they are stored.
void save(PortFloodBook& book, const std::vector<std::string>& ids) {
  for (const auto& id : ids) book.saved(id);
}
const CorrelatorOptions kSeverity;
// The console's clock (the new-flood budget's): still, but in the budget's test.
constexpr int64_t kNow = 0;

TEST(PortFloodBook, DetectUpdateEndIsOneFloodKeyedByTarget) {
  PortFloodBook book;
  auto ids = book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 1100, kNow);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], "web-1/192.0.2.10:443/100");
  book.apply("web-1", msg(K::kUpdated, "192.0.2.10", 443, 100, 300, 5000), 1000, 6100, kNow);
  auto v = book.find(ids[0], kSeverity, 10);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->active);
  EXPECT_EQ(v->rate, 5000u);
  EXPECT_EQ(v->peak_rate, 5000u);
  EXPECT_DOUBLE_EQ(v->completion_ratio, 0.02);
  ASSERT_EQ(v->top_prefixes.size(), 1u);
  EXPECT_DOUBLE_EQ(v->top_prefixes[0].share, 0.4);
  EXPECT_EQ(v->started_at_ms, 1000);
  EXPECT_EQ(v->last_seen_ms, 6100);
  // An update older than what was applied (a resend) changes nothing.
  EXPECT_TRUE(
      book.apply("web-1", msg(K::kUpdated, "192.0.2.10", 443, 100, 250, 1), 1000, 3000, kNow)
          .empty());
  EXPECT_EQ(book.counters().stale, 1u);
  book.apply("web-1", msg(K::kEnded, "192.0.2.10", 443, 100, 400, 10), 1000, 9000, kNow);
  v = book.find(ids[0], kSeverity, 10);
  EXPECT_FALSE(v->active);
  EXPECT_EQ(v->ended_by, "agent");
  EXPECT_EQ(v->ended_at_ms, 9000);
  EXPECT_EQ(v->peak_rate, 5000u);
  EXPECT_EQ(book.activeCount(), 0u);
  EXPECT_TRUE(book.list(false, kSeverity, 10).empty());
  EXPECT_EQ(book.list(true, kSeverity, 10).size(), 1u);
  // A message of the same flood after its end (out of order) does not revive it.
  book.apply("web-1", msg(K::kUpdated, "192.0.2.10", 443, 100, 350), 1000, 8000, kNow);
  EXPECT_FALSE(book.find(ids[0], kSeverity, 10)->active);
}

TEST(PortFloodBook, QuietFloodsEndAndANewFloodOfTheTargetSupersedesTheOld) {
  PortFloodBookOptions o;
  o.quiet_period_ms = 60'000;
  PortFloodBook book(o);
  book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 1000, kNow);
  EXPECT_TRUE(book.expire(60'999).empty());
  auto ended = book.expire(61'000);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(book.find(ended[0], kSeverity, 10)->ended_by, "quiet");
  // Its agent comes back with an update: it still runs.
  book.apply("web-1", msg(K::kUpdated, "192.0.2.10", 443, 100, 900), 1000, 70'000, kNow);
  EXPECT_TRUE(book.find(ended[0], kSeverity, 10)->active);
  // The agent restarted: a new flood of the same target (its end was lost).
  auto ids = book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 5, 10), 80'000, 80'000, kNow);
  // first_ns 5 < 100: an older flood of the target, not newer: both kept.
  EXPECT_EQ(ids.size(), 1u);
  ids = book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 1000, 1100), 80'000, 80'000, kNow);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(book.find(ids[1], kSeverity, 10)->ended_by, "superseded");
}

TEST(PortFloodBook, FleetViewSharesPrefixesAcrossEndpointsAndRisesInSeverity) {
  PortFloodBook book;
  auto one =
      book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 1, 2, 3000), 5000, 5000, kNow);
  EXPECT_EQ(book.fleet(kSeverity, 20).severity, Severity::kLow);
  book.apply("web-2", msg(K::kDetected, "192.0.2.20", 443, 1, 2, 9000), 4000, 5000, kNow);
  auto m = msg(K::kDetected, "2001:db8::30", 8443, 1, 2, 100);
  m.top_prefixes = {{*parsePrefix("203.0.113.0/24"), 900}};
  book.apply("web-3", m, 7000, 7000, kNow);
  book.apply("web-1", msg(K::kDetected, "192.0.2.10", 80, 1, 2, 50), 6000, 6000, kNow);
  const PortFleetView f = book.fleet(kSeverity, 20);
  EXPECT_EQ(f.endpoints, (std::vector<std::string>{"web-1", "web-2", "web-3"}));
  EXPECT_EQ(f.targets, 4u);
  EXPECT_EQ(f.since_ms, 4000);
  EXPECT_EQ(f.peak_rate, 9000u);
  EXPECT_EQ(f.rate, 3000u + 9000u + 100u + 50u);
  EXPECT_EQ(f.severity, Severity::kHigh);  // 3 endpoints
  ASSERT_EQ(f.shared_prefixes.size(), 1u);
  EXPECT_EQ(f.shared_prefixes[0].prefix, "198.51.100.0/24");
  EXPECT_EQ(f.shared_prefixes[0].endpoints, (std::vector<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(book.find(one[0], kSeverity, 20)->severity, Severity::kHigh);
  auto list = book.list(false, kSeverity, 20);
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].endpoint, "web-2");  // by start
  EXPECT_EQ(list[3].target(), "[2001:db8::30]:8443");
}

TEST(PortFloodBook, BodyRoundTripsAndRestoreKeepsTheNewer) {
  PortFloodBook book;
  auto ids = book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 1100, kNow);
  auto v = *book.find(ids[0], kSeverity, 10);
  auto back = portFloodFromBody(portFloodBody(v));
  ASSERT_OK(back);
  back->severity = v.severity;
  EXPECT_EQ(*back, v);
  EXPECT_ERROR(portFloodFromBody("{}"), Errc::kInvalidArgument);
  EXPECT_ERROR(portFloodFromBody("nope"), Errc::kInvalidArgument);
  PortFloodBook other;
  other.restore(v);
  EXPECT_EQ(other.activeCount(), 1u);
  PortFloodView older = v;
  older.agent_at_ns = 1;
  older.active = false;
  other.restore(older);  // a stale copy: ignored
  EXPECT_TRUE(other.find(v.id, kSeverity, 10)->active);
}

// Review finding M2: one agent filled the fleet-wide table and every other
// agent's new port flood was refused.
TEST(PortFloodBook, OneEndpointCannotStarveTheFleet) {
  PortFloodBookOptions o;
  o.max_active = 4;
  PortFloodBook book(o);
  for (uint16_t port = 1; port <= 4; port++) {
    book.apply("rogue", msg(K::kDetected, "192.0.2.99", port, 100 + port, 200), 1000, 1100, kNow);
  }
  auto ids = book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 1100, kNow);
  ASSERT_EQ(ids.size(), 2u) << "web-1's real flood was refused: dropped_full="
                            << book.counters().dropped_full;
  EXPECT_EQ(ids[1], "rogue/192.0.2.99:1/101") << "not the biggest holder's oldest";
  EXPECT_EQ(book.find(ids[1], kSeverity, 10)->ended_by, "evicted");
  EXPECT_TRUE(book.find(ids[0], kSeverity, 10)->active);
  EXPECT_EQ(book.activeCount(), 4u);
  EXPECT_EQ(book.counters().evicted, 1u);
  EXPECT_EQ(book.counters().dropped_full, 0u);
  // The rogue's next flood takes its own oldest, never web-1's.
  for (uint16_t port = 5; port <= 9; port++) {
    book.apply("rogue", msg(K::kDetected, "192.0.2.99", port, 100 + port, 200), 1000, 1100, kNow);
  }
  EXPECT_TRUE(book.find(ids[0], kSeverity, 10)->active) << "web-1's flood was evicted";
  EXPECT_EQ(book.activeCount(), 4u);
}

TEST(PortFloodBook, AnEndpointPastItsCapEndsItsOwnOldest) {
  PortFloodBookOptions o;
  o.max_per_endpoint = 2;
  PortFloodBook book(o);
  book.apply("web-2", msg(K::kDetected, "192.0.2.20", 80, 50, 60), 900, 950, kNow);
  for (uint16_t port = 1; port <= 3; port++) {
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100 + port, 200), 1000, 1100, kNow);
  }
  EXPECT_EQ(book.activeCount(), 3u);
  EXPECT_EQ(book.find("web-1/192.0.2.10:1/101", kSeverity, 10)->ended_by, "evicted");
  EXPECT_TRUE(book.find("web-1/192.0.2.10:3/103", kSeverity, 10)->active);
  EXPECT_TRUE(book.find("web-2/192.0.2.20:80/50", kSeverity, 10)->active);
  // Severity counts endpoints under port floods: two.
  EXPECT_EQ(book.fleet(kSeverity, 10).endpoints.size(), 2u);
}

TEST(PortFloodBook, HistoryForgetsTheOldestEndFirst) {
  PortFloodBookOptions o;
  o.max_history = 2;
  PortFloodBook book(o);
  // Ended in the order 3, 1, 2 (by their end times, not their ports).
  const int64_t end_ms[] = {0, 5000, 6000, 4000};
  for (uint16_t port = 1; port <= 3; port++) {
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200), 1000, 1100, kNow);
  }
  for (uint16_t port = 1; port <= 3; port++) {
    for (const auto& id : book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 300), 1000,
                                     end_ms[port], kNow)) {
      book.saved(id);
    }
  }
  EXPECT_FALSE(book.find("web-1/192.0.2.10:3/100", kSeverity, 10).has_value());
  EXPECT_TRUE(book.find("web-1/192.0.2.10:1/100", kSeverity, 10).has_value());
  EXPECT_TRUE(book.find("web-1/192.0.2.10:2/100", kSeverity, 10).has_value());
  EXPECT_EQ(book.list(true, kSeverity, 10).size(), 2u);
  EXPECT_EQ(book.activeCount(), 0u);
}

// Review finding L6: a rogue agent's "ended" floods (unknown ones, each a new
// entry) took the fleet's whole history; the others' ended floods were
// forgotten, so a late message of one of them made it a new active flood.
TEST(PortFloodBook, ARogueEndpointCannotPushTheOthersOutOfHistory) {
  PortFloodBookOptions o;
  o.max_history = 8;
  PortFloodBook book(o);
  for (uint16_t port = 1; port <= 3; port++) {
    save(book,
         book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200), 1000, 1100, kNow));
    save(book, book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 300), 1000, 2000, kNow));
  }
  for (uint64_t i = 0; i < 100; i++) {  // newer ends than web-1's
    save(book, book.apply("rogue", msg(K::kEnded, "192.0.2.99", 443, 1000 + i, 2000 + i), 5000,
                          5000, kNow));
  }
  for (uint16_t port = 1; port <= 3; port++) {
    const std::string id = "web-1/192.0.2.10:" + std::to_string(port) + "/100";
    EXPECT_TRUE(book.find(id, kSeverity, 10).has_value()) << id << " forgotten";
  }
  // A late update of one of them (older than its end) changes nothing.
  EXPECT_TRUE(
      book.apply("web-1", msg(K::kUpdated, "192.0.2.10", 1, 100, 250), 1000, 6000, kNow).empty());
  EXPECT_EQ(book.activeCount(), 0u);
  EXPECT_EQ(book.list(true, kSeverity, 10).size(), 8u);
  // Below the fleet's bound, an endpoint's own: its oldest end goes first.
  o.max_history = 1024;
  o.max_history_per_endpoint = 4;
  PortFloodBook mine(o);
  for (uint64_t i = 0; i < 10; i++) {
    save(mine, mine.apply("rogue", msg(K::kEnded, "192.0.2.99", 443, 1000 + i, 2000 + i), 5000,
                          5000 + static_cast<int64_t>(i), kNow));
  }
  auto kept = mine.list(true, kSeverity, 10);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept[0].agent_first_ns, 1006u);
}

// Review finding L6: each new flood id is a new row in the store; an agent
// inventing floods (distinct first_ns, "ended" or not) wrote without bound.
TEST(PortFloodBook, AnEndpointsNewFloodsAreBudgeted) {
  PortFloodBookOptions o;
  PortFloodBook book(o);
  size_t created = 0;
  for (uint64_t i = 0; i < 3000; i++) {
    const K kind = i % 2 == 0 ? K::kEnded : K::kDetected;
    created += book.apply("rogue", msg(kind, "192.0.2.99", 1 + i % 4000, 1000 + i, 2000 + i), 5000,
                          5000, kNow)
                       .empty()
                   ? 0
                   : 1;
  }
  EXPECT_EQ(created, 1024u) << "past the burst, new floods come at the budget's rate";
  EXPECT_EQ(book.counters().refused, 3000u - 1024u);
  // A known flood's messages spend nothing.
  EXPECT_FALSE(
      book.apply("rogue", msg(K::kUpdated, "192.0.2.99", 2, 1001, 9000), 5000, 9000, kNow).empty());
  // Another endpoint has a budget of its own.
  EXPECT_FALSE(book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 5000, kNow)
                   .empty());
  // 60 a minute: one a second, none before.
  auto next = [&](uint64_t first_ns, int64_t now_ms) {
    return !book.apply("rogue", msg(K::kEnded, "192.0.2.99", 9, first_ns, first_ns), 5000, 5000,
                       now_ms)
                .empty();
  };
  EXPECT_FALSE(next(9001, kNow + 999));
  EXPECT_TRUE(next(9002, kNow + 1000));
  EXPECT_FALSE(next(9003, kNow + 1000));
  EXPECT_TRUE(next(9004, kNow + 4000));
  EXPECT_TRUE(next(9005, kNow + 4000));
  EXPECT_TRUE(next(9006, kNow + 4000));
  EXPECT_FALSE(next(9007, kNow + 4000));
}

// A flood changed by apply() or expire() stays in memory until the caller
// stored it (saved()): before, a flood that ended and was forgotten in the
// same batch of reports was never written, its row left "active".
TEST(PortFloodBook, AChangedFloodIsKeptUntilStored) {
  PortFloodBookOptions o;
  o.max_history = 1;
  PortFloodBook book(o);
  for (uint16_t port = 1; port <= 2; port++) {
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200), 1000, 1100, kNow);
    book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 300), 1000, 2000 + port, kNow);
  }
  EXPECT_TRUE(book.find("web-1/192.0.2.10:1/100", kSeverity, 10).has_value());
  EXPECT_TRUE(book.find("web-1/192.0.2.10:2/100", kSeverity, 10).has_value());
  book.saved("web-1/192.0.2.10:1/100");
  EXPECT_TRUE(book.find("web-1/192.0.2.10:1/100", kSeverity, 10).has_value()) << "one: room";
  book.saved("web-1/192.0.2.10:2/100");
  EXPECT_FALSE(book.find("web-1/192.0.2.10:1/100", kSeverity, 10).has_value()) << "the older end";
  EXPECT_TRUE(book.find("web-1/192.0.2.10:2/100", kSeverity, 10).has_value());
  // expire() holds what it ended as well.
  book.apply("web-1", msg(K::kDetected, "192.0.2.10", 3, 100, 200), 1000, 1100, kNow);
  book.saved("web-1/192.0.2.10:3/100");
  ASSERT_EQ(book.expire(1'000'000).size(), 1u);
  EXPECT_TRUE(book.find("web-1/192.0.2.10:3/100", kSeverity, 10).has_value());
  EXPECT_TRUE(book.find("web-1/192.0.2.10:2/100", kSeverity, 10).has_value());
  book.saved("web-1/192.0.2.10:3/100");  // its end (its last message, 1,100) is the older
  EXPECT_FALSE(book.find("web-1/192.0.2.10:3/100", kSeverity, 10).has_value());
  EXPECT_TRUE(book.find("web-1/192.0.2.10:2/100", kSeverity, 10).has_value());
}

// While the store fails nothing is saved(): the ended floods waiting for it
// were held without a limit. Past max_unsaved_ended the least severe (lowest
// peak, then oldest end) is dropped, counted; active floods never are.
TEST(PortFloodBook, EndedFloodsWaitingForTheStoreAreBounded) {
  PortFloodBookOptions o;
  o.max_unsaved_ended = 4;
  PortFloodBook book(o);
  auto id = [](uint16_t port) { return "web-1/192.0.2.10:" + std::to_string(port) + "/100"; };
  for (uint16_t port = 1; port <= 10; port++) {
    const uint64_t rate = port == 2 ? 1'000'000 : port * 100u;  // port 2: the worst, and old
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200, rate), 1000, 1100, kNow);
    auto ids = book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 300, rate), 1000,
                          2000 + port, kNow);
    for (const auto& i : ids) EXPECT_TRUE(book.unsaved(i)) << i << ": not the caller's to store";
  }
  // Three running floods, the mildest of all: never dropped for it.
  for (uint16_t port = 11; port <= 13; port++) {
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200, 1), 1000, 1100, kNow);
  }
  EXPECT_EQ(book.counters().unsaved_dropped, 6u);
  EXPECT_EQ(book.unsavedCount(), 4u + 3u);
  for (uint16_t port : {2, 8, 9, 10, 11, 12, 13}) {
    EXPECT_TRUE(book.find(id(port), kSeverity, 10).has_value()) << port;
    EXPECT_TRUE(book.unsaved(id(port))) << port;
  }
  for (uint16_t port : {1, 3, 4, 5, 6, 7}) {
    EXPECT_FALSE(book.find(id(port), kSeverity, 10).has_value()) << port;
    EXPECT_FALSE(book.unsaved(id(port))) << port;
  }
  // The store is back: what was kept is stored and becomes history.
  for (uint16_t port : {2, 8, 9, 10, 11, 12, 13}) book.saved(id(port));
  EXPECT_EQ(book.unsavedCount(), 0u);
  EXPECT_TRUE(book.find(id(2), kSeverity, 10).has_value());
  // A flood held while its peak rises moves up: port 14 ends mild, then
  // its agent's later message raises its peak above the others held.
  for (uint16_t port = 14; port <= 18; port++) {
    book.apply("web-1", msg(K::kDetected, "192.0.2.10", port, 100, 200, 50), 1000, 1100, kNow);
    book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 300, 50), 1000, 3000, kNow);
    if (port == 14) {
      book.apply("web-1", msg(K::kEnded, "192.0.2.10", port, 100, 400, 9000), 1000, 3001, kNow);
    }
  }
  EXPECT_EQ(book.counters().unsaved_dropped, 7u);
  EXPECT_TRUE(book.unsaved(id(14)));
}

// Review s17 L3: a new flood refused for want of room spent its endpoint's
// token all the same.
TEST(PortFloodBook, ANewFloodRefusedForRoomSpendsNoToken) {
  PortFloodBookOptions o;
  o.max_per_endpoint = 0;  // no room for an active flood of any endpoint
  o.new_burst = 1;
  o.new_per_minute = 0;
  PortFloodBook book(o);
  EXPECT_TRUE(book.apply("web-1", msg(K::kDetected, "192.0.2.10", 443, 100, 200), 1000, 5000, kNow)
                  .empty());
  EXPECT_EQ(book.counters().dropped_full, 1u);
  // An ended one needs no room: the token is still there for it.
  EXPECT_FALSE(
      book.apply("web-1", msg(K::kEnded, "192.0.2.10", 80, 300, 400), 1000, 5000, kNow).empty());
  EXPECT_EQ(book.counters().refused, 0u);
}

}  // namespace
}  // namespace sg::console
