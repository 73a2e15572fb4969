// A dashboard open on a 10,000-endpoint console while a Block Globally fans
// out to every agent: the service's live events through a real EventHub to a
// stream that reads what each pump queued (as a page does). Before, each
// endpoint view was an event of its own: the fan-out's ~20,000 (each agent's
// desired version, then its ack) overran the stream's unsent bytes at once
// (the page was cut off) and the ring's 10,000 events (its resume was reset).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "console/service_test_fixture.h"
#include "console/web_events.h"

namespace sg::console {
namespace {

using nlohmann::json;

class ServiceWebFanoutTest : public test::ServiceFixture {
 protected:
  static constexpr size_t kAgents = 10'000;

  // Endpoints written straight to the store (enrolling 10,000 would sign
  // 10,000 certificates), then the console opened over them.
  void SetUp() override {
    ServiceFixture::SetUp();
    {
      auto store = SqliteStore::open(dbPath());
      ASSERT_OK(store);
      for (size_t i = 0; i < kAgents; i++) {
        EndpointRecord r;
        r.name = name(i);
        r.labels = {{"org", "acme"}, {"dept", i % 2 == 0 ? "payments" : "web"}};
        r.credential_hash = "cred-" + r.name;
        r.enrolled_at_ms = wallNow();
        ASSERT_OK((*store)->putEndpoint(r));
      }
    }
    open();
  }
  static std::string name(size_t i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "ep-%05zu", i);
    return buf;
  }
  std::shared_ptr<test::FakeConnection> link(size_t i) {
    auto conn = std::make_shared<test::FakeConnection>(
        next_conn_++, net::PeerInfo{"127.0.0.1", name(i), "cred-" + name(i)});
    svc_->agentLink()->onOpen(conn);
    sendFrom(conn, proto::Hello{name(i), "0.1.0", "linux", 0, 0});
    conn->take();
    return conn;
  }
  // One pump (web_routes' every 100 ms), then the page reads its stream:
  // the endpoint items it got, by name -> applied_version.
  size_t pump(EventHub& hub, EventStream& stream, std::map<std::string, uint64_t>& page) {
    const uint64_t before = hub.seq();
    hub.publish(svc_->takeLiveEvents(hub.streams() > 0));
    bool done = false;
    const std::string text = stream.take(&done);
    EXPECT_FALSE(done) << "the page's stream was cut off";
    for (size_t at = text.find("event: endpoints\ndata: "); at != std::string::npos;
         at = text.find("event: endpoints\ndata: ", at + 1)) {
      const size_t from = text.find("data: ", at) + 6;
      const json batch = json::parse(text.substr(from, text.find('\n', from) - from));
      for (const auto& e : batch["items"]) {
        page[e["name"].get<std::string>()] = e["applied_version"].get<uint64_t>();
      }
    }
    advance(100'000'000);
    return hub.seq() - before;
  }
};

TEST_F(ServiceWebFanoutTest, ABlockGloballyTo10000AgentsKeepsAWatchingPageLive) {
  std::vector<std::shared_ptr<test::FakeConnection>> conns;
  for (size_t i = 0; i < kAgents; i++) conns.push_back(link(i));
  auto hub = EventHub::create(clock_, EventHubOptions{}, 0x7f3a9c01);
  auto stream = hub->open("", "1", [] { return true; });
  ASSERT_OK(stream);
  std::map<std::string, uint64_t> page;
  pump(*hub, **stream, page);  // hello; the console primes: what exists is not news
  const uint64_t start = hub->seq();

  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "fleet-wide");
  ASSERT_OK(v);
  size_t pumps = 0;
  // The acks come in over 2 s, 500 a pump.
  for (size_t i = 0; i < kAgents; i++) {
    conns[i]->take();
    sendFrom(conns[i], proto::Ack{*v});
    if (i % 500 == 499) {
      pump(*hub, **stream, page);
      ++pumps;
    }
  }
  // Then the page catches up within a few more seconds.
  auto applied = [&] {
    size_t n = 0;
    for (const auto& [name, version] : page) n += version == *v ? 1 : 0;
    return n;
  };
  while (applied() < kAgents && pumps < 200) {
    pump(*hub, **stream, page);
    ++pumps;
  }
  EXPECT_EQ(applied(), kAgents) << "after " << pumps << " pumps";
  EXPECT_LT(pumps, 80u) << "the page saw the whole fan-out in under 8 s";
  EXPECT_EQ(hub->counters().slow_closed.load(), 0u);
  const uint64_t events = hub->seq() - start;
  EXPECT_LT(events, hub->options().ring_events / 20) << "the fan-out's events fill the ring";
  EXPECT_EQ(hub->ringSize(), hub->seq()) << "every event of it still resumable by count";
  // Quiet again: no endpoint event.
  EXPECT_EQ(pump(*hub, **stream, page), 0u);
}

// One endpoint per pump: the endpoints take turns by name, so one that keeps
// changing cannot hold the others back, and each goes in its newest state.
class ServiceWebPacingTest : public test::ServiceFixture {
 protected:
  void SetUp() override {
    options_.live_endpoint_bytes = 1;  // at least one view per pump
    ServiceFixture::SetUp();
  }
  // The names in this pump's `endpoints` event and their applied versions.
  std::vector<std::pair<std::string, uint64_t>> pump() {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& e : svc_->takeLiveEvents(true)) {
      EXPECT_NE(e.type, "endpoint") << "endpoints come batched";
      if (e.type != "endpoints") continue;
      const json batch = json::parse(e.data);
      for (const auto& i : batch["items"]) {
        out.emplace_back(i["name"].get<std::string>(), i["applied_version"].get<uint64_t>());
      }
    }
    return out;
  }
};

TEST_F(ServiceWebPacingTest, EndpointsTakeTurnsInTheirNewestState) {
  auto c1 = connect(enrollAgent("web-1"));
  auto c2 = connect(enrollAgent("web-2"));
  auto c3 = connect(enrollAgent("web-3"));
  pump();  // primes
  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "");
  ASSERT_OK(v);
  using Items = std::vector<std::pair<std::string, uint64_t>>;
  EXPECT_EQ(pump(), (Items{{"web-1", 0}}));
  sendFrom(c1, proto::Ack{*v});  // web-1 changes again: it waits for its turn
  EXPECT_EQ(pump(), (Items{{"web-2", 0}}));
  sendFrom(c2, proto::Ack{*v});
  EXPECT_EQ(pump(), (Items{{"web-3", 0}}));
  EXPECT_EQ(pump(), (Items{{"web-1", *v}}));
  EXPECT_EQ(pump(), (Items{{"web-2", *v}}));
  EXPECT_TRUE(pump().empty());
}

}  // namespace
}  // namespace sg::console
