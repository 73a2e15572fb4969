// The signature drop with real traffic (issue 8; bpf/sg_sig*.h,
// src/core/signature*, src/agent/signature_responder*): a spoofed-source SYN
// flood whose SYNs all share a tool's shape (no TCP option, window 0: the
// real spoofed capture's) at the victim's port, while a legitimate client
// (the client namespace's own Linux stack) keeps connecting. The agent must
// detect the port flood, choose and install a signature, drop at least 95 %
// of the flood's SYNs after that in XDP (they never reach the victim's
// stack), serve every client connection, and remove the signature when the
// flood ends (the same SYNs reach the stack again). The fail-safe: a flood
// shaped like the normal clients (Linux's own SYN) gets no signature.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <vector>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

// The flood's sources: a /17 of the lab range away from its hosts (no route
// back: the victim's answers to them go nowhere).
constexpr const char* kSpoofed = "10.200.128.0/17";
constexpr const char* kSpoofed6 = "fd00:200:8000::/33";

class SignatureTest : public LabTest {
 protected:
  void SetUp() override {
    LabTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto probe = SynProbe::install(lab_->victim(), {kSpoofed, kSpoofed6});
    ASSERT_OK(probe);
    probe_ = std::make_unique<SynProbe>(std::move(*probe));
  }
  AgentOptions options() const {
    // Per-source blocking out of the way; the flood's end judged after 1 s.
    AgentOptions o = agentOptions("xdp", 100000, "10s");
    o.extra = {"--port-flood-end-after", "1s"};
    return o;
  }
  static FloodOptions flood(SynShape shape, uint64_t rate, std::chrono::milliseconds duration,
                            bool v6 = false) {
    FloodOptions f;
    f.spoof_cidr = v6 ? kSpoofed6 : kSpoofed;
    f.dst = v6 ? kVictim.v6 : kVictim.v4;
    f.dst_port = kServerPort;
    f.rate = rate;
    f.count = rate * 10;
    f.duration = duration;
    f.shape = shape;
    return f;
  }
  static auto portIs(uint16_t port) {
    return [port](const nlohmann::json& e) { return e.value("dst_port", 0) == port; };
  }
  static auto actionIs(const std::string& action) {
    return [action](const nlohmann::json& e) { return e.value("action", "") == action; };
  }
  uint64_t reached(const char* prefix = kSpoofed) {
    auto n = probe_->read(prefix);
    EXPECT_OK(n);
    return n.ok() ? *n : 0;
  }
  static uint64_t counter(AgentProcess& a, const char* name) {
    auto n = a.counter(name);
    EXPECT_OK(n);
    return n.ok() ? *n : 0;
  }

  // The legitimate client: the client namespace's own stack, one connection
  // every 50 ms (2 s each: room for one retransmitted SYN on a loaded machine).
  void startClient() {
    auto t = startThreadIn(lab_->client().name(), [this] {
      for (int i = 0; i < 400 && !stop_client_; i++) {
        auto r = probeOnce(kVictim.v4, kServerPort, 2000ms);
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (r.ok()) {
            latencies_us_.push_back(static_cast<double>(r->count()));
          } else {
            failures_.push_back(r.error().message());
          }
        }
        std::this_thread::sleep_for(50ms);
      }
    });
    ASSERT_OK(t);
    client_ = std::move(*t);
  }
  void stopClient() {
    stop_client_ = true;
    if (client_.joinable()) client_.join();
  }
  void TearDown() override {
    stopClient();
    LabTest::TearDown();
  }

  std::unique_ptr<SynProbe> probe_;
  std::thread client_;
  std::atomic<bool> stop_client_{false};
  std::mutex mu_;
  std::vector<double> latencies_us_;
  std::vector<std::string> failures_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST_F(SignatureTest, AFingerprintedSpoofedFloodIsDroppedBySignatureWhileClientsAreServed) {
  auto agent = AgentProcess::start(options());
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  startClient();
  // The port's normal: its client's SYNs for a while before the flood.
  std::this_thread::sleep_for(1500ms);

  const size_t since = a.mark();
  const auto start = std::chrono::steady_clock::now();
  std::atomic<uint64_t> progress{0};
  FloodOptions f = flood(SynShape::kBare, 5000, 3000ms);
  f.progress = &progress;
  Result<FloodStats> stats = makeError(Errc::kIo, "not run");
  std::thread flooder([&] { stats = runFloodIn(lab_->attacker().name(), f); });
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  auto installed = a.waitFor("port_flood_signature", 3s, actionIs("installed"), since);
  const auto chosen_after = std::chrono::steady_clock::now() - start;
  // From the installation on, count the flood's SYNs: sent, reaching the stack, matched.
  const uint64_t matched0 = counter(a, "signature_matched_total");
  const uint64_t sent0 = progress;
  const uint64_t reached0 = reached();
  flooder.join();
  ASSERT_OK(stats);
  std::this_thread::sleep_for(100ms);  // the last SYNs in flight
  const uint64_t sent1 = progress;
  const uint64_t reached1 = reached();
  const uint64_t matched1 = counter(a, "signature_matched_total");

  ASSERT_TRUE(detected.has_value()) << "no port_flood_detected";
  ASSERT_TRUE(installed.has_value()) << "no signature installed";
  const auto& sigs = (*installed)["signatures"];
  ASSERT_FALSE(sigs.empty()) << installed->dump();
  const uint64_t after = sent1 - sent0;
  const uint64_t passed = reached1 - reached0;
  const double share_dropped =
      after ? 1.0 - static_cast<double>(passed) / static_cast<double>(after) : 0.0;
  std::printf(
      "flood: %s; detected at %s ms after its start; signature %s installed after %lld ms "
      "(coverage %.3f, normal share %.5f)\n",
      stats->json().c_str(), detected->value("since_first_ms", nlohmann::json()).dump().c_str(),
      sigs.dump().c_str(),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(chosen_after).count()),
      installed->value("coverage", 0.0), installed->value("normal_share", 0.0));
  std::printf(
      "after the choice: %llu flood SYNs sent, %llu reached the victim's stack, %llu "
      "matched the signature: %.2f %% dropped\n",
      static_cast<unsigned long long>(after), static_cast<unsigned long long>(passed),
      static_cast<unsigned long long>(matched1 - matched0), 100.0 * share_dropped);
  for (const auto& s : sigs) {
    const std::string d = s.get<std::string>();
    EXPECT_NE(d.find("opts=-"), std::string::npos) << d;
    EXPECT_NE(d.find("win=0"), std::string::npos) << d;
  }
  EXPECT_GE(after, 2000u) << "the flood went on after the choice";
  EXPECT_GE(share_dropped, 0.95) << "of the flood's SYNs after the choice";
  EXPECT_GE(static_cast<double>(matched1 - matched0), 0.95 * static_cast<double>(after))
      << "the drop was not the signature's";
  EXPECT_GT(reached0, 0u) << "the probe saw none of the flood before the choice";

  auto ended = a.waitFor("port_flood_ended", 5s, portIs(kServerPort), since);
  ASSERT_TRUE(ended.has_value()) << "the flood's end was not seen";
  auto status = a.status();
  ASSERT_OK(status);
  EXPECT_TRUE((*status)["port_floods"]["signatures"].empty()) << status->dump();
  // Removed from the kernel too: the same SYNs, a few under the floor, all
  // reach the stack and none matches.
  const uint64_t matched_end = counter(a, "signature_matched_total");
  const uint64_t reached_end = reached();
  auto late = runFloodIn(lab_->attacker().name(), flood(SynShape::kBare, 200, 500ms));
  ASSERT_OK(late);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(counter(a, "signature_matched_total"), matched_end) << "the signature outlived it";
  EXPECT_GE(reached() - reached_end, late->sent * 95 / 100) << late->json();

  stopClient();
  std::lock_guard<std::mutex> lock(mu_);
  const size_t ok = latencies_us_.size();
  const size_t total = ok + failures_.size();
  std::printf("client: %zu of %zu connections ok (%.1f %%), p50 %.2f ms, p99 %.2f ms%s%s\n", ok,
              total, total ? 100.0 * static_cast<double>(ok) / static_cast<double>(total) : 0.0,
              percentile(latencies_us_, 0.5) / 1000, percentile(latencies_us_, 0.99) / 1000,
              failures_.empty() ? "" : "; first failure: ",
              failures_.empty() ? "" : failures_.front().c_str());
  EXPECT_GE(ok, 40u);
  EXPECT_TRUE(failures_.empty()) << "every client connection must succeed";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

// The same over IPv6: its own fingerprint (family, header), its own drop.
TEST_F(SignatureTest, AnIpv6FingerprintedFloodIsDroppedBySignature) {
  auto agent = AgentProcess::start(options());
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  std::this_thread::sleep_for(300ms);
  const size_t since = a.mark();
  std::atomic<uint64_t> progress{0};
  FloodOptions f = flood(SynShape::kBare, 5000, 2000ms, true);
  f.progress = &progress;
  Result<FloodStats> stats = makeError(Errc::kIo, "not run");
  std::thread flooder([&] { stats = runFloodIn(lab_->attacker().name(), f); });
  auto installed = a.waitFor("port_flood_signature", 3s, actionIs("installed"), since);
  const uint64_t sent0 = progress;
  const uint64_t reached0 = reached(kSpoofed6);
  flooder.join();
  ASSERT_OK(stats);
  std::this_thread::sleep_for(100ms);
  const uint64_t after = progress - sent0;
  const uint64_t passed = reached(kSpoofed6) - reached0;
  ASSERT_TRUE(installed.has_value()) << "no signature installed";
  std::printf("IPv6: signature %s; after it %llu sent, %llu reached the stack\n",
              (*installed)["signatures"].dump().c_str(), static_cast<unsigned long long>(after),
              static_cast<unsigned long long>(passed));
  EXPECT_EQ((*installed)["signatures"][0].get<std::string>().rfind("v6 opts=-", 0), 0u)
      << installed->dump();
  EXPECT_GE(after, 1000u);
  EXPECT_LE(passed * 20, after) << "under 95 % of the flood dropped";
  EXPECT_GT(reached0, 0u) << "the probe saw none of the flood before the choice";
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

// The fail-safe: a flood shaped like the port's normal clients (Linux's own
// SYN layout) is detected but gets no signature: the chooser refuses, and
// nothing is dropped by one.
TEST_F(SignatureTest, AFloodShapedLikeTheNormalClientsGetsNoSignature) {
  auto agent = AgentProcess::start(options());
  ASSERT_OK(agent);
  AgentProcess& a = **agent;
  startClient();
  std::this_thread::sleep_for(1500ms);
  const size_t since = a.mark();
  Result<FloodStats> stats = makeError(Errc::kIo, "not run");
  std::thread flooder(
      [&] { stats = runFloodIn(lab_->attacker().name(), flood(SynShape::kLinux, 5000, 2000ms)); });
  auto detected = a.waitFor("port_flood_detected", 3s, portIs(kServerPort), since);
  auto refused = a.waitFor("port_flood_signature", 3s, actionIs("refused"), since);
  flooder.join();
  ASSERT_OK(stats);
  ASSERT_TRUE(detected.has_value()) << "no port_flood_detected";
  ASSERT_TRUE(refused.has_value()) << "no refusal";
  std::printf("flood %s: %s\n", stats->json().c_str(), refused->dump().c_str());
  EXPECT_EQ(detected->value("response", "").find("signature"), std::string::npos)
      << detected->dump();
  a.mark();
  EXPECT_TRUE(a.eventsNamed("port_flood_signature").size() == 1u) << "only the refusal";
  EXPECT_EQ(counter(a, "signature_matched_total"), 0u);
  EXPECT_EQ(a.stop(), 0) << a.process().stderrText();
}

}  // namespace
}  // namespace sg::lab::test
