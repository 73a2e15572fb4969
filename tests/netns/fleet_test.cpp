// The fleet scenario, end to end with real processes: a real console
// (`syn-guard console`, SQLite) and four real agents (XDP, each in its own
// namespace with a TCP server), enrolled with one-time tokens, and a real
// attacker. Everything an operator sees is read through the console's REST
// API over TLS; everything an agent does is checked on the wire (an nftables
// probe after the agent's drops counts what reached the host).
//
// One test walks the whole story in order, since each step builds on the
// state the one before left (and a fresh fleet costs seconds):
//   1. a flood on three endpoints is one HIGH flood naming the three;
//   2. Block Globally reaches all four, and the fourth, never attacked,
//      drops the attacker from its first SYN;
//   3. isolate and release an endpoint;
//   4. a policy change reaches the endpoints it selects, live;
//   5. the console killed with SIGKILL and started again has lost no flood
//      or block; the agents reconnect and resync; an agent that detected a
//      flood while the console was down delivers it afterwards.
//
// The second test runs the fleet on two consoles sharing one PostgreSQL
// database (a fresh one on the server of scripts/pg-test-server.sh,
// SYNGUARD_TEST_PG_URL, reached from the lab through a TcpRelay: the lab
// keeps no route out), ep1-ep2 linked to console A, ep3-ep4 to console B, and
// every action sent to the console the affected agents are not linked to.
#include "lab/fleet.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "lab/agent_process.h"
#include "lab/client.h"
#include "lab/console_process.h"
#include "lab/flood.h"
#include "lab/lab.h"
#include "lab/relay.h"
#include "test_helpers.h"
#ifdef SYNGUARD_WITH_POSTGRES
#include "console/pg_test_db.h"
#endif

namespace sg::lab {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr size_t kEndpoints = 4;
constexpr uint16_t kPort = 8080;
constexpr uint32_t kThreshold = 50;

std::string endpointName(size_t i) { return "ep" + std::to_string(i + 1); }

// The items of a list reply ({"items": [...]}).
const Json& items(const Json& list) {
  static const Json kEmpty = Json::array();
  return list.is_object() && list.contains("items") ? list["items"] : kEmpty;
}

const Json* findBy(const Json& list, const std::string& key, const std::string& value) {
  for (const auto& item : items(list)) {
    if (item.value(key, "") == value) return &item;
  }
  return nullptr;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    auto lab = FleetLab::create(kEndpoints);
    ASSERT_OK(lab);
    lab_ = std::move(*lab);
    ConsoleOptions co;
    co.netns = lab_->console().name();
    co.listen = std::string(kFleetConsoleIp) + ":8443";
    auto console = ConsoleProcess::start(co);
    ASSERT_OK(console);
    console_ = std::move(*console);
    for (size_t i = 0; i < kEndpoints; ++i) {
      auto server = TcpServer::start(lab_->endpoint(i).name(), FleetLab::endpointIp(i), kPort);
      ASSERT_OK(server);
      servers_.push_back(std::move(*server));
      // ep1..ep3 serve payments; ep4 is a web server (the policy step selects it).
      std::string dept = i < 3 ? "payments" : "web";
      auto token = console_->enrollmentToken("org=acme,type=server,dept=" + dept);
      ASSERT_OK(token);
      AgentOptions ao;
      ao.netns = lab_->endpoint(i).name();
      ao.interfaces = {kFleetEndpointDev};
      ao.threshold = kThreshold;
      ao.window = "5s";
      ao.block = "60s";
      ao.extra = {"--console", console_->url(), "--enroll", *token, "--name", endpointName(i)};
      auto agent = AgentProcess::start(ao);
      ASSERT_OK(agent);
      agents_.push_back(std::move(*agent));
    }
  }

  // Waits until every endpoint is online and runs the version it should.
  bool fleetInSync(std::chrono::milliseconds timeout) {
    return console_
        ->waitApi(
            "/v1/endpoints",
            [](const Json& list) {
              size_t synced = 0;
              for (const auto& ep : items(list)) {
                if (ep.value("online", false) &&
                    ep.value("applied_version", 0ull) == ep.value("policy_version", 1ull)) {
                  ++synced;
                }
              }
              return synced == kEndpoints;
            },
            timeout)
        .has_value();
  }

  Result<FloodStats> flood(size_t endpoint, const std::string& src, uint64_t count) {
    FloodOptions f;
    f.src = src;
    f.dst = FleetLab::endpointIp(endpoint);
    f.dst_port = kPort;
    f.count = count;
    f.rate = 5000;
    f.duration = 5s;
    return runFloodIn(lab_->attacker().name(), f);
  }

  // Can `from` open a connection to endpoint `to`'s server?
  bool connects(const Netns& from, size_t to) {
    Result<std::chrono::microseconds> r = makeError(Errc::kIo, "not run");
    auto t =
        startThreadIn(from.name(), [&] { r = probeOnce(FleetLab::endpointIp(to), kPort, 1000ms); });
    if (!t.ok()) return false;
    t->join();
    return r.ok();
  }

  std::unique_ptr<FleetLab> lab_;
  std::unique_ptr<ConsoleProcess> console_;
  std::vector<std::unique_ptr<TcpServer>> servers_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

TEST_F(FleetTest, FloodBlockIsolatePolicyAndConsoleRestart) {
  ASSERT_TRUE(fleetInSync(20s)) << "the four agents did not all come online in sync";

  // 1. One source floods three endpoints: one flood, HIGH, naming the three.
  for (size_t i = 0; i < 3; ++i) ASSERT_OK(flood(i, kFleetAttackerIp, 3 * kThreshold));
  auto floods = console_->waitApi(
      "/v1/floods",
      [](const Json& list) {
        const Json* f = findBy(list, "source", kFleetAttackerIp);
        return f != nullptr && (*f)["endpoints"].size() == 3;
      },
      10s);
  ASSERT_TRUE(floods) << "no flood from the attacker on three endpoints";
  const Json& f = *findBy(*floods, "source", kFleetAttackerIp);
  EXPECT_EQ(f.value("severity", ""), "HIGH") << f.dump();
  EXPECT_EQ(f.value("state", ""), "BLOCK") << f.dump();  // each agent blocked it locally
  EXPECT_TRUE(f.value("active", false));
  EXPECT_EQ(items(*floods).size(), 1u) << floods->dump();

  // 2. Block Globally: every endpoint applies it, and the fourth drops the
  // attacker from its very first SYN although it never saw it attack.
  auto probe = SynProbe::install(lab_->endpoint(3), {kFleetAttackerIp});
  ASSERT_OK(probe);
  auto blocked =
      console_->api("POST", "/v1/blocks", {{"source", kFleetAttackerIp}, {"reason", "fleet test"}});
  ASSERT_OK(blocked);
  ASSERT_LT(blocked->status, 300) << blocked->text;
  ASSERT_TRUE(console_->waitApi(
      "/v1/blocks",
      [](const Json& list) {
        const Json* b = findBy(list, "source", kFleetAttackerIp);
        return b != nullptr && b->value("acked", 0) == static_cast<int>(kEndpoints);
      },
      5s))
      << "the global block was not acknowledged by all four endpoints";
  ASSERT_OK(flood(3, kFleetAttackerIp, 20));
  auto delivered = probe->read(kFleetAttackerIp);
  ASSERT_OK(delivered);
  EXPECT_EQ(*delivered, 0u) << "SYNs of a globally blocked source reached the fourth endpoint";

  // 3. Isolate ep2: another endpoint can no longer reach it, the console can.
  ASSERT_TRUE(connects(lab_->endpoint(2), 1)) << "ep3 -> ep2 before isolation";
  auto iso = console_->api("POST", "/v1/endpoints/ep2/isolate", {{"reason", "fleet test"}});
  ASSERT_OK(iso);
  ASSERT_LT(iso->status, 300) << iso->text;
  ASSERT_TRUE(fleetInSync(5s));
  EXPECT_FALSE(connects(lab_->endpoint(2), 1)) << "ep3 -> ep2 while ep2 is isolated";
  EXPECT_TRUE(connects(lab_->console(), 1)) << "console -> ep2 while ep2 is isolated";
  auto rel = console_->api("POST", "/v1/endpoints/ep2/release");
  ASSERT_OK(rel);
  ASSERT_LT(rel->status, 300) << rel->text;
  ASSERT_TRUE(fleetInSync(5s));
  EXPECT_TRUE(connects(lab_->endpoint(2), 1)) << "ep3 -> ep2 after release";

  // 4. A policy for the web department reaches ep4 (and only ep4), live.
  auto pol = console_->api("PUT", "/v1/policies/web-strict",
                           {{"selector", {{"dept", "web"}}},
                            {"flood_threshold", 20},
                            {"flood_window", "5s"},
                            {"block_duration", "30s"}});
  ASSERT_OK(pol);
  ASSERT_LT(pol->status, 300) << pol->text;
  ASSERT_TRUE(fleetInSync(5s));
  auto eps = console_->api("GET", "/v1/endpoints");
  ASSERT_OK(eps);
  for (size_t i = 0; i < kEndpoints; ++i) {
    const Json* ep = findBy(eps->body, "name", endpointName(i));
    ASSERT_NE(ep, nullptr) << eps->text;
    EXPECT_EQ(ep->value("policy", ""), i == 3 ? "web-strict" : "default") << ep->dump();
  }
  auto status = agents_[3]->status();
  ASSERT_OK(status);
  EXPECT_EQ(status->value("threshold", 0), 20)
      << "ep4's agent does not run the new threshold: " << status->dump();
  auto other = agents_[0]->status();
  ASSERT_OK(other);
  EXPECT_EQ(other->value("threshold", 0), static_cast<int>(kThreshold)) << other->dump();

  // 5. SIGKILL the console; meanwhile ep3 sees a new source flood it. The
  // console comes back with its flood and block, the agents resync, and ep3
  // delivers the detection it queued.
  const std::string second_source = "10.200.9.3";
  console_->kill();
  ASSERT_OK(flood(2, second_source, 3 * kThreshold));
  ASSERT_TRUE(agents_[2]->waitFor("block_added", 5s, [&](const Json& e) {
    return e.value("src", "") == second_source;
  })) << "ep3 did not block the second source while the console was down";
  ASSERT_OK(console_->restart());
  ASSERT_TRUE(fleetInSync(30s)) << "the agents did not reconnect and resync";
  auto after = console_->waitApi(
      "/v1/floods",
      [&](const Json& list) {
        return findBy(list, "source", kFleetAttackerIp) != nullptr &&
               findBy(list, "source", second_source) != nullptr;
      },
      10s);
  EXPECT_TRUE(after) << "a flood was lost across the restart or the queued one never arrived";
  auto blocks = console_->api("GET", "/v1/blocks");
  ASSERT_OK(blocks);
  EXPECT_NE(findBy(blocks->body, "source", kFleetAttackerIp), nullptr) << blocks->text;
}

// ---- two consoles on PostgreSQL -------------------------------------------------

constexpr size_t kOnA = 2;  // ep1, ep2 on console A; ep3, ep4 on console B

class FleetScaleOutTest : public FleetTest {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
#ifndef SYNGUARD_WITH_POSTGRES
    if (sg::test::inCi()) FAIL() << "CI=true: built without PostgreSQL";
    GTEST_SKIP() << "built without PostgreSQL";
#else
    const std::string why = console::test::pgTestUnavailable();
    if (!why.empty()) {
      if (sg::test::inCi()) FAIL() << "CI=true: " << why;
      GTEST_SKIP() << why << " (with CI=true this fails)";
    }
    auto db = console::test::PgTestDb::create();
    ASSERT_OK(db);
    db_ = std::move(*db);
    auto lab = FleetLab::create(kEndpoints);
    ASSERT_OK(lab);
    lab_ = std::move(*lab);
    // postgres://user:pw@HOST:PORT/db -> the relay on the console namespace's loopback.
    const std::string& url = db_->url();
    const size_t at = url.rfind('@');
    const size_t slash = url.find('/', at);
    const size_t colon = url.rfind(':', slash);
    ASSERT_TRUE(at != std::string::npos && slash != std::string::npos && colon > at) << url;
    std::string host = url.substr(at + 1, colon - at - 1);
    if (host == "localhost") host = "127.0.0.1";
    const auto port = static_cast<uint16_t>(std::stoi(url.substr(colon + 1, slash - colon - 1)));
    RelayOptions ro;
    ro.listen_netns = lab_->console().name();
    ro.target_host = host;
    ro.target_port = port;
    auto relay = TcpRelay::start(ro);
    ASSERT_OK(relay);
    relay_ = std::move(*relay);
    const std::string lab_url =
        url.substr(0, at + 1) + "127.0.0.1:" + std::to_string(relay_->port()) + url.substr(slash);

    ConsoleOptions a;
    a.netns = lab_->console().name();
    a.listen = std::string(kFleetConsoleIp) + ":8443";
    a.db = lab_url;
    auto ca = ConsoleProcess::start(a);
    ASSERT_OK(ca);
    console_ = std::move(*ca);
    // B: the same CA, server certificate and admin token (copied, as an
    // operator deploys a second console), its own port, the same database.
    char tmpl[] = "/tmp/sg-console-b-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    data_b_ = tmpl;
    std::filesystem::copy(console_->dataDir(), data_b_,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    ConsoleOptions b = a;
    b.listen = std::string(kFleetConsoleIp) + ":8444";
    b.data = data_b_;
    auto cb = ConsoleProcess::start(b);
    ASSERT_OK(cb);
    console_b_ = std::move(*cb);

    for (size_t i = 0; i < kEndpoints; ++i) {
      auto server = TcpServer::start(lab_->endpoint(i).name(), FleetLab::endpointIp(i), kPort);
      ASSERT_OK(server);
      servers_.push_back(std::move(*server));
      ConsoleProcess& home = consoleOf(i);
      std::string dept = i < 3 ? "payments" : "web";
      auto token = home.enrollmentToken("org=acme,type=server,dept=" + dept);
      ASSERT_OK(token);
      AgentOptions ao;
      ao.netns = lab_->endpoint(i).name();
      ao.interfaces = {kFleetEndpointDev};
      ao.threshold = kThreshold;
      ao.window = "5s";
      ao.block = "60s";
      ao.extra = {"--console", home.url(), "--enroll", *token, "--name", endpointName(i)};
      auto agent = AgentProcess::start(ao);
      ASSERT_OK(agent);
      agents_.push_back(std::move(*agent));
    }
#endif
  }
  void TearDown() override {
    agents_.clear();
    console_b_.reset();
    console_.reset();
    relay_.reset();
    if (!data_b_.empty()) std::filesystem::remove_all(data_b_);
#ifdef SYNGUARD_WITH_POSTGRES
    db_.reset();
#endif
  }

  ConsoleProcess& consoleOf(size_t endpoint) { return endpoint < kOnA ? *console_ : *console_b_; }
  ConsoleProcess& otherConsoleOf(size_t endpoint) {
    return endpoint < kOnA ? *console_b_ : *console_;
  }

  // Each console sees its own two agents online at the version it wants.
  bool bothInSync(std::chrono::milliseconds timeout) {
    for (ConsoleProcess* c : {console_.get(), console_b_.get()}) {
      const bool ok =
          c->waitApi(
               "/v1/endpoints",
               [](const Json& list) {
                 size_t synced = 0;
                 for (const auto& ep : items(list)) {
                   if (ep.value("online", false) &&
                       ep.value("applied_version", 0ull) == ep.value("policy_version", 1ull)) {
                     ++synced;
                   }
                 }
                 return synced == kOnA;
               },
               timeout)
              .has_value();
      if (!ok) return false;
    }
    return true;
  }

  std::unique_ptr<ConsoleProcess> console_b_;
  std::unique_ptr<TcpRelay> relay_;
  std::string data_b_;
#ifdef SYNGUARD_WITH_POSTGRES
  std::unique_ptr<console::test::PgTestDb> db_;
#endif
};

TEST_F(FleetScaleOutTest, TwoConsolesOnPostgresServeOneFleet) {
  ASSERT_TRUE(bothInSync(30s)) << "the agents did not all come online on their consoles";

  // 1. The attacker floods ep1 (console A), ep3 and ep4 (console B): one
  // flood, the same on both consoles, HIGH, naming the three.
  for (size_t i : {0, 2, 3}) ASSERT_OK(flood(i, kFleetAttackerIp, 3 * kThreshold));
  uint64_t flood_id = 0;
  for (ConsoleProcess* c : {console_.get(), console_b_.get()}) {
    auto floods = c->waitApi(
        "/v1/floods",
        [](const Json& list) {
          const Json* f = findBy(list, "source", kFleetAttackerIp);
          return f != nullptr && (*f)["endpoints"].size() == 3;
        },
        10s);
    ASSERT_TRUE(floods) << "console " << c->url() << ": no one flood on three endpoints";
    EXPECT_EQ(items(*floods).size(), 1u) << floods->dump();
    const Json& f = *findBy(*floods, "source", kFleetAttackerIp);
    EXPECT_EQ(f.value("severity", ""), "HIGH") << f.dump();
    if (flood_id == 0) flood_id = f.value("id", 0ull);
    EXPECT_EQ(f.value("id", 0ull), flood_id) << "two consoles, two floods";
  }

  // 2. Block Globally through B reaches ep1 and ep2 on A (acked by all), and
  // ep2, never attacked, drops the attacker from its first SYN.
  auto probe = SynProbe::install(lab_->endpoint(1), {kFleetAttackerIp});
  ASSERT_OK(probe);
  auto blocked = console_b_->api("POST", "/v1/blocks",
                                 {{"source", kFleetAttackerIp}, {"reason", "scale-out test"}});
  ASSERT_OK(blocked);
  ASSERT_LT(blocked->status, 300) << blocked->text;
  for (ConsoleProcess* c : {console_.get(), console_b_.get()}) {
    EXPECT_TRUE(c->waitApi(
        "/v1/blocks",
        [](const Json& list) {
          const Json* b = findBy(list, "source", kFleetAttackerIp);
          return b != nullptr && b->value("acked", 0) == static_cast<int>(kOnA);
        },
        5s))
        << "console " << c->url() << ": its agents did not all acknowledge the block";
  }
  ASSERT_OK(flood(1, kFleetAttackerIp, 20));
  auto delivered = probe->read(kFleetAttackerIp);
  ASSERT_OK(delivered);
  EXPECT_EQ(*delivered, 0u) << "SYNs of a block made on B reached ep2 on A";

  // 3. Isolate ep3 (on B) through A, then release it through A.
  ASSERT_TRUE(connects(lab_->endpoint(3), 2)) << "ep4 -> ep3 before isolation";
  auto iso = otherConsoleOf(2).api("POST", "/v1/endpoints/ep3/isolate", {{"reason", "test"}});
  ASSERT_OK(iso);
  ASSERT_LT(iso->status, 300) << iso->text;
  ASSERT_TRUE(bothInSync(5s));
  EXPECT_FALSE(connects(lab_->endpoint(3), 2)) << "ep4 -> ep3 while ep3 is isolated";
  auto rel = otherConsoleOf(2).api("POST", "/v1/endpoints/ep3/release");
  ASSERT_OK(rel);
  ASSERT_LT(rel->status, 300) << rel->text;
  ASSERT_TRUE(bothInSync(5s));
  EXPECT_TRUE(connects(lab_->endpoint(3), 2)) << "ep4 -> ep3 after release";

  // 4. A policy set on A reaches ep4 on B, live.
  auto pol = console_->api("PUT", "/v1/policies/web-strict",
                           {{"selector", {{"dept", "web"}}},
                            {"flood_threshold", 20},
                            {"flood_window", "5s"},
                            {"block_duration", "30s"}});
  ASSERT_OK(pol);
  ASSERT_LT(pol->status, 300) << pol->text;
  ASSERT_TRUE(bothInSync(5s));
  bool applied = false;
  for (int i = 0; i < 50 && !applied; ++i) {
    auto status = agents_[3]->status();
    applied = status.ok() && status->value("threshold", 0) == 20;
    if (!applied) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(applied) << "ep4 (on B) does not run the policy set on A";
  auto other = agents_[0]->status();
  ASSERT_OK(other);
  EXPECT_EQ(other->value("threshold", 0), static_cast<int>(kThreshold)) << other->dump();
}

}  // namespace
}  // namespace sg::lab
