// ConsoleService for the dashboard over SQLite, a fake clock and fake links:
// the live events (coalesced, diffed, removals, rate), endpoint states and
// rates, acknowledgements (persisted), a block's detail, the policy preview,
// the audit search and the timeline with its marks.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using nlohmann::json;
using test::kSec;

class ServiceWebTest : public test::ServiceFixture {
 protected:
  std::vector<LiveEvent> events() { return svc_->takeLiveEvents(); }
  // The events with each `endpoints` batch as one "endpoint" per item.
  static std::vector<LiveEvent> flat(const std::vector<LiveEvent>& evs) {
    std::vector<LiveEvent> out;
    for (const auto& e : evs) {
      if (e.type != "endpoints") {
        out.push_back(e);
        continue;
      }
      const json batch = json::parse(e.data);
      for (const auto& item : batch.at("items")) out.push_back(LiveEvent{"endpoint", item.dump()});
    }
    return out;
  }
  static size_t count(const std::vector<LiveEvent>& evs, const std::string& type) {
    size_t n = 0;
    for (const auto& e : flat(evs)) n += e.type == type ? 1 : 0;
    return n;
  }
  static json first(const std::vector<LiveEvent>& evs, const std::string& type) {
    for (const auto& e : flat(evs)) {
      if (e.type == type) return json::parse(e.data);
    }
    return nullptr;
  }
  EndpointView endpoint(const std::string& name) {
    auto all = svc_->endpoints();
    if (!all) {
      ADD_FAILURE() << all.error().message();
      return {};
    }
    for (const auto& e : *all) {
      if (e.name == name) return e;
    }
    ADD_FAILURE() << "no endpoint " << name;
    return {};
  }
  static proto::Event blocked(const char* source, uint64_t agent_ns) {
    proto::Event e = detection(source, agent_ns);
    e.kind = proto::EventKind::kBlockAdded;
    return e;
  }
  static proto::Heartbeat heartbeat(uint64_t agent_ns, uint64_t attempts, uint64_t dropped) {
    proto::Heartbeat hb;
    hb.agent_time_ns = agent_ns;
    hb.counters = {{"attempts_total", attempts}, {"dropped_total", dropped}};
    return hb;
  }
};

TEST_F(ServiceWebTest, AFloodThatChangesManyTimesIsOneEvent) {
  auto web1 = enrollAgent("web-1");
  auto conn = connect(web1);
  events();  // primes: what exists now is not news
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    sendFrom(conn, proto::Report{seq, 0, {detection("192.0.2.7", (500 + seq) * kSec)}});
  }
  auto evs = events();
  EXPECT_EQ(count(evs, "flood"), 1u);
  json f = first(evs, "flood");
  EXPECT_EQ(f["source"], "192.0.2.7");
  EXPECT_EQ(f["acknowledged_by"], nullptr);
  EXPECT_EQ(f["incidents"], json::array());
  EXPECT_EQ(count(evs, "endpoint"), 1u);
  EXPECT_EQ(first(evs, "endpoint")["state"], "detecting");
  EXPECT_TRUE(events().empty());  // nothing changed since
}

TEST_F(ServiceWebTest, ActionsBecomeEventsAndRemovals) {
  events();
  ASSERT_OK(svc_->block(operator_, *parsePrefix("203.0.113.0/24"), std::nullopt, "scan"));
  auto evs = events();
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["source"], "203.0.113.0/24");
  ASSERT_EQ(count(evs, "audit"), 1u);
  EXPECT_EQ(first(evs, "audit")["action"], "block");
  EXPECT_EQ(first(evs, "audit")["actor"], "olga");
  ASSERT_OK(svc_->unblock(operator_, *parsePrefix("203.0.113.0/24")));
  evs = events();
  EXPECT_EQ(first(evs, "block_removed"), (json{{"source", "203.0.113.0/24"}}));
  Policy p;
  p.name = "payments";
  p.selector = {{"dept", "payments"}};
  ASSERT_OK(svc_->setPolicy(admin_, p));
  EXPECT_EQ(first(events(), "policy")["name"], "payments");
  ASSERT_OK(svc_->deletePolicy(admin_, "payments"));
  EXPECT_EQ(first(events(), "policy_removed"), (json{{"name", "payments"}}));
}

// A block's expires_at is converted from the console's clock at every
// render: its millisecond may wobble; that is not a change worth an event.
TEST_F(ServiceWebTest, AnUnchangedTtlBlockIsNotSentAgainEverySecond) {
  events();
  ASSERT_OK(svc_->block(operator_, *parsePrefix("203.0.113.7"), std::chrono::minutes(10), ""));
  EXPECT_EQ(count(events(), "block"), 1u);
  size_t again = 0;
  for (int i = 0; i < 20; ++i) {
    advance(kSec + 1'500'000 + static_cast<uint64_t>(i) * 333'333);  // sub-millisecond parts
    svc_->tick();
    again += count(events(), "block");
  }
  EXPECT_EQ(again, 0u);
}

TEST_F(ServiceWebTest, EndpointStatesFollowFloodsIsolationAndLinks) {
  auto web1 = enrollAgent("web-1");
  auto web2 = enrollAgent("web-2");
  EXPECT_EQ(endpoint("web-1").state, "offline");
  auto c1 = connect(web1);
  auto c2 = connect(web2);
  EXPECT_EQ(endpoint("web-1").state, "quiet");
  sendFrom(c1, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  EXPECT_EQ(endpoint("web-1").state, "detecting");
  sendFrom(c1, proto::Report{2, 0, {blocked("192.0.2.7", 501 * kSec)}});
  EXPECT_EQ(endpoint("web-1").state, "blocking");
  EXPECT_EQ(endpoint("web-2").state, "quiet");
  ASSERT_OK(svc_->isolate(operator_, "web-2", "investigating"));
  EXPECT_EQ(endpoint("web-2").state, "isolated");
  svc_->agentLink()->onClose(c2, "gone");
  EXPECT_EQ(endpoint("web-2").state, "offline");
}

// With no stream open the pump renders no endpoint (a fan-out's acks change
// one per agent); the next watched call sends each that changed meanwhile,
// once, in its newest state, and no other.
TEST_F(ServiceWebTest, UnwatchedCallsRenderNoEndpointAndTheNextWatchedOneCatchesUp) {
  auto c1 = connect(enrollAgent("web-1"));
  auto c2 = connect(enrollAgent("web-2"));
  events();
  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "");
  ASSERT_OK(v);
  sendFrom(c1, proto::Ack{*v});
  auto evs = svc_->takeLiveEvents(false);
  EXPECT_EQ(count(evs, "endpoint"), 0u);
  EXPECT_EQ(count(evs, "block"), 0u);  // nor any block (the next watched call catches up)
  EXPECT_EQ(count(evs, "audit"), 1u);  // the rest still flows (the ring stays resumable)
  evs = svc_->takeLiveEvents(true);
  EXPECT_EQ(count(evs, "block"), 1u);
  ASSERT_EQ(count(evs, "endpoint"), 2u);  // both got the new policy version
  std::map<std::string, uint64_t> applied;
  for (const auto& e : flat(evs)) {
    if (e.type != "endpoint") continue;
    json j = json::parse(e.data);
    applied[j["name"].get<std::string>()] = j["applied_version"].get<uint64_t>();
  }
  EXPECT_EQ(applied["web-1"], *v);
  EXPECT_LT(applied["web-2"], *v);
  EXPECT_TRUE(svc_->takeLiveEvents(true).empty());

  sendFrom(c2, proto::Ack{*v});
  evs = svc_->takeLiveEvents(false);
  EXPECT_EQ(count(evs, "endpoint"), 0u);
  EXPECT_EQ(count(evs, "block"), 0u);
  evs = svc_->takeLiveEvents(true);
  ASSERT_EQ(count(evs, "block"), 1u);  // its applied count moved
  EXPECT_EQ(first(evs, "block")["acked"], 2);
  ASSERT_EQ(count(evs, "endpoint"), 1u);
  EXPECT_EQ(first(evs, "endpoint")["name"], "web-2");
  EXPECT_EQ(first(evs, "endpoint")["applied_version"], *v);
  EXPECT_TRUE(svc_->takeLiveEvents(true).empty());
}

// Review s16 L6: an ack marked every block dirty and every pump rendered
// every block, stream open or not (a fan-out to 10,000 agents: acks each
// pump). Now no block is rendered while nobody watches, and an ack renders
// only the blocks it acknowledged.
TEST_F(ServiceWebTest, AnAckRendersOnlyTheBlocksItAckedAndOnlyWhileWatched) {
  auto c1 = connect(enrollAgent("web-1"));
  auto c2 = connect(enrollAgent("web-2"));
  auto views = [this] {
    const std::string m = svc_->metricsText();
    const std::string name = "\nsyn_guard_console_live_block_views_total ";
    const size_t at = m.find(name);
    EXPECT_NE(at, std::string::npos);
    return std::stoull(m.substr(at + name.size()));
  };
  std::vector<uint64_t> versions;
  for (const char* src : {"203.0.113.7", "203.0.113.8", "203.0.113.9"}) {
    auto v = svc_->block(operator_, *parsePrefix(src), std::nullopt, "");
    ASSERT_OK(v);
    versions.push_back(*v);
  }
  sendFrom(c1, proto::Ack{versions[1]});  // the first two
  events();                               // primed: every block sent once
  const uint64_t before = views();
  sendFrom(c1, proto::Ack{versions[2]});  // now the third
  auto evs = svc_->takeLiveEvents(true);
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["source"], "203.0.113.9");
  EXPECT_EQ(first(evs, "block")["acked"], 1);
  EXPECT_EQ(views() - before, 1u) << "only the acked block is rendered";
  // Nobody watching: acks render nothing; the next watched call diffs all.
  sendFrom(c2, proto::Ack{versions[2]});
  EXPECT_EQ(count(svc_->takeLiveEvents(false), "block"), 0u);
  EXPECT_EQ(views() - before, 1u) << "no block rendered with no stream open";
  evs = svc_->takeLiveEvents(true);
  EXPECT_EQ(count(evs, "block"), 3u);  // each one's acked count moved
  EXPECT_EQ(views() - before, 4u);
}

// The tick rendered every block view each second while a stream was open
// (issue 6), for acked/pending counts that move only on a link's hello, ack,
// nack or drop and on a revocation; now those mark the blocks and the tick
// renders none. Revoking an endpoint with no link (no drop to mark them)
// still updates its blocks' counts at the next pump.
TEST_F(ServiceWebTest, TheTickRendersNoBlockAndARevocationUpdatesTheCounts) {
  auto c1 = connect(enrollAgent("web-1"));
  auto c2 = connect(enrollAgent("web-2"));
  auto views = [this] {
    const std::string m = svc_->metricsText();
    const std::string name = "\nsyn_guard_console_live_block_views_total ";
    const size_t at = m.find(name);
    EXPECT_NE(at, std::string::npos);
    return std::stoull(m.substr(at + name.size()));
  };
  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "");
  ASSERT_OK(v);
  sendFrom(c1, proto::Ack{*v});
  sendFrom(c2, proto::Ack{*v});
  events();  // primed
  const uint64_t before = views();
  for (int i = 0; i < 5; ++i) {
    advance(kSec);
    svc_->tick();
    EXPECT_EQ(count(svc_->takeLiveEvents(true), "block"), 0u);
  }
  EXPECT_EQ(views(), before) << "the tick rendered block views";
  // web-2's link ends (no block change: it acked), then it is revoked.
  svc_->agentLink()->onClose(c2, "gone");
  events();
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-2"));
  auto evs = svc_->takeLiveEvents(true);
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["acked"], 1);
}

TEST_F(ServiceWebTest, HeartbeatsGiveRatesATimelineAndRateEvents) {
  auto web1 = enrollAgent("web-1");
  auto conn = connect(web1);
  events();
  sendFrom(conn, heartbeat(100 * kSec, 1000, 10));
  EXPECT_FALSE(endpoint("web-1").attempts_per_s.has_value());  // one heartbeat: no rate yet
  advance(5 * kSec);
  sendFrom(conn, heartbeat(105 * kSec, 6000, 510));
  ASSERT_TRUE(endpoint("web-1").attempts_per_s.has_value());
  EXPECT_DOUBLE_EQ(*endpoint("web-1").attempts_per_s, 1000.0);
  auto evs = events();
  json rate = first(evs, "rate");
  ASSERT_TRUE(rate.is_object());
  EXPECT_DOUBLE_EQ(rate["fleet"]["attempts_per_s"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(rate["endpoints"]["web-1"]["dropped_per_s"].get<double>(), 100.0);
  // At most once a second.
  sendFrom(conn, heartbeat(106 * kSec, 7000, 510));
  EXPECT_EQ(count(events(), "rate"), 0u);
  advance(kSec);
  EXPECT_EQ(count(events(), "rate"), 1u);

  auto t = svc_->timeline("");
  ASSERT_OK(t);
  ASSERT_EQ(t->points.size(), RateTimeline::kPoints);
  ASSERT_TRUE(t->points.back().rate.has_value());
  EXPECT_FALSE(t->points.front().rate.has_value());
  EXPECT_EQ(t->points.back().at_ms % RateTimeline::kStepMs, 0);
  ASSERT_OK(svc_->timeline("web-1"));
  EXPECT_ERROR(svc_->timeline("nope"), Errc::kNotFound);
}

TEST_F(ServiceWebTest, TimelineMarksDetectionsBlocksEndsAndActions) {
  auto web1 = enrollAgent("web-1");
  auto conn = connect(web1);
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  sendFrom(conn, proto::Report{2, 0, {blocked("192.0.2.7", 501 * kSec)}});
  ASSERT_OK(svc_->block(operator_, *parsePrefix("192.0.2.7"), std::nullopt, ""));
  advance(600 * kSec);
  svc_->tick();  // the quiet flood ends
  auto t = svc_->timeline("");
  ASSERT_OK(t);
  std::vector<std::string> kinds;
  for (const auto& m : t->marks) kinds.push_back(m.kind + ":" + m.text);
  // By time: the agent's events (its clock 500 s behind the console's) come
  // before the actions made at the console's now.
  EXPECT_EQ(kinds, (std::vector<std::string>{
                       "start:192.0.2.7 estimated start", "detect:192.0.2.7 on web-1",
                       "block:192.0.2.7 blocked on web-1", "action:root: enrollment_token_create",
                       "action:olga: block 192.0.2.7", "end:192.0.2.7 ended"}));
}

// Marks sit at the real times: the detection where the agent crossed, its
// block where it blocked (0.1 s later, whenever its report arrives), and the
// estimated attack start (the window's start, 5 s before the detection) as a
// mark of its own, not as the detection.
TEST_F(ServiceWebTest, TimelineMarksSitAtTheRealTimes) {
  auto web1 = enrollAgent("web-1");
  auto conn = connect(web1);
  advance(10 * kSec);
  const uint64_t t = kStartNs + 10 * kSec;  // the agent's clock reads the console's here
  sendFrom(conn, heartbeat(t, 0, 0));
  proto::Event d = detection("192.0.2.7", t);
  d.first_attempt_ns = t - 5 * kSec;
  sendFrom(conn, proto::Report{1, 0, {d}});
  advance(3 * kSec);  // the block's report comes 3 s later
  sendFrom(conn, proto::Report{2, 0, {blocked("192.0.2.7", t + 100'000'000)}});
  auto tl = svc_->timeline("");
  ASSERT_OK(tl);
  std::map<std::string, int64_t> at;
  for (const auto& m : tl->marks) {
    if (m.flood_id) at[m.kind] = m.at_ms;
  }
  ASSERT_EQ(at.size(), 3u) << "start, detect, block";
  EXPECT_NEAR(at["detect"], wallNow() - 3000, 2);
  EXPECT_NEAR(at["detect"] - at["start"], 5000, 2);
  EXPECT_NEAR(at["block"] - at["detect"], 100, 2);
  for (size_t i = 1; i < tl->marks.size(); ++i) {
    EXPECT_LE(tl->marks[i - 1].at_ms, tl->marks[i].at_ms) << "oldest first";
  }
}

TEST_F(ServiceWebTest, AcknowledgementIsKeptOnceAndSurvivesARestart) {
  auto web1 = enrollAgent("web-1");
  auto conn = connect(web1);
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  const uint64_t id = (*svc_->floods(false))[0].flood.id;
  events();
  EXPECT_ERROR(svc_->acknowledge(viewer_, id, ""), Errc::kPermissionDenied);
  EXPECT_ERROR(svc_->acknowledge(operator_, 999, ""), Errc::kNotFound);
  auto ack = svc_->acknowledge(operator_, id, "looking");
  ASSERT_OK(ack);
  EXPECT_EQ(ack->by, "olga");
  advance(kSec);
  auto again = svc_->acknowledge(admin_, id, "");
  ASSERT_OK(again);
  EXPECT_EQ(*again, *ack);
  auto evs = events();
  EXPECT_EQ(first(evs, "flood")["acknowledged_by"], "olga");
  EXPECT_EQ(count(evs, "audit"), 2u);
  ASSERT_OK(svc_->escalate(operator_, id, "page"));
  open();  // a restart
  auto f = svc_->flood(id);
  ASSERT_OK(f);
  EXPECT_EQ(f->acknowledged_by, "olga");
  EXPECT_EQ(f->acknowledged_at_ms, ack->at_ms);
  EXPECT_EQ(f->incidents.size(), 1u);
}

TEST_F(ServiceWebTest, BlockDetailNamesWhereItStands) {
  auto web1 = enrollAgent("web-1");
  auto web2 = enrollAgent("web-2");
  enrollAgent("web-3");  // never connected: neither applied nor pending
  auto c1 = connect(web1);
  auto c2 = connect(web2);
  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "");
  ASSERT_OK(v);
  sendFrom(c1, proto::Ack{*v});
  auto d = svc_->blockDetail(*parsePrefix("203.0.113.7"));
  ASSERT_OK(d);
  EXPECT_EQ(d->applied, (std::vector<std::string>{"web-1"}));
  EXPECT_EQ(d->pending, (std::vector<std::string>{"web-2"}));
  EXPECT_TRUE(d->rejected.empty());
  EXPECT_EQ(d->view.status.acked, 1u);
  EXPECT_ERROR(svc_->blockDetail(*parsePrefix("198.51.100.1")), Errc::kNotFound);
}

// A block's applied/pending counts follow the acks as they come: the page
// showed the count from the fan-out's start (found by the fan-out profile,
// s15: blocks were marked changed at the fan-out, not at each ack).
TEST_F(ServiceWebTest, ABlocksAppliedCountFollowsEachAck) {
  auto web1 = enrollAgent("web-1");
  auto web2 = enrollAgent("web-2");
  auto c1 = connect(web1);
  auto c2 = connect(web2);
  events();
  auto v = svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "");
  ASSERT_OK(v);
  auto evs = events();
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["acked"], 0);
  EXPECT_EQ(first(evs, "block")["pending"], 2);
  sendFrom(c1, proto::Ack{*v});
  evs = events();
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["acked"], 1);
  EXPECT_EQ(first(evs, "block")["pending"], 1);
  sendFrom(c2, proto::Ack{*v});
  evs = events();
  ASSERT_EQ(count(evs, "block"), 1u);
  EXPECT_EQ(first(evs, "block")["acked"], 2);
  EXPECT_EQ(first(evs, "block")["pending"], 0);
}

TEST_F(ServiceWebTest, PolicyPreviewChangesNothing) {
  enrollAgent("web-1", {{"dept", "payments"}});
  enrollAgent("web-2", {{"dept", "payments"}});
  enrollAgent("db-1", {{"dept", "storage"}});
  Policy p;
  p.name = "payments";
  p.selector = {{"dept", "payments"}};
  p.profile.threshold = 50;
  const uint64_t before = svc_->resourceVersion();
  auto preview = svc_->previewPolicy("payments", p);
  ASSERT_OK(preview);
  ASSERT_EQ(preview->affected.size(), 2u);
  EXPECT_EQ(preview->affected[0].endpoint, "web-1");
  EXPECT_EQ(preview->affected[0].from, "default");
  EXPECT_EQ(preview->affected[0].to, "payments");
  EXPECT_EQ(preview->unchanged, 1u);
  EXPECT_TRUE(svc_->policies()->empty());
  EXPECT_EQ(svc_->resourceVersion(), before);
  ASSERT_OK(svc_->setPolicy(admin_, p));
  auto same = svc_->previewPolicy("payments", p);  // saving it again changes nobody
  EXPECT_TRUE(same->affected.empty());
  auto removal = svc_->previewPolicy("payments", std::nullopt);
  ASSERT_EQ(removal->affected.size(), 2u);
  EXPECT_EQ(removal->affected[1].to, "default");
}

TEST_F(ServiceWebTest, AuditSearchThroughTheService) {
  ASSERT_OK(svc_->block(operator_, *parsePrefix("203.0.113.7"), std::nullopt, "Payments outage"));
  ASSERT_OK(svc_->block(operator_, *parsePrefix("203.0.113.8"), std::nullopt, "other"));
  auto page = svc_->auditPage(AuditQuery{"payments", 0, uint64_t{0}, 10});
  ASSERT_OK(page);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].action, "block");
}

}  // namespace
}  // namespace sg::console
