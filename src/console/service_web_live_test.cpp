// The dashboard's live stream under a fleet's steady heartbeats (issue 6):
// a heartbeat that changes nothing an operator sees renders no endpoint view
// and sends no `endpoints` item (before, every heartbeat did: ~2,000 items a
// second at 10,000 agents, and the tick rendered every view each second),
// yet a late heartbeat and an offline endpoint still show on time; and the
// `rate` event names only the rates that changed, a bounded number at a time
// (before, every endpoint that sent a heartbeat: ~140 KB a second).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "console/api_json.h"
#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using nlohmann::json;
using test::kSec;

class ServiceWebLiveTest : public test::ServiceFixture {
 protected:
  // Endpoints written straight to the store, then the console opened over them.
  void addEndpoints(size_t n) {
    {
      auto store = SqliteStore::open(dbPath());
      ASSERT_OK(store);
      for (size_t i = 0; i < n; i++) {
        EndpointRecord r;
        r.name = name(i);
        r.credential_hash = "cred-" + r.name;
        r.enrolled_at_ms = wallNow();
        ASSERT_OK((*store)->putEndpoint(r));
      }
    }
    open();
    for (size_t i = 0; i < n; i++) {
      auto conn = std::make_shared<test::FakeConnection>(
          next_conn_++, net::PeerInfo{"127.0.0.1", name(i), "cred-" + name(i)});
      svc_->agentLink()->onOpen(conn);
      sendFrom(conn, proto::Hello{name(i), "0.1.0", "linux", 0, 0});
      conns_.push_back(conn);
    }
  }
  static std::string name(size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "ep-%04zu", i);
    return buf;
  }
  // Agent i's heartbeat at agent time `at` with these counter totals.
  void heartbeat(size_t i, uint64_t at, uint64_t attempts, uint32_t active_blocks = 0) {
    proto::Heartbeat hb;
    hb.agent_time_ns = at;
    hb.active_blocks = active_blocks;
    hb.counters = {{"attempts_total", attempts}, {"dropped_total", 0}};
    sendFrom(conns_[i], hb);
  }
  uint64_t metric(const std::string& metric_name) {
    const std::string m = svc_->metricsText();
    const std::string key = "\nsyn_guard_console_" + metric_name + " ";
    const size_t at = m.find(key);
    EXPECT_NE(at, std::string::npos) << metric_name;
    return at == std::string::npos ? 0 : std::stoull(m.substr(at + key.size()));
  }
  // One pump; the endpoint items it sent (name -> item) and its rate event.
  std::map<std::string, json> pump(json* rate = nullptr) {
    std::map<std::string, json> items;
    for (const auto& e : svc_->takeLiveEvents(true)) {
      if (e.type == "endpoints") {
        const json batch = json::parse(e.data);
        for (const auto& i : batch["items"]) items[i["name"].get<std::string>()] = i;
      } else if (e.type == "rate" && rate != nullptr) {
        *rate = json::parse(e.data);
      }
    }
    return items;
  }
  std::vector<std::shared_ptr<test::FakeConnection>> conns_;
};

TEST_F(ServiceWebLiveTest, HeartbeatsThatChangeNothingVisibleRenderAndSendNothing) {
  constexpr size_t kAgents = 200;
  addEndpoints(kAgents);
  for (size_t i = 0; i < kAgents; i++) heartbeat(i, 0, 0);
  pump();  // primes
  pump();
  const uint64_t views = metric("live_endpoint_views_total");
  size_t items = 0;
  // 30 s of heartbeats every 5 s (their rate stays 0), spread over the
  // pumps as a fleet's are; ticks every second.
  for (uint64_t step = 1; step <= 300; step++) {
    advance(100'000'000);
    for (size_t i = step % 50; i < kAgents; i += 50) heartbeat(i, step * 100'000'000, 0);
    if (step % 10 == 0) svc_->tick();
    items += pump().size();
  }
  EXPECT_EQ(items, 0u) << "endpoint items sent for heartbeats alone";
  EXPECT_EQ(metric("live_endpoint_views_total") - views, 0u)
      << "endpoint views rendered for heartbeats alone";
  // What the operator does see still goes out: active blocks that moved.
  heartbeat(7, 400 * kSec, 0, 3);
  auto changed = pump();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed.begin()->second["active_blocks"], 3);
  EXPECT_EQ(changed.begin()->second["heartbeat_late"], false);
}

TEST_F(ServiceWebLiveTest, ALateHeartbeatAndAnOfflineEndpointShowOnTime) {
  addEndpoints(2);
  heartbeat(0, 0, 0);
  heartbeat(1, 0, 0);
  pump();
  const int64_t beat_ms = wallNow();
  // ep-0 keeps its link busy (pings) but sends no heartbeat: late at 15 s,
  // shown at the tick that finds it, with its last heartbeat's time.
  for (int s = 1; s <= 14; s++) {
    advance(kSec);
    sendFrom(conns_[0], proto::Ping{static_cast<uint64_t>(s), 0});
    heartbeat(1, s * kSec, 0);
    svc_->tick();
    EXPECT_TRUE(pump().empty()) << "at " << s << " s";
  }
  advance(kSec);
  sendFrom(conns_[0], proto::Ping{15, 0});
  svc_->tick();
  auto items = pump();
  ASSERT_EQ(items.size(), 1u);
  const json late = items.at(name(0));
  EXPECT_EQ(late["heartbeat_late"], true);
  EXPECT_EQ(late["online"], true);
  EXPECT_EQ(late["last_heartbeat"], api::rfc3339Ms(beat_ms));
  // Its heartbeat comes back: on time again, at once.
  heartbeat(0, 15 * kSec, 0);
  items = pump();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items.at(name(0))["heartbeat_late"], false);
  // ep-1 falls silent: offline at the tick after 30 s, with its last time.
  const int64_t last_ms = wallNow() - 1000;  // its heartbeat a second ago
  for (int s = 0; s < 30; s++) {
    advance(kSec);
    heartbeat(0, (16 + s) * kSec, 0);
    svc_->tick();
    items = pump();
    if (items.count(name(1)) != 0 && items.at(name(1))["online"] == false) break;
  }
  ASSERT_EQ(items.count(name(1)), 1u);
  EXPECT_EQ(items.at(name(1))["online"], false);
  EXPECT_EQ(items.at(name(1))["state"], "offline");
  EXPECT_EQ(items.at(name(1))["last_heartbeat"], api::rfc3339Ms(last_ms));
  EXPECT_EQ(items.count(name(0)), 0u);
}

class ServiceWebRateTest : public ServiceWebLiveTest {
 protected:
  void SetUp() override {
    options_.live_rate_bytes = 400;  // a handful of endpoints per event
    ServiceWebLiveTest::SetUp();
  }
};

TEST_F(ServiceWebRateTest, RateEventsNameChangedRatesABoundedNumberAtATime) {
  constexpr size_t kAgents = 40;
  addEndpoints(kAgents);
  for (size_t i = 0; i < kAgents; i++) heartbeat(i, 0, 0);
  pump();
  // Every endpoint's rate becomes 100 + i attempts/s: all changed.
  advance(5 * kSec);
  for (size_t i = 0; i < kAgents; i++) heartbeat(i, 5 * kSec, (100 + i) * 5);
  std::map<std::string, double> page;
  size_t events = 0;
  for (int s = 0; s < 20 && page.size() < kAgents; s++) {
    json rate;
    pump(&rate);
    advance(kSec);
    if (rate.is_null()) continue;
    ++events;
    EXPECT_DOUBLE_EQ(rate["fleet"]["attempts_per_s"].get<double>(), 40 * 100 + 39 * 40 / 2);
    const std::string eps = rate["endpoints"].dump();
    EXPECT_LE(eps.size(), 400u + 64) << "one event's endpoints";
    EXPECT_GE(rate["endpoints"].size(), 1u);
    for (const auto& [n, r] : rate["endpoints"].items()) {
      EXPECT_EQ(page.count(n), 0u) << n << " named twice for one change";
      page[n] = r["attempts_per_s"].get<double>();
    }
  }
  ASSERT_EQ(page.size(), kAgents) << "every changed rate reaches the page";
  EXPECT_GT(events, 2u) << "in several events";
  for (size_t i = 0; i < kAgents; i++) EXPECT_DOUBLE_EQ(page[name(i)], 100.0 + i);
  // The same rates again: the fleet's point, no endpoint.
  advance(5 * kSec);
  for (size_t i = 0; i < kAgents; i++) heartbeat(i, 10 * kSec, (100 + i) * 10);
  json rate;
  pump(&rate);
  ASSERT_TRUE(rate.is_object());
  EXPECT_TRUE(rate["endpoints"].empty()) << rate.dump();
  // One changes while the others wait in turn: it goes in its newest rate.
  advance(5 * kSec);
  heartbeat(3, 15 * kSec, 103 * 10 + 5 * 7);
  advance(kSec);
  heartbeat(3, 16 * kSec, 103 * 10 + 5 * 7 + 9);
  pump(&rate);
  ASSERT_EQ(rate["endpoints"].size(), 1u) << rate.dump();
  EXPECT_DOUBLE_EQ(rate["endpoints"][name(3)]["attempts_per_s"].get<double>(), 9.0);
}

}  // namespace
}  // namespace sg::console
