// Port floods (protocol version 2) through ConsoleService with fake links:
// stored before the report_ack, correlated fleet-wide, shown live, kept
// across a restart, ended when quiet; and a version-1 agent keeps working.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "console/failing_store.h"
#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using test::kSec;

class ServicePortFloodTest : public test::ServiceFixture {
 protected:
  static proto::PortFloodReport pf(proto::PortFloodKind kind, const char* dst, uint64_t at_ns,
                                   uint64_t rate, const char* prefix = "198.51.100.0/24") {
    proto::PortFloodReport m;
    m.kind = kind;
    m.dst = *parsePrefix(dst);
    m.dst_port = 443;
    m.reason = "rate";
    m.rate = m.peak_rate = rate;
    m.normal_rate = 5000;  // a busy port: these rates alone stay LOW
    m.distinct_sources = 20000;
    m.completion_permille = 10;
    m.top_prefixes = {{*parsePrefix(prefix), 300}};
    m.response = "syncookies";
    m.attempts = rate * 2;
    m.first_ns = 100 * kSec;
    m.at_ns = at_ns;
    return m;
  }
  // A report of one port flood.
  static proto::Report reportOf(uint64_t seq, const proto::PortFloodReport& m) {
    return proto::Report{seq, 0, {}, {m}};
  }
  // Reopens the service over a store that fails the writes named in
  // `methods` until the test changes failing_->failing.
  void openFailing(const std::set<std::string>& methods) {
    wrap_ = [this, methods](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto f = std::make_unique<test::FailingStore>(std::move(inner));
      f->failing = methods;
      failing_ = f.get();
      return f;
    };
    open();
    ASSERT_NE(failing_, nullptr);
  }
  // The port floods in the database (`ended`: those ended too), read over a
  // connection of its own.
  std::vector<PortFloodRecord> storedPortFloods(bool ended, size_t max) {
    auto reader = SqliteStore::open(dbPath());
    EXPECT_OK(reader);
    if (!reader.ok()) return {};
    auto rows = (*reader)->listPortFloods(ended, max);
    EXPECT_OK(rows);
    return rows.ok() ? *rows : std::vector<PortFloodRecord>{};
  }
  // 1,250 ended floods (10.1.R.I) in reports `seq` to seq + 4, a minute apart:
  // the endpoint's new-flood budget (1,024 at once, then 60 a minute)
  // refills, so all come in; more than memory keeps (1,024 ended, 256 of an
  // endpoint). Returns the next report's seq.
  uint64_t sendEndedFloods(const std::shared_ptr<test::FakeConnection>& c, uint64_t seq) {
    for (int r = 0; r < 5; r++, seq++) {
      if (r > 0) advance(60 * kSec);
      proto::Report rep{seq, 0, {}, {}};
      for (int i = 0; i < 250; i++) {
        const std::string dst = "10.1." + std::to_string(r) + "." + std::to_string(i + 1);
        rep.port_floods.push_back(pf(proto::PortFloodKind::kEnded, dst.c_str(), 110 * kSec, 5));
      }
      sendFrom(c, rep);
    }
    return seq;
  }

  test::FailingStore* failing_ = nullptr;  // set by openFailing()
};

TEST_F(ServicePortFloodTest, StoredBeforeItsAckCorrelatedAndKeptAcrossARestart) {
  auto a = enrollAgent("web-1");
  auto b = enrollAgent("web-2");
  auto ca = connect(a);
  auto cb = connect(b);
  ca->take();
  cb->take();
  svc_->takeLiveEvents();
  sendFrom(ca, reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.10", 103 * kSec, 20000)));
  auto out = ca->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<proto::ReportAck>(out[0]).seq, 1u);
  // Stored by the time the ack went out.
  auto rows = storedPortFloods(false, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, "web-1/192.0.2.10:443/100000000000");
  sendFrom(cb, reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.20", 104 * kSec, 9000)));
  auto list = svc_->portFloods(false);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  // By start: web-2's began 4 s before its message, web-1's 3 s (no pong yet:
  // the message counts as now, its start by the flood's own age).
  EXPECT_EQ((*list)[0].endpoint, "web-2");
  EXPECT_EQ((*list)[0].started_at_ms, wallNow() - 4000);
  EXPECT_EQ((*list)[1].endpoint, "web-1");
  EXPECT_EQ((*list)[1].rate, 20000u);
  EXPECT_EQ((*list)[1].started_at_ms, wallNow() - 3000);
  EXPECT_EQ((*list)[1].severity, Severity::kMedium);  // two endpoints under port floods
  auto fleet = svc_->portFleet();
  ASSERT_OK(fleet);
  EXPECT_EQ(fleet->endpoints, (std::vector<std::string>{"web-1", "web-2"}));
  ASSERT_EQ(fleet->shared_prefixes.size(), 1u);
  EXPECT_EQ(fleet->shared_prefixes[0].prefix, "198.51.100.0/24");
  // Live: one event per changed flood, and the fleet.
  auto events = svc_->takeLiveEvents();
  size_t port_floods = 0, fleets = 0;
  for (const auto& e : events) {
    port_floods += e.type == "port_flood" ? 1 : 0;
    fleets += e.type == "port_fleet" ? 1 : 0;
  }
  EXPECT_EQ(port_floods, 2u);
  EXPECT_EQ(fleets, 1u);
  // The agent ends it; a restart keeps both, one ended.
  sendFrom(ca, reportOf(2, pf(proto::PortFloodKind::kEnded, "192.0.2.10", 110 * kSec, 100)));
  open();
  list = svc_->portFloods(false);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].endpoint, "web-2");
  list = svc_->portFloods(true);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_FALSE((*list)[0].active);
  EXPECT_EQ((*list)[0].ended_by, "agent");
  EXPECT_EQ((*list)[0].peak_rate, 20000u);
  std::string metrics = svc_->metricsText();
  EXPECT_NE(metrics.find("syn_guard_console_port_floods_active 1"), std::string::npos) << metrics;
}

// One endpoint, one port flood whose rate climbs over its updates (the fake
// clock's heartbeats): its severity and the fleet's rise with the rate
// against the port's learned normal of 40/s, and fall back with it; the
// endpoints' rule alone would say LOW throughout.
TEST_F(ServicePortFloodTest, SeverityRisesWithTheRateAgainstTheNormal) {
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  uint64_t seq = 0;
  auto at = [&](proto::PortFloodKind kind, uint64_t rate) {
    advance(5 * kSec);
    proto::PortFloodReport m = pf(kind, "192.0.2.10", (105 + 5 * seq) * kSec, rate);
    m.normal_rate = 40;
    sendFrom(c, reportOf(++seq, m));
    auto list = svc_->portFloods(false);
    auto fleet = svc_->portFleet();
    EXPECT_TRUE(list.ok() && list->size() == 1u && fleet.ok());
    EXPECT_EQ(fleet->severity, (*list)[0].severity) << "the fleet's is its highest flood's";
    return (*list)[0].severity;
  };
  EXPECT_EQ(at(proto::PortFloodKind::kDetected, 800), Severity::kLow);      // 20x, under 1,000/s
  EXPECT_EQ(at(proto::PortFloodKind::kUpdated, 2'000), Severity::kMedium);  // 50x normal
  EXPECT_EQ(at(proto::PortFloodKind::kUpdated, 22'000), Severity::kHigh);   // 550x
  EXPECT_EQ(at(proto::PortFloodKind::kUpdated, 150'000), Severity::kCritical);  // 3,750x
  EXPECT_EQ(at(proto::PortFloodKind::kUpdated, 9'000), Severity::kMedium);      // fell back
}

TEST(PortFloodRateSeverity, AbsoluteFloorsAndMultiplesOfTheNormal) {
  const PortFloodRateSeverity o;
  // Absolute: whatever the normal.
  EXPECT_EQ(portFloodRateSeverity(o, 9'999, 5'000), Severity::kLow);
  EXPECT_EQ(portFloodRateSeverity(o, 10'000, 5'000), Severity::kMedium);
  EXPECT_EQ(portFloodRateSeverity(o, 100'000, 50'000), Severity::kHigh);
  EXPECT_EQ(portFloodRateSeverity(o, 1'000'000, 900'000), Severity::kCritical);
  // Multiples of the normal, each from a tenth of its level's absolute rate.
  EXPECT_EQ(portFloodRateSeverity(o, 999, 0), Severity::kLow);
  EXPECT_EQ(portFloodRateSeverity(o, 1'000, 100), Severity::kMedium);
  EXPECT_EQ(portFloodRateSeverity(o, 1'000, 101), Severity::kLow);
  EXPECT_EQ(portFloodRateSeverity(o, 10'000, 100), Severity::kHigh);
  EXPECT_EQ(portFloodRateSeverity(o, 99'999, 0), Severity::kHigh);
  EXPECT_EQ(portFloodRateSeverity(o, 100'000, 100), Severity::kCritical);
  EXPECT_EQ(portFloodRateSeverity(o, UINT64_MAX, UINT64_MAX), Severity::kCritical);
  CorrelatorOptions bad;
  bad.port_flood_rate.high_rate = bad.port_flood_rate.medium_rate;
  EXPECT_ERROR(validateCorrelatorOptions(bad), Errc::kInvalidArgument);
}

TEST_F(ServicePortFloodTest, AQuietFloodEndsAndAResendChangesNothing) {
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  const auto report = reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.10", 103 * kSec, 5));
  sendFrom(c, report);
  sendFrom(c, report);  // a duplicate seq: acked, not applied again
  EXPECT_EQ(svc_->portFloods(false)->size(), 1u);
  advance(59 * kSec);
  svc_->tick();
  EXPECT_EQ(svc_->portFloods(false)->size(), 1u);
  advance(2 * kSec);
  svc_->tick();
  EXPECT_TRUE(svc_->portFloods(false)->empty());
  auto all = svc_->portFloods(true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].ended_by, "quiet");
}

TEST_F(ServicePortFloodTest, NotStoredNotAcked) {
  openFailing({"putPortFlood"});
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  c->take();
  sendFrom(c, reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.10", 103 * kSec, 5)));
  EXPECT_TRUE(c->take().empty());  // no report_ack: the agent sends it again
}

// A port flood whose write failed goes with the next write: the agent's
// resend of the report (a duplicate seq by then) is acked only once it is
// stored (before, the resend was acked and the port flood never written).
TEST_F(ServicePortFloodTest, AFailedWriteIsStoredBeforeTheResendIsAcked) {
  openFailing({"putPortFlood"});
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  c->take();
  const auto report = reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.10", 103 * kSec, 5));
  sendFrom(c, report);
  EXPECT_TRUE(c->take().empty());
  failing_->failing.clear();
  sendFrom(c, report);
  auto out = c->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<proto::ReportAck>(out[0]));
  EXPECT_EQ(storedPortFloods(false, 10).size(), 1u) << "acked but not stored";
}

// An agent that speaks only version 1 (an older agent, or the Windows agent
// before it learns version 2) gets every answer in version 1.
TEST_F(ServicePortFloodTest, AVersion1AgentIsAnsweredInVersion1) {
  auto a = enrollAgent("web-1");
  auto conn = std::make_shared<test::FakeConnection>(
      next_conn_++, net::PeerInfo{"127.0.0.1", a.name, a.cert_sha256});
  svc_->agentLink()->onOpen(conn);
  proto::Hello hello{a.name, "0.1.0", "windows", 0, 0};
  hello.protocol = 1;
  svc_->agentLink()->onText(conn, proto::encode(hello));
  svc_->agentLink()->onText(
      conn, proto::encode(proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}}, 1));
  auto raw = conn->takeRaw();
  ASSERT_GE(raw.size(), 2u);  // welcome, snapshot, report_ack
  for (const auto& text : raw) EXPECT_EQ(nlohmann::json::parse(text)["v"], 1) << text;
  EXPECT_FALSE(conn->closed());
  EXPECT_EQ(svc_->floods(false)->size(), 1u);
}

// Review finding L1: the agent's times and its clock offset are its word.
// Times at the codec's bound, a clock offset as far off as a pong can put
// it: no overflow, the newest clamped to now, the start to 30 days before.
TEST_F(ServicePortFloodTest, AbsurdAgentTimesAndOffsetsStayInRange) {
  auto a = enrollAgent("web-1");
  auto conn = connect(a);
  advance(11 * kSec);
  svc_->tick();
  const auto ping = std::get<proto::Ping>(conn->take().back());
  // RTT 0: the offset is the agent's reading minus ping.time_ns, here
  // INT64_MIN + 1000 (as far as a pong can put it without overflowing there).
  sendFrom(conn, proto::Pong{ping.nonce, ping.time_ns, (1ull << 63) + ping.time_ns + 1000});
  auto m = pf(proto::PortFloodKind::kDetected, "192.0.2.10", proto::kMaxAgentTimeNs, 20000);
  m.first_ns = 0;
  sendFrom(conn, reportOf(1, m));
  auto list = svc_->portFloods(false);
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  const int64_t now = wallNow();
  EXPECT_GE((*list)[0].last_seen_ms, 0);
  EXPECT_LE((*list)[0].last_seen_ms, now);
  EXPECT_GE((*list)[0].started_at_ms,
            (*list)[0].last_seen_ms - static_cast<int64_t>(proto::kMaxDurationMs))
      << "a start 146 years back";
}

// Review finding L6 through the service: a rogue agent reports 1,280 "ended"
// floods nobody saw begin. Before, each was a row and a history entry: the
// fleet's in-memory history became the rogue's, and web-1's late resend of
// an update revived its ended flood. Now the rogue's new floods past its
// budget are refused (counted, audited once per link) and its history is
// its own share.
TEST_F(ServicePortFloodTest, ARoguesInventedFloodsAreBudgetedAndKeepToTheirShare) {
  auto a = enrollAgent("web-1");
  auto r = enrollAgent("rogue");
  auto ca = connect(a);
  auto cr = connect(r);
  sendFrom(ca, reportOf(1, pf(proto::PortFloodKind::kDetected, "192.0.2.10", 103 * kSec, 20000)));
  sendFrom(ca, reportOf(2, pf(proto::PortFloodKind::kEnded, "192.0.2.10", 110 * kSec, 100)));
  advance(kSec);  // the rogue's ends are newer
  uint64_t first = 1000 * kSec;
  for (uint64_t seq = 1; seq <= 5; seq++) {
    proto::Report report{seq, 0, {}, {}};
    for (size_t i = 0; i < proto::kMaxPortFloods; i++, first++) {
      auto m = pf(proto::PortFloodKind::kEnded, "192.0.2.99", first + kSec, 1);
      m.first_ns = first;
      report.port_floods.push_back(m);
    }
    sendFrom(cr, report);
  }
  // web-1's resend of its update, older than the end: still ended.
  sendFrom(ca, reportOf(3, pf(proto::PortFloodKind::kUpdated, "192.0.2.10", 105 * kSec, 20000)));
  EXPECT_TRUE(svc_->portFloods(false)->empty()) << "web-1's ended flood came back to life";
  EXPECT_EQ(storedPortFloods(true, SIZE_MAX).size(), 1u + 1024u)
      << "web-1's one and the rogue's burst";
  const std::string metrics = svc_->metricsText();
  EXPECT_NE(metrics.find("syn_guard_console_port_floods_refused_total 256"), std::string::npos)
      << metrics;
  auto audit = svc_->audit(0, 100);
  ASSERT_OK(audit);
  size_t refused = 0;
  for (const auto& e : *audit) refused += e.action == "port_floods_refused" ? 1 : 0;
  EXPECT_EQ(refused, 1u) << "once per link";
}

// Review s16 M2: port floods wait in unsaved_port_floods_ for the group
// write. During a store outage the fleet's ended floods in memory turn over
// (max_history), and a flood forgotten before its write was skipped as if
// stored ("the store has its last state"), although its report was acked.
// Now the book forgets no flood before the service calls saved(id).
TEST_F(ServicePortFloodTest, AFloodForgottenFromMemoryBeforeItsWriteIsStillStored) {
  openFailing({"putPortFlood"});
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  c->take();
  // Report 1: a flood detected and ended (the store is down).
  sendFrom(c, proto::Report{1,
                            0,
                            {},
                            {pf(proto::PortFloodKind::kDetected, "10.0.0.1", 103 * kSec, 5),
                             pf(proto::PortFloodKind::kEnded, "10.0.0.1", 104 * kSec, 5)}});
  // Other floods end meanwhile (same outage), more than the memory keeps
  // (1,024 ended, 256 of an endpoint): the first would be forgotten from
  // memory; the book keeps it until it is stored.
  const uint64_t seq = sendEndedFloods(c, 2);
  EXPECT_TRUE(c->take().empty()) << "nothing stored, nothing acked";
  failing_->failing.clear();  // the store is back
  sendFrom(c, proto::Report{seq, 0, {}, {}});
  auto out = c->take();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::get<proto::ReportAck>(out.back()).seq, seq) << "reports 1.." << seq << " acked";
  const auto rows = storedPortFloods(true, 100000);
  EXPECT_EQ(rows.size(), 1 + 5 * 250u);
  auto first = std::find_if(rows.begin(), rows.end(), [](const PortFloodRecord& r) {
    return r.id == "web-1/10.0.0.1:443/100000000000";
  });
  ASSERT_NE(first, rows.end()) << "report 1's flood was acked but never stored";
  EXPECT_FALSE(first->active);
}

// A flood that ends quiet while memory is full of newer ended floods would
// be forgotten by the same expiry that ended it (its end is the oldest): it
// is kept until stored, and stored as ended, not left active in the store.
TEST_F(ServicePortFloodTest, AFloodEndedQuietAndForgottenAtOnceIsStoredAsEnded) {
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  sendFrom(c, reportOf(1, pf(proto::PortFloodKind::kDetected, "10.0.0.1", 103 * kSec, 5)));
  advance(30 * kSec);
  sendEndedFloods(c, 2);
  advance(31 * kSec);
  sendFrom(c, proto::Heartbeat{6 * kSec, 0, 0, {}});  // the link lives; the flood is quiet
  svc_->tick();
  auto reader = SqliteStore::open(dbPath());
  ASSERT_OK(reader);
  auto row = (*reader)->getPortFlood("web-1/10.0.0.1:443/100000000000");
  ASSERT_OK(row);
  EXPECT_FALSE(row->active) << "ended quiet in memory, still active in the store";
}

// While the store fails, ended port floods wait for it in memory: past
// max_unsaved_ended the least severe are dropped, counted in the metrics, and
// said once in the audit log when the store takes writes again; the most
// severe are stored.
TEST_F(ServicePortFloodTest, EndedFloodsWaitingForAFailingStoreAreBoundedAndSaid) {
  options_.port_floods.max_unsaved_ended = 5;
  openFailing({});
  auto a = enrollAgent("web-1");
  auto c = connect(a);
  c->take();
  failing_->failing = {"putPortFlood", "appendAudit"};
  proto::Report rep{1, 0, {}, {}};
  for (uint64_t i = 1; i <= 20; i++) {  // floods of rising rates, each ended
    const std::string dst = "10.1.0." + std::to_string(i);
    rep.port_floods.push_back(pf(proto::PortFloodKind::kDetected, dst.c_str(), 103 * kSec, i));
    rep.port_floods.push_back(pf(proto::PortFloodKind::kEnded, dst.c_str(), 104 * kSec, i));
  }
  sendFrom(c, rep);
  EXPECT_TRUE(c->take().empty()) << "nothing stored, nothing acked";
  auto metric = [this](const std::string& name) {
    const std::string m = svc_->metricsText();
    const std::string key = "\nsyn_guard_console_" + name + " ";
    const size_t at = m.find(key);
    EXPECT_NE(at, std::string::npos) << name;
    return at == std::string::npos ? 0 : std::stoull(m.substr(at + key.size()));
  };
  EXPECT_EQ(metric("port_floods_unsaved"), 5u);
  EXPECT_EQ(metric("port_floods_unsaved_dropped_total"), 15u);
  svc_->tick();               // the audit log fails too: said later
  failing_->failing.clear();  // the store is back
  sendFrom(c, proto::Report{2, 0, {}, {}});
  auto out = c->take();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::get<proto::ReportAck>(out.back()).seq, 2u);
  std::set<std::string> stored;
  for (const auto& r : storedPortFloods(true, 1000)) stored.insert(r.id);
  std::set<std::string> severest;
  for (int i = 16; i <= 20; i++)
    severest.insert("web-1/10.1.0." + std::to_string(i) + ":443/100000000000");
  EXPECT_EQ(stored, severest);
  EXPECT_EQ(metric("port_floods_unsaved"), 0u);
  svc_->tick();
  svc_->tick();
  auto audit = svc_->audit(0, 1000);
  ASSERT_OK(audit);
  size_t said = 0;
  for (const auto& e : *audit) {
    if (e.action != "port_floods_dropped_unsaved") continue;
    ++said;
    EXPECT_EQ(e.actor, "console");
    EXPECT_NE(e.details.find("15 ended port floods"), std::string::npos) << e.details;
  }
  EXPECT_EQ(said, 1u) << "said once";
}

}  // namespace
}  // namespace sg::console
