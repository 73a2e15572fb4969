// The agent's local servers against its event loop: a control client or a
// scraper that stalls (never sends, never reads, sends half a request) must
// neither delay the handling of kernel events nor other clients. The loop runs
// for real on a thread, over a fake sensor whose events wake it through an
// eventfd.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "agent/agent.h"
#include "agent/fake_sensor.h"
#include "core/fake_isolation.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

using namespace std::chrono_literals;

// FakeSensor behind a mutex (the test thread feeds it while the loop reads it)
// with an eventfd that wakes the loop when events wait.
class LoopSensor final : public SensorPort {
 public:
  LoopSensor() : efd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~LoopSensor() override { ::close(efd_); }

  void push(const sg_event& e) {
    std::lock_guard<std::mutex> lock(mu_);
    fake_.pending.push_back(e);
    uint64_t one = 1;
    (void)!::write(efd_, &one, sizeof one);
  }
  void addBlocks(size_t n, uint64_t expires_ns) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < n; i++) {
      BlockEntry e;
      e.key.b[0] = 10;
      e.key.b[1] = static_cast<uint8_t>(i >> 16);
      e.key.b[2] = static_cast<uint8_t>(i >> 8);
      e.key.b[3] = static_cast<uint8_t>(i);
      e.block.expires_ns = expires_ns;
      fake_.blocks.push_back(e);
    }
  }
  int handled() const { return handled_.load(); }

  template <typename F>
  decltype(auto) locked(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    return f();
  }

  Result<void> setConfig(const sg_config& c) override {
    return locked([&] { return fake_.setConfig(c); });
  }
  Result<void> setAllowlist(const std::vector<Prefix>& a) override {
    return locked([&] { return fake_.setAllowlist(a); });
  }
  Result<sg_counters> readCounters() override {
    return locked([&] { return fake_.readCounters(); });
  }
  Result<std::vector<BlockEntry>> listBlocks() override {
    return locked([&] { return fake_.listBlocks(); });
  }
  Result<void> addBlock(const sg_addr& k, const sg_block& b) override {
    return locked([&] { return fake_.addBlock(k, b); });
  }
  Result<bool> removeBlock(const sg_addr& k) override {
    return locked([&] { return fake_.removeBlock(k); });
  }
  Result<void> markHandedOff(const sg_addr& k) override {
    return locked([&] { return fake_.markHandedOff(k); });
  }
  Result<std::vector<BlockEntry>> sweepExpired(uint64_t now) override {
    return locked([&] { return fake_.sweepExpired(now); });
  }
  Result<size_t> sourceCount() override {
    return locked([&] { return fake_.sourceCount(); });
  }
  size_t sourceCapacity() const override { return 1024; }
  size_t blockCapacity() const override { return 1 << 20; }
  int eventsFd() override { return efd_; }
  Result<int> pollEvents(const std::function<void(const sg_event&)>& fn) override {
    uint64_t v;
    (void)!::read(efd_, &v, sizeof v);
    auto n = locked([&] { return fake_.pollEvents(fn); });
    if (n.ok()) handled_ += *n;
    return n;
  }

 private:
  std::mutex mu_;
  FakeSensor fake_;
  int efd_;
  std::atomic<int> handled_{0};
};

sg_event pressureEvent() {
  sg_event e{};
  e.type = SG_EV_PRESSURE;
  e.count = 1;
  return e;
}

// True when `fd` was closed by the other side (EOF) or got a reply; false
// while the server keeps it open and silent.
bool peerAnsweredOrClosed(int fd) {
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

Fd connectTcp(const std::string& host_port) {
  auto colon = host_port.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
  inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &sa.sin_addr);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return Fd();
  return fd;
}

class AgentServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_path_ = dir_ + "/log";
    log_file_ = std::fopen(log_path_.c_str(), "w");
    ASSERT_NE(log_file_, nullptr);
    log_ = std::make_unique<EventLog>(LogFormat::kJson, log_file_);
    config_.control_socket = dir_ + "/agent.sock";
    config_.metrics_listen = "";
  }
  void TearDown() override {
    stop();
    agent_.reset();
    log_.reset();
    if (log_file_) std::fclose(log_file_);
  }

  void start(std::unique_ptr<IsolationPort> isolation = nullptr) {
    auto sensor = std::make_unique<LoopSensor>();
    sensor_ = sensor.get();
    AgentParts parts;
    parts.sensor = std::move(sensor);
    parts.ifname = [](uint32_t) { return std::string("test0"); };
    parts.isolation = std::move(isolation);
    agent_ = std::make_unique<Agent>(config_, std::move(parts), *log_, clock_);
    thread_ = std::thread([this] { result_ = agent_->run(); });
    ready_ = waitForReady();
  }
  void stop() {
    if (!thread_.joinable()) return;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

  // The "ready" line of the log, once the loop runs (empty after 5 s).
  nlohmann::json waitForReady() {
    for (int i = 0; i < 500; i++) {
      std::ifstream in(log_path_);
      std::string line;
      while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("event", "") == "ready") return j;
      }
      std::this_thread::sleep_for(10ms);
    }
    return {};
  }

  // Pushes one event and waits (at most `limit`) until the loop handled it.
  bool eventHandledWithin(std::chrono::milliseconds limit) {
    int before = sensor_->handled();
    sensor_->push(pressureEvent());
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (sensor_->handled() > before) return true;
      std::this_thread::sleep_for(2ms);
    }
    return false;
  }

  Fd connectControl() {
    auto fd = connectUnix(config_.control_socket);
    return fd.ok() ? std::move(*fd) : Fd();
  }

  // One request over the control socket, through the agent's real dispatch.
  nlohmann::json request(const std::string& line) {
    Fd fd = connectControl();
    if (!fd.valid() || !writeAll(fd.get(), line + "\n").ok()) return {};
    auto answer = readLine(fd.get(), 1 << 20, 5000ms);
    if (!answer) return {};
    return nlohmann::json::parse(*answer, nullptr, false);
  }

  sg::test::ScratchDir scratch_{"sg-servers"};
  std::string dir_ = scratch_.path().string();
  std::string log_path_;
  std::FILE* log_file_ = nullptr;
  std::unique_ptr<EventLog> log_;
  AgentConfig config_;
  MonotonicClock clock_;
  LoopSensor* sensor_ = nullptr;
  std::unique_ptr<Agent> agent_;
  std::thread thread_;
  Result<void> result_ = Ok{};
  nlohmann::json ready_;
};

TEST_F(AgentServersTest, SilentControlClientDoesNotDelayEvents) {
  start();
  ASSERT_FALSE(ready_.empty());
  ASSERT_TRUE(eventHandledWithin(2s));
  Fd silent = connectControl();
  ASSERT_TRUE(silent.valid());
  std::this_thread::sleep_for(50ms);  // the loop has seen the connection
  ASSERT_TRUE(eventHandledWithin(5s));
  // The event was handled while the silent client was still connected: the
  // loop did not wait for it to send or to be cut off.
  EXPECT_FALSE(peerAnsweredOrClosed(silent.get()))
      << "the event waited until the silent control client was dropped";
  // And a well-behaved client is answered meanwhile.
  Fd good = connectControl();
  ASSERT_OK(writeAll(good.get(), "{\"cmd\":\"status\"}\n"));
  auto line = readLine(good.get(), 1 << 20, 5000ms);
  ASSERT_OK(line);
  EXPECT_NE(line->find("\"ok\":true"), std::string::npos) << *line;
  EXPECT_FALSE(peerAnsweredOrClosed(silent.get()));
}

TEST_F(AgentServersTest, ControlClientThatNeverReadsDoesNotStallTheLoop) {
  start();
  ASSERT_FALSE(ready_.empty());
  // Enough blocks that the answer to "blocks" (MBs) overflows the socket buffer.
  sensor_->addBlocks(40000, clock_.nowNs() + 3'600'000'000'000ull);
  Fd lazy = connectControl();
  ASSERT_TRUE(lazy.valid());
  int small = 4096;
  ::setsockopt(lazy.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_OK(writeAll(lazy.get(), "{\"cmd\":\"blocks\"}\n"));
  // The loop has rendered the answer and written what the socket takes (under
  // ASan on a loaded machine rendering 40,000 blocks alone took seconds: a
  // fixed sleep here measured that, not a stall).
  int queued = 0;
  for (auto until = std::chrono::steady_clock::now() + 60s;
       queued == 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
    ::ioctl(lazy.get(), FIONREAD, &queued);
  }
  ASSERT_GT(queued, 0) << "the loop never answered \"blocks\"";
  std::this_thread::sleep_for(100ms);  // ... as far as the socket takes it
  bool handled = eventHandledWithin(3s);
  lazy = Fd();  // unblocks a loop stuck writing to it
  EXPECT_TRUE(handled) << "the loop stalled writing to a control client that never reads";
}

TEST_F(AgentServersTest, StalledScraperDelaysNeitherOtherScrapesNorEvents) {
  config_.metrics_listen = "127.0.0.1:0";
  start();
  ASSERT_FALSE(ready_.empty());
  const std::string addr = ready_.value("metrics", "");
  ASSERT_FALSE(addr.empty()) << ready_.dump();
  // Half a request, then silence: several of them.
  std::vector<Fd> stalled;
  for (int i = 0; i < 6; i++) {
    stalled.push_back(connectTcp(addr));
    ASSERT_TRUE(stalled.back().valid());
    ASSERT_OK(writeAll(stalled.back().get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  }
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(eventHandledWithin(5s));
  Fd good = connectTcp(addr);
  ASSERT_TRUE(good.valid());
  ASSERT_OK(writeAll(good.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string all;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(good.get(), buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
  EXPECT_NE(all.find("200 OK"), std::string::npos) << all;
  EXPECT_NE(all.find("\nsyn_guard_agent_events_handled_total "), std::string::npos) << all;
  // Answered while every stalled scraper was still connected and waiting.
  for (auto& s : stalled) {
    EXPECT_FALSE(peerAnsweredOrClosed(s.get())) << "a scrape waited for a stalled scraper";
  }
}

}  // namespace
}  // namespace sg::agent

namespace sg::agent {
namespace {

// isolate/release reach the IsolationPort through the agent's request
// dispatch; status reports the isolation; the configured allowlist is added.
TEST_F(AgentServersTest, IsolateStatusReleaseThroughTheControlSocket) {
  config_.allow = {Prefix{*parseAddress("198.51.100.0"), 24}};
  auto fake = std::make_unique<FakeIsolation>();
  FakeIsolation* iso = fake.get();
  start(std::move(fake));
  ASSERT_FALSE(ready_.empty());
  EXPECT_EQ(ready_["isolation"]["isolated"], false);
  EXPECT_EQ(request(R"({"cmd":"status"})")["isolation"]["isolated"], false);

  auto on = request(R"({"cmd":"isolate","console":["192.0.2.10","2001:db8::10"]})");
  ASSERT_EQ(on.value("ok", false), true) << on.dump();
  EXPECT_EQ(iso->isolate_calls, 1);
  auto status = request(R"({"cmd":"status"})");
  ASSERT_EQ(status.value("ok", false), true) << status.dump();
  const auto& s = status["isolation"];
  EXPECT_EQ(s["isolated"], true) << status.dump();
  EXPECT_EQ(s["console"], nlohmann::json({"192.0.2.10", "2001:db8::10"})) << s.dump();
  EXPECT_EQ(s["allow"], nlohmann::json({"198.51.100.0/24"})) << s.dump();

  auto off = request(R"({"cmd":"release"})");
  ASSERT_EQ(off.value("ok", false), true) << off.dump();
  EXPECT_EQ(iso->release_calls, 1);
  EXPECT_EQ(request(R"({"cmd":"status"})")["isolation"]["isolated"], false);
}

TEST_F(AgentServersTest, BadIsolationRequestsAreClearErrors) {
  auto fake = std::make_unique<FakeIsolation>();
  FakeIsolation* iso = fake.get();
  start(std::move(fake));
  ASSERT_FALSE(ready_.empty());
  auto none = request(R"({"cmd":"isolate","console":[]})");
  EXPECT_EQ(none.value("ok", true), false);
  EXPECT_NE(none.value("error", "").find("console"), std::string::npos) << none.dump();
  auto bad = request(R"({"cmd":"isolate","console":["192.0.2.999"]})");
  EXPECT_EQ(bad.value("ok", true), false);
  EXPECT_NE(bad.value("error", "").find("192.0.2.999"), std::string::npos) << bad.dump();
  auto all = request(R"({"cmd":"isolate","console":["192.0.2.1"],"allow":["0.0.0.0/0"]})");
  EXPECT_EQ(all.value("ok", true), false) << all.dump();
  EXPECT_EQ(iso->isolate_calls, 0);
  EXPECT_FALSE(iso->isolated());
  // The port's own failure is passed on.
  iso->fail_next = Error(Errc::kIo, "netlink said no");
  auto failed = request(R"({"cmd":"isolate","console":["192.0.2.1"]})");
  EXPECT_NE(failed.value("error", "").find("netlink said no"), std::string::npos) << failed.dump();
  EXPECT_EQ(request(R"({"cmd":"status"})")["isolation"]["isolated"], false);
}

TEST_F(AgentServersTest, AgentWithoutIsolationSaysSo) {
  start();
  ASSERT_FALSE(ready_.empty());
  auto r = request(R"({"cmd":"isolate","console":["192.0.2.1"]})");
  EXPECT_EQ(r.value("ok", true), false);
  EXPECT_NE(r.value("error", "").find("without isolation"), std::string::npos) << r.dump();
}

}  // namespace
}  // namespace sg::agent
