// The challenge (bpf/sg_challenge.h) against flows a namespace's conntrack
// really holds: a TCP connection between two of the namespace's own
// addresses (over loopback, tracked because a ct rule is loaded there), then
// the program run (BPF_PROG_TEST_RUN, the calling thread's namespace) from a
// thread inside it, so that bpf_xdp_ct_lookup finds that connection's entry.
//
// Review s18 (conntrack CLOSE-state reuse): a challenged source's third
// packet passed uncounted whenever conntrack held its flow. A connection
// aborted with a RST stays in conntrack (CLOSE) for 10 s, one closed
// gracefully 120 s (TIME_WAIT), and SYNPROXY opens the same ports' next
// connection through that entry: a flooder cycling one port pair completed
// connections uncounted past the connection threshold. Only a flow conntrack
// holds open (ESTABLISHED to LAST_ACK) is conntrack's; in a closed one a
// valid cookie is a new connection, counted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "bpf/challenge_fixture.h"
#include "lab/netns.h"

namespace sg::test {
namespace {

using lab::Netns;

constexpr const char* kClient = "192.0.2.1";
constexpr const char* kServer = "198.51.100.1";  // synSpec's IPv4 destination
constexpr uint16_t kClientPort = 41234;

class ChallengeConntrack : public Challenge {
 protected:
  void SetUp() override {
    Challenge::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    auto ns = Netns::create("chct");
    ASSERT_OK(ns);
    ns_ = std::make_unique<Netns>(std::move(*ns));
    ASSERT_OK(ns_->addAddress("lo", std::string(kClient) + "/32"));
    ASSERT_OK(ns_->addAddress("lo", std::string(kServer) + "/32"));
    // A ct expression registers conntrack's hooks in the namespace.
    ASSERT_OK(ns_->run({"nft", "add", "table", "ip", "sgct"}));
    ASSERT_OK(ns_->run(
        {"nft", "add", "chain", "ip", "sgct", "in", "{ type filter hook input priority 0 ; }"}));
    ASSERT_OK(
        ns_->run({"nft", "add", "rule", "ip", "sgct", "in", "ct", "state", "new", "counter"}));
  }
  void TearDown() override {
    for (int fd : {client_, accepted_, listener_}) {
      if (fd >= 0) close(fd);
    }
    Challenge::TearDown();
  }

  // A connection from kClient:kClientPort to kServer:kPort inside the
  // namespace (listener, connect, accept).
  void connectInside() {
    auto t = lab::startThreadIn(ns_->name(), [&] {
      sockaddr_in srv{}, cli{};
      srv.sin_family = cli.sin_family = AF_INET;
      srv.sin_port = htons(kPort);
      cli.sin_port = htons(kClientPort);
      ASSERT_EQ(inet_pton(AF_INET, kServer, &srv.sin_addr), 1);
      ASSERT_EQ(inet_pton(AF_INET, kClient, &cli.sin_addr), 1);
      const int one = 1;
      listener_ = socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_GE(listener_, 0);
      setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      ASSERT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&srv), sizeof(srv)), 0);
      ASSERT_EQ(listen(listener_, 4), 0);
      client_ = socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_GE(client_, 0);
      setsockopt(client_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      ASSERT_EQ(bind(client_, reinterpret_cast<sockaddr*>(&cli), sizeof(cli)), 0);
      ASSERT_EQ(connect(client_, reinterpret_cast<sockaddr*>(&srv), sizeof(srv)), 0);
      accepted_ = accept(listener_, nullptr, nullptr);
      ASSERT_GE(accepted_, 0);
    });
    ASSERT_OK(t);
    t->join();
  }
  // Aborts the client's side with a RST: conntrack keeps the flow in CLOSE.
  void abortClient() {
    const linger abort{1, 0};
    setsockopt(client_, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    close(client_);
    client_ = -1;
  }
  // The conntrack state of the flow from kClientPort ("" when none).
  std::string flowState() const {
    auto out = ns_->run({"cat", "/proc/net/nf_conntrack"});
    if (!out.ok()) return "";
    std::istringstream lines(*out);
    std::string line;
    const std::string want =
        "sport=" + std::to_string(kClientPort) + " dport=" + std::to_string(kPort);
    while (std::getline(lines, line)) {
      if (line.find(want) == std::string::npos) continue;
      for (const char* st : {"ESTABLISHED", "CLOSE_WAIT", "CLOSE", "TIME_WAIT", "SYN_SENT",
                             "SYN_RECV", "FIN_WAIT", "LAST_ACK"}) {
        if (line.find(std::string(" ") + st + " ") != std::string::npos) return st;
      }
      return "?";
    }
    return "";
  }
  // The program's output for `frame`, run from a thread inside the namespace.
  TestOutput runInside(const std::vector<uint8_t>& frame) {
    TestOutput out{};
    auto t = lab::startThreadIn(ns_->name(), [&] { out = run(frame); });
    EXPECT_OK(t);
    if (t.ok()) t->join();
    return out;
  }
  // One handshake through the challenge on the tracked port pair, a new ISN
  // each time: the third packet's verdict.
  uint32_t handshakeInside(uint32_t isn) {
    PacketSpec spec = synSpec(kClient, kClientPort);
    spec.seq = isn;
    const TestOutput synack = runInside(buildPacket(spec));
    EXPECT_EQ(synack.verdict, static_cast<uint32_t>(XDP_TX));
    return runInside(segmentOf(spec, synack, kAck, 0)).verdict;
  }

  std::unique_ptr<Netns> ns_;
  int listener_ = -1, client_ = -1, accepted_ = -1;
};

TEST_F(ChallengeConntrack, AValidCookieThroughAClosedFlowIsANewCompletion) {
  ASSERT_EQ(cross(kClient), 0);
  arm(kClient);
  ASSERT_NO_FATAL_FAILURE(connectInside());
  ASSERT_EQ(flowState(), "ESTABLISHED");
  // Open: the flow is conntrack's. Its segments pass uncounted, the cookie
  // unchecked (this also shows the lookup finds the namespace's entry).
  EXPECT_EQ(handshakeInside(kIsn + 1), static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 0u) << "an open flow's segment was counted";

  abortClient();
  for (int i = 0; i < 100 && flowState() != "CLOSE"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(flowState(), "CLOSE");
  // Closed: the same ports' next handshake is a completion like any other.
  EXPECT_EQ(handshakeInside(kIsn + 2), static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u)
      << "a third packet through a CLOSE conntrack entry passed uncounted";
  // A segment of the closed flow with no cookie's numbers stays conntrack's
  // (passed, as before: a late segment of the old connection).
  PacketSpec late = synSpec(kClient, kClientPort);
  late.tcp_flags = kAck;
  late.seq = kIsn + 99;
  EXPECT_EQ(runInside(buildPacket(late)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_DROPPED), 0u);
  EXPECT_EQ(counter(SG_CNT_CHAL_ACKS_VALID), 1u);

  // Cycling the port pair meets the connection threshold: the handshake that
  // takes the source over it is dropped, and the challenge is a block.
  uint32_t verdict = XDP_PASS;
  uint32_t done = 1;
  while (verdict == XDP_PASS && done <= cfg_.conn_threshold + 1) {
    verdict = handshakeInside(kIsn + 100 + done);
    if (verdict == XDP_PASS) ++done;
  }
  EXPECT_EQ(verdict, static_cast<uint32_t>(XDP_DROP))
      << "a source cycling one closed port pair was never blocked";
  EXPECT_EQ(done, cfg_.conn_threshold) << "completions before the block";
  EXPECT_EQ(counter(SG_CNT_CHAL_BLOCKED), 1u);
}

}  // namespace
}  // namespace sg::test
