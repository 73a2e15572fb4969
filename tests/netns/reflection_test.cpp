// SYN-ACK reflection with real traffic (issue 8; bpf/sg_reflect.h,
// src/core/reflection*, src/agent/reflection_watch*), in the real topology:
// the attacker sends SYNs forging the victim's address as their source to
// four "reflector" hosts running real listeners; their kernels answer each
// with a SYN-ACK to the victim, which runs the real agent (XDP). The victim
// never opened those connections: the agent must log `reflection_detected`
// within about a second, drop the unmatched SYN-ACKs while it lasts (they no
// longer reach the victim's stack), keep the victim's own connections to a
// reflector working meanwhile (their SYN-ACKs match a socket in SYN_SENT),
// log `reflection_ended` after the attack stops and turn the drop off.
//
// The reflectors answer every SYN with a SYN cookie (tcp_syncookies = 2), as
// a server under such load does: they keep no half-open state, so their
// SYN-ACKs stop when the attacker's SYNs stop (a stateful reflector would
// retransmit each SYN-ACK for up to a minute, prolonging the reflection).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <vector>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

constexpr int kReflectors = 4;
constexpr uint64_t kSynsPerReflector = 150;  // per second: 600 SYN-ACKs/s at the victim

std::string reflectorV4(int i) { return "10.200.1." + std::to_string(10 + i); }
std::string reflectorV6(int i) { return "fd00:200:0:" + std::to_string(10 + i) + "::1"; }

class ReflectionTest : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string set;
    for (int i = 0; i < kReflectors; i++) {
      auto host = lab_->addHost("refl", reflectorV4(i), reflectorV6(i));
      ASSERT_OK(host);
      ASSERT_OK((*host)->setSysctl("net.ipv4.tcp_syncookies", "2"));
      for (const std::string& addr : {reflectorV4(i), reflectorV6(i)}) {
        auto server = TcpServer::start((*host)->name(), addr, kServerPort);
        ASSERT_OK(server);
        servers_.push_back(std::move(*server));
      }
      reflectors_.push_back(*host);
      set += (i ? ", " : "") + reflectorV4(i);
    }
    // Every SYN-ACK from a reflector that reached the victim's own stack
    // (after XDP and after any drop rule).
    auto probe =
        NftCounter::install(lab_->victim(), "sg_lab_synacks", "input",
                            "ip saddr { " + set + " } tcp flags & (fin|syn|rst|ack) == syn|ack");
    ASSERT_OK(probe);
    synacks_in_ = std::make_unique<NftCounter>(std::move(*probe));
    char dir[] = "/tmp/sg-reflection-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::remove((dir_ + "/agent.toml").c_str());
      rmdir(dir_.c_str());
    }
    LabTest::TearDown();
  }

  // The agent with a short end (1 s of quiet) to keep the test short.
  Result<std::unique_ptr<AgentProcess>> startAgent(bool drop = true,
                                                   const std::string& enforcer = "xdp") {
    const std::string path = dir_ + "/agent.toml";
    std::ofstream(path) << "reflection_end_after = \"1s\"\nreflection_drop = "
                        << (drop ? "true" : "false") << "\n";
    AgentOptions o = agentOptions(enforcer, 100000, "10s");
    o.extra = {"--config", path};
    return AgentProcess::start(o);
  }

  // SYNs "from" the victim to every reflector at once, kSynsPerReflector a
  // second each for `duration`; returns the SYNs sent.
  uint64_t reflect(std::chrono::milliseconds duration, uint64_t per_second = kSynsPerReflector,
                   bool v6 = false) {
    std::vector<std::thread> floods;
    std::atomic<uint64_t> sent{0};
    for (int i = 0; i < kReflectors; i++) {
      floods.emplace_back([&, i] {
        FloodOptions f = v6 ? singleSource(kVictim.v6, reflectorV6(i), 100000, per_second)
                            : singleSource(kVictim.v4, reflectorV4(i), 100000, per_second);
        f.duration = duration;
        auto r = runFloodIn(lab_->attacker().name(), f);
        EXPECT_OK(r);
        if (r.ok()) sent += r->sent;
      });
    }
    for (auto& t : floods) t.join();
    return sent;
  }

  uint64_t synacksIn() {
    auto n = synacks_in_->read();
    EXPECT_OK(n);
    return n.ok() ? *n : 0;
  }
  static uint64_t counter(AgentProcess& a, const char* name) {
    auto n = a.counter(name);
    EXPECT_OK(n);
    return n.ok() ? *n : 0;
  }
  // The reflection counters from one status read (one moment).
  struct Counts {
    uint64_t unmatched = 0, dropped = 0, matched = 0;
  };
  static Counts counts(AgentProcess& a) {
    auto st = a.status();
    EXPECT_OK(st);
    if (!st.ok()) return {};
    const auto& c = (*st)["counters"];
    return {c.value("synacks_unmatched_total", uint64_t{0}),
            c.value("reflection_dropped_total", uint64_t{0}),
            c.value("synacks_matched_total", uint64_t{0})};
  }

  // A reflection: detected, reported with response "none", its SYN-ACKs all
  // reaching the victim's stack.
  void expectReportedNotDropped(AgentProcess& a);

  std::vector<const Netns*> reflectors_;
  std::vector<std::unique_ptr<TcpServer>> servers_;
  std::unique_ptr<NftCounter> synacks_in_;
  std::string dir_;
};

TEST_F(ReflectionTest, AReflectionIsDetectedAndDroppedWhileTheVictimsOwnConnectionsWork) {
  // The reflectors' servers answer before anything counts (the lab pins the
  // neighbour entries: src/lab/lab.h).
  for (int i = 0; i < kReflectors; i++) {
    ASSERT_TRUE(connectsWithin(lab_->victim(), reflectorV4(i), 2s)) << reflectorV4(i);
  }
  auto agent = startAgent();
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);

  // The victim's own client: one connection to the first reflector every 50 ms.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> own_ok{0}, own_failed{0}, own_during{0};
  std::atomic<bool> during{false};
  auto own = startThreadIn(lab_->victim().name(), [&] {
    for (int i = 0; i < 300 && !stop; i++) {
      const bool ok = probeOnce(reflectorV4(0), kServerPort, 2000ms).ok();
      (ok ? own_ok : own_failed)++;
      if (ok && during) own_during++;
      std::this_thread::sleep_for(50ms);
    }
  });
  ASSERT_OK(own);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(counter(a, "synacks_unmatched_total"), 0u) << "no reflection yet";

  const size_t since = a.mark();
  const auto start = std::chrono::steady_clock::now();
  std::atomic<uint64_t> sent{0};
  std::thread attacker([&] { sent = reflect(2500ms); });
  auto detected = a.waitFor("reflection_detected", 3s, nullptr, since);
  const auto delay = std::chrono::steady_clock::now() - start;
  // From here on the drop is on: count what the rest of the attack does.
  const Counts c0 = counts(a);
  const uint64_t in0 = synacksIn();
  during = true;
  attacker.join();
  during = false;
  std::this_thread::sleep_for(100ms);  // the last SYN-ACKs in flight
  const Counts c1 = counts(a);
  const uint64_t in1 = synacksIn();

  const long long delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
  std::printf("reflection: %llu spoofed SYNs to %d reflectors; detected after %lld ms\n",
              static_cast<unsigned long long>(sent.load()), kReflectors, delay_ms);
  ASSERT_TRUE(detected.has_value()) << "no reflection_detected";
  EXPECT_LE(delay, 1200ms) << detected->dump();
  EXPECT_EQ(detected->value("response", ""), "drop") << detected->dump();
  EXPECT_EQ(detected->value("distinct_reflectors", 0), kReflectors) << detected->dump();
  EXPECT_GT(detected->value("rate", 0.0), 100.0) << detected->dump();
  for (const auto& r : (*detected)["reflectors"]) {
    const std::string src = r.value("src", "");
    EXPECT_TRUE(src.rfind("10.200.1.1", 0) == 0 && src.size() == 11) << src;
  }
  ASSERT_FALSE((*detected)["ports"].empty());
  EXPECT_EQ((*detected)["ports"][0].value("port", 0), kServerPort) << detected->dump();

  // While it lasted: every unmatched SYN-ACK dropped in XDP, none reached the
  // stack but the victim's own connections' (matched) ones.
  const uint64_t unmatched = c1.unmatched - c0.unmatched;
  const uint64_t dropped = c1.dropped - c0.dropped;
  const uint64_t reached = in1 - in0;
  const uint64_t matched = c1.matched - c0.matched;
  std::printf(
      "after detection: %llu unmatched SYN-ACKs, %llu dropped (%.1f %%); %llu reached the "
      "victim's stack, %llu matched its own connections\n",
      static_cast<unsigned long long>(unmatched), static_cast<unsigned long long>(dropped),
      unmatched ? 100.0 * static_cast<double>(dropped) / static_cast<double>(unmatched) : 0.0,
      static_cast<unsigned long long>(reached), static_cast<unsigned long long>(matched));
  EXPECT_GE(unmatched, 500u) << "the reflection went on after its detection";
  EXPECT_GE(dropped * 100, unmatched * 99) << "unmatched SYN-ACKs passed while it lasted";
  EXPECT_LE(reached, matched + unmatched / 100) << "unmatched SYN-ACKs reached the stack";
  EXPECT_GT(matched, 0u) << "the victim's own connections' SYN-ACKs were not seen";

  auto ended = a.waitFor("reflection_ended", 4s, nullptr, since);
  stop = true;
  own->join();
  ASSERT_TRUE(ended.has_value()) << "the reflection's end was not seen";
  std::printf(
      "own connections to a reflector: %llu ok (%llu during the reflection), %llu "
      "failed; ended: %s\n",
      static_cast<unsigned long long>(own_ok.load()),
      static_cast<unsigned long long>(own_during.load()),
      static_cast<unsigned long long>(own_failed.load()), ended->dump().c_str());
  EXPECT_GE(own_during, 10u) << "the victim's own connections stalled during the reflection";
  EXPECT_EQ(own_failed, 0u) << "a connection of the victim's own failed";
  EXPECT_TRUE(ended->value("response_undone", false)) << ended->dump();
  EXPECT_GE(ended->value("synacks", 0u), unmatched) << ended->dump();

  // The drop is off again: a few unmatched SYN-ACKs (under the threshold)
  // reach the stack, none is dropped.
  const uint64_t dropped_end = counter(a, "reflection_dropped_total");
  const uint64_t in_end = synacksIn();
  const uint64_t sent_after = reflect(500ms, 20);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(counter(a, "reflection_dropped_total"), dropped_end) << "the drop outlived it";
  EXPECT_GE(synacksIn() - in_end, sent_after * 9 / 10)
      << "SYN-ACKs after the end did not reach the stack (sent " << sent_after << ")";
  auto status = a.status();
  ASSERT_OK(status);
  EXPECT_TRUE((*status)["reflection"]["active"].is_null()) << status->dump();
  EXPECT_EQ((*status)["reflection"].value("detected", 0), 1) << status->dump();
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

// The same over IPv6 (the lookup's other tuple): detected, dropped, ended.
TEST_F(ReflectionTest, AnIpv6ReflectionIsDetectedDroppedAndEnded) {
  for (int i = 0; i < kReflectors; i++) {
    ASSERT_TRUE(connectsWithin(lab_->victim(), reflectorV6(i), 2s)) << reflectorV6(i);
  }
  auto agent = startAgent();
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);
  const size_t since = a.mark();
  std::thread attacker([&] { reflect(2000ms, kSynsPerReflector, true); });
  auto detected = a.waitFor("reflection_detected", 3s, nullptr, since);
  const Counts c0 = counts(a);
  attacker.join();
  std::this_thread::sleep_for(100ms);
  const Counts c1 = counts(a);
  const uint64_t unmatched = c1.unmatched - c0.unmatched;
  const uint64_t dropped = c1.dropped - c0.dropped;
  ASSERT_TRUE(detected.has_value()) << "no reflection_detected";
  std::printf("IPv6: after detection %llu unmatched SYN-ACKs, %llu dropped\n",
              static_cast<unsigned long long>(unmatched), static_cast<unsigned long long>(dropped));
  EXPECT_EQ(detected->value("distinct_reflectors", 0), kReflectors) << detected->dump();
  EXPECT_NE((*detected)["reflectors"][0].value("src", "").find("fd00:200:0:1"), std::string::npos)
      << detected->dump();
  EXPECT_GE(unmatched, 300u);
  EXPECT_GE(dropped * 100, unmatched * 99);
  EXPECT_TRUE(connectsWithin(lab_->victim(), reflectorV6(0), 1s)) << "own IPv6 connection";
  auto ended = a.waitFor("reflection_ended", 4s, nullptr, since);
  EXPECT_TRUE(ended.has_value()) << "the reflection's end was not seen";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

// reflection_drop = false: detected and reported, nothing dropped (the
// control of the drop assertions above: they can fail).
TEST_F(ReflectionTest, WithTheDropOffAReflectionIsReportedButItsSynAcksPass) {
  for (int i = 0; i < kReflectors; i++) {
    ASSERT_TRUE(connectsWithin(lab_->victim(), reflectorV4(i), 2s)) << reflectorV4(i);
  }
  auto agent = startAgent(false);
  ASSERT_OK(agent);
  expectReportedNotDropped(**agent);
}

// --enforcer none detects only: a reflection is reported, never dropped
// (as the signature drop passes, and prefix blocks are refused, there).
TEST_F(ReflectionTest, WithEnforcerNoneAReflectionIsReportedButItsSynAcksPass) {
  for (int i = 0; i < kReflectors; i++) {
    ASSERT_TRUE(connectsWithin(lab_->victim(), reflectorV4(i), 2s)) << reflectorV4(i);
  }
  auto agent = startAgent(true, "none");
  ASSERT_OK(agent);
  expectReportedNotDropped(**agent);
}

void ReflectionTest::expectReportedNotDropped(AgentProcess& a) {
  std::this_thread::sleep_for(300ms);
  const size_t since = a.mark();
  const uint64_t in0 = synacksIn();
  const uint64_t sent = reflect(1500ms);
  std::this_thread::sleep_for(100ms);
  auto detected = a.waitFor("reflection_detected", 1s, nullptr, since);
  ASSERT_TRUE(detected.has_value()) << "no reflection_detected";
  EXPECT_EQ(detected->value("response", ""), "none") << detected->dump();
  EXPECT_EQ(counter(a, "reflection_dropped_total"), 0u);
  EXPECT_GE(synacksIn() - in0, sent * 9 / 10) << "sent " << sent;
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
