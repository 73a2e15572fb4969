// Isolation with real traffic: the standard lab plus a fourth host on the
// bridge. The victim is isolated; the "console" (the lab's client host) and
// an allowlisted host keep talking to it both ways, the other peer (the lab's
// attacker host) cannot, in either direction, over TCP or ICMP, IPv4 or
// IPv6. Release restores everything; a recorded isolation comes back with
// the next Isolator on the same state directory.
#include "linux/isolation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lab/client.h"
#include "lab/lab.h"
#include "lab/netns.h"
#include "test_helpers.h"

namespace sg::lab {
namespace {

using namespace std::chrono_literals;

// A fourth host (Lab::addHost names its interface "veth-x").
inline constexpr LabHost kAlly{"veth-x", "10.200.1.4", "fd00:200:0:4::1"};
const LabHost& kConsole = kClient;
const LabHost& kPeer = kAttacker;

class IsolationLab : public ::testing::Test {
 protected:
  void SetUp() override {
    SG_REQUIRE_ROOT();
    char tmpl[] = "/tmp/sg-isolation-lab-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    state_dir_ = tmpl;
    auto lab = Lab::create();
    ASSERT_OK(lab);
    lab_ = std::move(*lab);
    auto ally = lab_->addHost("ally", kAlly.v4, kAlly.v6);
    ASSERT_OK(ally);
    ally_ = *ally;
    // A server on every host, IPv4 and IPv6.
    for (auto [ns, host] : hosts()) {
      for (const char* addr : {host->v4, host->v6}) {
        auto s = TcpServer::start(ns->name(), addr, kServerPort);
        ASSERT_OK(s);
        servers_.push_back(std::move(*s));
      }
    }
  }

  void TearDown() override {
    isolator_.reset();
    servers_.clear();
    ally_ = nullptr;
    lab_.reset();
    if (!state_dir_.empty()) std::filesystem::remove_all(state_dir_);
  }

  std::vector<std::pair<const Netns*, const LabHost*>> hosts() const {
    return {{&lab_->victim(), &kVictim},
            {&lab_->client(), &kConsole},
            {&lab_->attacker(), &kPeer},
            {ally_, &kAlly}};
  }

  IsolationSpec spec() const {
    auto s = parseIsolationSpec({kConsole.v4, kConsole.v6},
                                {std::string(kAlly.v4) + "/32", "fd00:200:0:4::/64"});
    if (!s) std::abort();
    return *s;
  }

  // An Isolator made inside the victim's namespace (its netlink socket stays there).
  Result<std::unique_ptr<Isolator>> isolatorInVictim() {
    Result<std::unique_ptr<Isolator>> r = makeError(Errc::kIo, "not run");
    auto t = startThreadIn(lab_->victim().name(), [&] {
      r = Isolator::create({state_dir_, "sg_isolation"});
    });
    if (!t.ok()) return t.error();
    t->join();
    return r;
  }

  // One TCP exchange from `from` with `to`'s server.
  static bool tcp(const Netns& from, const std::string& to, std::chrono::milliseconds wait) {
    bool ok = false;
    auto t = startThreadIn(from.name(), [&] { ok = probeOnce(to, kServerPort, wait).ok(); });
    if (!t.ok()) return false;
    t->join();
    return ok;
  }

  // Retries `tcp` for up to `within` (a fresh router answers after its DAD).
  static bool tcpWithin(const Netns& from, const std::string& to,
                        std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    do {
      if (tcp(from, to, 500ms)) return true;
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  static bool ping(const Netns& from, const std::string& to, const char* wait) {
    return from.run({"ping", "-c1", "-W", wait, to}).ok();
  }

  // TCP and ICMP, IPv4 and IPv6, both directions between the victim and
  // `ns`: the number of the 8 exchanges that succeed.
  int exchangesWith(const Netns& ns, const LabHost& host, bool expect_ok) {
    auto tcp_wait = expect_ok ? 1000ms : 300ms;
    const char* ping_wait = expect_ok ? "1" : "0.3";
    int ok = 0;
    for (auto [a, b] : {std::pair{kVictim.v4, host.v4}, std::pair{kVictim.v6, host.v6}}) {
      ok += tcp(ns, a, tcp_wait) ? 1 : 0;
      ok += tcp(lab_->victim(), b, tcp_wait) ? 1 : 0;
      ok += ping(ns, a, ping_wait) ? 1 : 0;
      ok += ping(lab_->victim(), b, ping_wait) ? 1 : 0;
    }
    return ok;
  }

  std::unique_ptr<Lab> lab_;
  const Netns* ally_ = nullptr;  // removed with the lab
  std::vector<std::unique_ptr<TcpServer>> servers_;
  std::unique_ptr<Isolator> isolator_;
  std::string state_dir_;
};

TEST_F(IsolationLab, OnlyConsoleAndAllowlistReachAnIsolatedHostUntilRelease) {
  auto iso = isolatorInVictim();
  ASSERT_OK(iso);
  isolator_ = std::move(*iso);
  // Before: everyone talks with the victim (so the drops below are isolation's).
  EXPECT_EQ(exchangesWith(lab_->attacker(), kPeer, true), 8);

  ASSERT_OK(isolator_->isolate(spec()));
  EXPECT_EQ(exchangesWith(lab_->attacker(), kPeer, false), 0) << "the peer still gets through";
  EXPECT_EQ(exchangesWith(lab_->client(), kConsole, true), 8) << "the console lost contact";
  EXPECT_EQ(exchangesWith(*ally_, kAlly, true), 8) << "the allowlisted host lost contact";

  ASSERT_OK(isolator_->release());
  EXPECT_EQ(exchangesWith(lab_->attacker(), kPeer, true), 8) << "release did not restore";
}

TEST_F(IsolationLab, OpenConnectionsWithOtherPeersAreCutAllowlistedOnesSurvive) {
  auto iso = isolatorInVictim();
  ASSERT_OK(iso);
  isolator_ = std::move(*iso);
  // A victim-side listener and one open connection each from the peer and the ally.
  int listener = -1;
  auto t = startThreadIn(lab_->victim().name(),
                         [&] { listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
  ASSERT_OK(t);
  t->join();
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kServerPort + 1);
  ASSERT_EQ(inet_pton(AF_INET, kVictim.v4, &addr.sin_addr), 1);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);
  auto connectFrom = [&](const Netns& ns) {
    int fd = -1;
    auto c = startThreadIn(ns.name(), [&] {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        fd = -1;
      }
    });
    if (c.ok()) c->join();
    int server_side = fd >= 0 ? accept(listener, nullptr, nullptr) : -1;
    return std::pair{fd, server_side};
  };
  auto [peer_fd, peer_srv] = connectFrom(lab_->attacker());
  auto [ally_fd, ally_srv] = connectFrom(*ally_);
  ASSERT_GE(peer_srv, 0);
  ASSERT_GE(ally_srv, 0);
  // Delivered within `wait`: one byte sent from `from`, read on `to`.
  auto delivered = [](int from, int to, int wait_ms) {
    if (send(from, "x", 1, MSG_NOSIGNAL) != 1) return false;
    pollfd p{to, POLLIN, 0};
    char c = 0;
    return poll(&p, 1, wait_ms) == 1 && recv(to, &c, 1, 0) == 1;
  };
  EXPECT_TRUE(delivered(peer_fd, peer_srv, 1000));

  ASSERT_OK(isolator_->isolate(spec()));
  EXPECT_FALSE(delivered(peer_fd, peer_srv, 300)) << "an open session with the peer survived";
  EXPECT_FALSE(delivered(peer_srv, peer_fd, 300));
  EXPECT_TRUE(delivered(ally_fd, ally_srv, 1000)) << "the allowlisted session was cut";
  EXPECT_TRUE(delivered(ally_srv, ally_fd, 1000));
  for (int fd : {listener, peer_fd, peer_srv, ally_fd, ally_srv}) close(fd);
}

TEST_F(IsolationLab, RecordedIsolationComesBackWithTheNextIsolator) {
  {
    auto first = isolatorInVictim();
    ASSERT_OK(first);
    ASSERT_OK((*first)->isolate(spec()));
    EXPECT_FALSE(tcp(lab_->attacker(), kVictim.v4, 300ms));
  }
  // The agent ended (its owned table went with it): the gap until the next start.
  EXPECT_TRUE(tcp(lab_->attacker(), kVictim.v4, 1000ms));
  auto next = isolatorInVictim();
  ASSERT_OK(next);
  isolator_ = std::move(*next);
  EXPECT_TRUE(isolator_->restored());
  EXPECT_FALSE(tcp(lab_->attacker(), kVictim.v4, 300ms)) << "isolation not re-applied";
  EXPECT_TRUE(tcp(lab_->client(), kVictim.v4, 1000ms));
  // A second agent on the victim cannot take the table over.
  auto rival = isolatorInVictim();
  EXPECT_ERROR(rival, Errc::kAlreadyExists);
}

// The console behind a router that is not on the allowlist (the peer host
// routes for it): the victim must still resolve the router's link-layer
// address while isolated (ARP is never filtered; IPv6 needs the neighbour
// discovery rules), while the router itself stays cut off.
TEST_F(IsolationLab, ConsoleBehindARouterStaysReachable) {
  const Netns& router = lab_->attacker();
  const Netns& console = lab_->client();
  ASSERT_OK(console.addAddress("lo", "10.201.0.1/32"));
  ASSERT_OK(console.addAddress("lo", "fd00:201::1/128"));
  ASSERT_OK(router.setSysctl("net.ipv4.ip_forward", "1"));
  ASSERT_OK(router.setSysctl("net.ipv6.conf.all.forwarding", "1"));
  ASSERT_OK(router.ip({"route", "add", "10.201.0.0/24", "via", kConsole.v4}));
  ASSERT_OK(router.ip({"-6", "route", "add", "fd00:201::/64", "via", kConsole.v6}));
  ASSERT_OK(lab_->victim().ip({"route", "add", "10.201.0.0/24", "via", kPeer.v4}));
  ASSERT_OK(lab_->victim().ip({"-6", "route", "add", "fd00:201::/64", "via", kPeer.v6}));
  for (const char* addr : {"10.201.0.1", "fd00:201::1"}) {
    auto s = TcpServer::start(console.name(), addr, kServerPort);
    ASSERT_OK(s);
    servers_.push_back(std::move(*s));
  }
  ASSERT_TRUE(tcpWithin(lab_->victim(), "fd00:201::1", 5000ms));  // the route works

  auto iso = isolatorInVictim();
  ASSERT_OK(iso);
  isolator_ = std::move(*iso);
  auto remote = parseIsolationSpec({"10.201.0.1", "fd00:201::1"}, {});
  ASSERT_OK(remote);
  ASSERT_OK(isolator_->isolate(*remote));
  // Forget the router's link-layer address: it must be resolved again, isolated.
  ASSERT_OK(lab_->victim().ip({"neigh", "flush", "all"}));
  ASSERT_OK(lab_->victim().ip({"-6", "neigh", "flush", "all"}));
  EXPECT_TRUE(tcpWithin(lab_->victim(), "fd00:201::1", 3000ms))
      << "IPv6 console behind the router lost";
  EXPECT_TRUE(tcpWithin(lab_->victim(), "10.201.0.1", 3000ms))
      << "IPv4 console behind the router lost";
  EXPECT_FALSE(tcp(lab_->victim(), kPeer.v6, 300ms)) << "the router itself is reachable";
  EXPECT_FALSE(tcp(router, kVictim.v4, 300ms));
}

}  // namespace
}  // namespace sg::lab
