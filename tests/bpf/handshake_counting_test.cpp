// Handshake-aware per-source counting in the kernel (bpf/sg_handshake_bpf.h):
// real handshakes on loopback, from client addresses of their own
// (127.77.0.x), credit their source through the sock:inet_sock_set_state
// tracepoint; test-run SYNs from the same addresses are then judged by their
// half-open count against the flood threshold and by all their attempts
// against the connection threshold.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "bpf/kernel_fixture.h"
#include "sg_handshake.h"

namespace sg::test {
namespace {

class HandshakeCountingTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    if (!sensor_->handshakesVisible()) GTEST_SKIP() << sensor_->handshakeNote();
    sg_config c = testConfig();  // threshold 5 per 60 s
    c.conn_threshold = 20;
    setConfig(c);
  }

  // `n` real connections from `client` (bound to it) to a loopback listener
  // of `family` (AF_INET, or AF_INET6 on :: accepting IPv4: dual stack).
  void connectFrom(const std::string& client, int n, int family = AF_INET) {
    const int ls = socket(family, SOCK_STREAM, 0);
    ASSERT_GE(ls, 0);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_any;
      len = sizeof *a;
    }
    ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&ss), len), 0);
    ASSERT_EQ(listen(ls, 64), 0);
    ASSERT_EQ(getsockname(ls, reinterpret_cast<sockaddr*>(&ss), &len), 0);
    const uint16_t port = family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port;
    for (int i = 0; i < n; i++) {
      const int c = socket(AF_INET, SOCK_STREAM, 0);
      ASSERT_GE(c, 0);
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ASSERT_EQ(inet_pton(AF_INET, client.c_str(), &from.sin_addr), 1);
      ASSERT_EQ(bind(c, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = port;
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
      const int s = accept(ls, nullptr, nullptr);
      ASSERT_GE(s, 0);
      close(s);
      close(c);
    }
    close(ls);
  }

  // Sends new SYNs from `src` until one is dropped (at most `limit`);
  // returns how many passed.
  int passedBeforeDrop(const std::string& src, int limit) {
    for (int i = 0; i < limit; i++) {
      if (send(newSyn(src)) == XDP_DROP) return i;
    }
    return limit;
  }

  const KernelBlock* blockOf(const std::vector<KernelBlock>& blocks, const std::string& src) {
    const sg_addr k = keyOf(src);
    for (const KernelBlock& b : blocks) {
      if (std::memcmp(b.key.b, k.b, 16) == 0) return &b;
    }
    return nullptr;
  }
};

TEST_F(HandshakeCountingTest, CompletedHandshakesLetTheirSourcePassTheFloodThreshold) {
  const uint64_t credited = counter(SG_CNT_SRC_COMPLETIONS);
  connectFrom("127.77.0.1", 10);
  EXPECT_GE(counter(SG_CNT_SRC_COMPLETIONS) - credited, 10u);
  // Attempts minus 10 completions over 5: the 16th SYN is the crossing one.
  EXPECT_EQ(passedBeforeDrop("127.77.0.1", 19), 15);
  EXPECT_GE(counter(SG_CNT_HALF_OPEN_CREDITED), 10u);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, SG_EV_BLOCK_ADDED);
  EXPECT_EQ(events[0].reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(events[0].count, 6u) << "the half-open estimate";
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  const KernelBlock* b = blockOf(*blocks, "127.77.0.1");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->block.flags & SG_BLK_HALF_OPEN);
  EXPECT_EQ(counter(SG_CNT_FLAGGED_HALF_OPEN), 1u);
}

TEST_F(HandshakeCountingTest, ASourceThatNeverCompletesIsBlockedAtTheFloodThreshold) {
  connectFrom("127.77.0.2", 10);  // credit for someone else
  EXPECT_EQ(passedBeforeDrop("127.77.0.3", 10), 5);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, SG_REASON_HALF_OPEN);
  EXPECT_EQ(counter(SG_CNT_HALF_OPEN_CREDITED), 0u);
}

TEST_F(HandshakeCountingTest, AConnectionFloodIsBlockedAtTheConnectionThreshold) {
  connectFrom("127.77.0.4", 30);  // more completions than the 20 allowed
  EXPECT_EQ(passedBeforeDrop("127.77.0.4", 40), 20);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, SG_REASON_CONNECTIONS);
  EXPECT_EQ(events[0].count, 21u);
  auto blocks = sensor_->listBlocks();
  ASSERT_OK(blocks);
  const KernelBlock* b = blockOf(*blocks, "127.77.0.4");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->block.flags & SG_BLK_CONNECTIONS);
  EXPECT_EQ(counter(SG_CNT_FLAGGED_CONNECTIONS), 1u);
}

TEST_F(HandshakeCountingTest, ADualStackListenerCreditsTheIpv4ClientUnderItsIpv4Key) {
  connectFrom("127.77.0.5", 10, AF_INET6);
  EXPECT_EQ(passedBeforeDrop("127.77.0.5", 19), 15);
}

TEST_F(HandshakeCountingTest, OffEveryAttemptCountsAndNothingIsCredited) {
  sg_config c = cfg_;
  c.conn_threshold = 0;
  setConfig(c);
  const uint64_t credited = counter(SG_CNT_SRC_COMPLETIONS);
  connectFrom("127.77.0.6", 10);
  EXPECT_EQ(counter(SG_CNT_SRC_COMPLETIONS), credited);
  EXPECT_EQ(passedBeforeDrop("127.77.0.6", 10), 5);
  auto events = drainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].reason, SG_REASON_ATTEMPTS);
}

}  // namespace
}  // namespace sg::test
