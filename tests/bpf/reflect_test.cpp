// SYN-ACK reflection (bpf/sg_reflect.h) through the loaded program: a SYN-ACK
// for no socket of ours is counted, its reflector harvested, and dropped once
// user space turns the drop on and lists that reflector (only listed ones);
// one answering a real connect() in SYN_SENT passes even then; a SYN-ACK at
// a listening port is no answer to anything. Containers' (conntrack) and
// simultaneous opens' SYN-ACKs: reflect_netns_test.cpp.
// BPF_PROG_TEST_RUN runs XDP on the test's namespace's loopback, so the
// socket lookup sees this process's sockets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "bpf/kernel_fixture.h"
#include "sg_local.h"

namespace sg::test {
namespace {

class Reflect : public KernelTest {
 protected:
  PacketSpec synAck(const std::string& from, uint16_t sport, const std::string& to,
                    uint16_t dport) {
    PacketSpec s = synFrom(from, dport);
    s.family = from.find(':') == std::string::npos ? 4 : 6;
    s.dst = to;
    s.sport = sport;
    s.tcp_flags = kSyn | kAck;
    return s;
  }
  // Lists `from:port` for the drop (as the agent lists the reflectors it saw).
  void listForDrop(const std::string& from, uint16_t port) {
    ReflectorCount r;
    auto a = parseAddress(from);
    ASSERT_OK(a);
    r.src = *a;
    r.port = port;
    sensor_->addReflectorDrops({r});
  }
  // The host's own addresses (sg_local.h): the drop acts only while the
  // program holds them.
  void ownAddresses(const std::vector<std::string>& texts) {
    std::vector<Address> own;
    for (const std::string& t : texts) {
      auto a = parseAddress(t);
      ASSERT_OK(a);
      own.push_back(*a);
    }
    ASSERT_OK(sensor_->setLocalAddresses(own));
  }
};

// An fd closed at scope end.
struct Sock {
  int fd = -1;
  explicit Sock(int f) : fd(f) {}
  ~Sock() {
    if (fd >= 0) close(fd);
  }
};

uint16_t localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST_F(Reflect, UnmatchedSynAckIsCountedAndDroppedOnlyOnceTheDropIsOn) {
  sensor_->setReflection(true, false);
  EXPECT_EQ(send(synAck("198.51.100.9", 80, "192.0.2.10", 40001)), XDP_PASS)
      << "counted, passed: no reflection is on";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_MATCHED), 0u);
  auto seen = sensor_->harvestReflectors();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].src.str(), "198.51.100.9");
  EXPECT_EQ(seen[0].port, 80);
  EXPECT_EQ(seen[0].count, 1u);
  EXPECT_TRUE(sensor_->harvestReflectors().empty()) << "a harvest empties the table";

  ownAddresses({"192.0.2.10", "2001:db8:1::1"});
  sensor_->setReflection(true, true);
  listForDrop("198.51.100.9", 80);
  listForDrop("2001:db8::9", 443);
  EXPECT_EQ(send(synAck("198.51.100.9", 80, "192.0.2.10", 40002)), XDP_DROP);
  EXPECT_EQ(send(synAck("2001:db8::9", 443, "2001:db8:1::1", 40003)), XDP_DROP);
  EXPECT_EQ(counter(SG_CNT_REFLECT_DROPPED), 2u);
  EXPECT_EQ(counter(SG_CNT_DROPPED), 2u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 3u);
  EXPECT_EQ(sensor_->harvestReflectors().size(), 2u);

  // Other packets are no SYN-ACKs: untouched by the drop.
  PacketSpec ack = synAck("198.51.100.9", 80, "192.0.2.10", 40002);
  ack.tcp_flags = kAck;
  EXPECT_EQ(send(ack), XDP_PASS);
  PacketSpec rst = ack;
  rst.tcp_flags = kSyn | kAck | kRst;
  EXPECT_EQ(send(rst), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 3u);

  sensor_->setReflection(false, true);
  EXPECT_EQ(send(synAck("198.51.100.9", 80, "192.0.2.10", 40004)), XDP_PASS) << "off: skipped";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 3u);
}

TEST_F(Reflect, SynAckForARealConnectInSynSentPassesWhileTheDropIsOn) {
  // A listener whose accept queue (backlog 0) one connection fills: the
  // next SYN is dropped by the stack, so the second connect stays in SYN_SENT.
  Sock lis(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_GE(lis.fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lis.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(lis.fd, 0), 0);
  a.sin_port = htons(localPort(lis.fd));
  Sock first(socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_EQ(connect(first.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  Sock pending(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  ASSERT_EQ(connect(pending.fd, reinterpret_cast<sockaddr*>(&a), sizeof a), -1);
  ASSERT_EQ(errno, EINPROGRESS);
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  ASSERT_EQ(getsockopt(pending.fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
  ASSERT_EQ(ti.tcpi_state, TCP_SYN_SENT) << "the test needs a socket in SYN_SENT";

  ownAddresses({"127.0.0.1"});
  sensor_->setReflection(true, true);
  const uint16_t server = ntohs(a.sin_port), client = localPort(pending.fd);
  listForDrop("127.0.0.1", server);
  listForDrop("127.0.0.1", static_cast<uint16_t>(server + 1));
  listForDrop("127.0.0.2", 80);
  EXPECT_EQ(send(synAck("127.0.0.1", server, "127.0.0.1", client)), XDP_PASS)
      << "the answer our connect() waits for";
  EXPECT_EQ(counter(SG_CNT_SYNACK_MATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 0u);
  EXPECT_EQ(send(synAck("127.0.0.1", server, "127.0.0.1", client == 65535 ? 1 : client + 1)),
            XDP_DROP)
      << "the next port: no connection";
  EXPECT_EQ(send(synAck("127.0.0.1", static_cast<uint16_t>(server + 1), "127.0.0.1", client)),
            XDP_DROP)
      << "another peer port: no connection";
  EXPECT_EQ(send(synAck("127.0.0.2", 80, "127.0.0.1", server)), XDP_DROP)
      << "a SYN-ACK at a listening port answers nothing";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 3u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_MATCHED), 1u);
}

// The drop applies to the listed reflectors only: another server's unmatched
// SYN-ACK is counted, and passes, while the drop is on.
TEST_F(Reflect, OnlyListedReflectorsAreDropped) {
  ownAddresses({"192.0.2.10"});
  sensor_->setReflection(true, true);
  listForDrop("198.51.100.9", 443);
  EXPECT_EQ(send(synAck("198.51.100.9", 443, "192.0.2.10", 40001)), XDP_DROP) << "listed";
  EXPECT_EQ(send(synAck("198.51.100.10", 443, "192.0.2.10", 40002)), XDP_PASS)
      << "another server: not listed";
  EXPECT_EQ(send(synAck("198.51.100.9", 80, "192.0.2.10", 40003)), XDP_PASS)
      << "the same server's other port: not listed";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 3u) << "all three counted";
  EXPECT_EQ(counter(SG_CNT_REFLECT_DROPPED), 1u);
  sensor_->clearReflectorDrops();
  EXPECT_EQ(send(synAck("198.51.100.9", 443, "192.0.2.10", 40004)), XDP_PASS) << "list emptied";
}

// On a router or bridge (sg_local.h) a SYN-ACK for a host behind it is
// forwarded traffic, not a reflection aimed at this host: with the conntrack
// kfuncs present but no conntrack entry (nf_conntrack loaded, no ct-using
// rule in the namespace: its hooks are not registered, as in this test's
// namespace), a listed reflector's SYN-ACK to a non-local address would look
// unmatched. It is passed before any lookup: neither counted as unmatched nor
// harvested, whatever the drop list holds (review s15 H1).
TEST_F(Reflect, AForwardedSynAckToAnotherHostIsNeverCountedOrDropped) {
  auto own = parseAddress("192.0.2.10");
  ASSERT_OK(own);
  ASSERT_OK(sensor_->setLocalAddresses({*own}));
  sensor_->setReflection(true, true);
  listForDrop("203.0.113.5", 443);  // a popular server, listed by spoofed SYN-ACKs in its name
  EXPECT_EQ(send(synAck("203.0.113.5", 443, "10.77.0.2", 40002)), XDP_PASS)
      << "to a LAN host behind this router (not local): its own connect's answer";
  EXPECT_EQ(counter(SG_CNT_SYNACK_NOT_LOCAL), 1u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 0u) << "not counted towards a reflection";
  EXPECT_TRUE(sensor_->harvestReflectors().empty()) << "nor harvested as a reflector";
  EXPECT_EQ(send(synAck("203.0.113.5", 443, "192.0.2.10", 40001)), XDP_DROP)
      << "to this host: the reflection's drop";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_NOT_LOCAL), 1u);
}

// While the host's address list is not in force (never written, more than
// SG_LOCAL_MAX addresses, a failed write), every destination counts as local
// and a forwarded connection's SYN-ACK would be dropped as a reflection (the
// s15 H1 fix silently undone): the drop only counts then (review s16 L2).
TEST_F(Reflect, WithoutTheHostsAddressListTheDropOnlyCounts) {
  sensor_->setReflection(true, true);
  listForDrop("203.0.113.5", 443);
  EXPECT_EQ(send(synAck("203.0.113.5", 443, "10.77.0.2", 40001)), XDP_PASS)
      << "no address list yet: perhaps a LAN host's connection";
  EXPECT_EQ(counter(SG_CNT_REFLECT_UNCHECKED), 1u);
  EXPECT_EQ(counter(SG_CNT_REFLECT_DROPPED), 0u);
  EXPECT_FALSE(sensor_->reflectionCanDrop());
  ownAddresses({"192.0.2.10"});
  EXPECT_EQ(send(synAck("203.0.113.5", 443, "192.0.2.10", 40002)), XDP_DROP) << "the list is on";
  // Too many addresses: the check goes off, and the drop with it.
  std::vector<Address> many;
  for (uint32_t i = 0; i <= SG_LOCAL_MAX; i++) {
    many.push_back(
        *parseAddress("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)));
  }
  EXPECT_FALSE(sensor_->setLocalAddresses(many).ok());
  EXPECT_EQ(send(synAck("203.0.113.5", 443, "10.77.0.2", 40003)), XDP_PASS);
  EXPECT_EQ(counter(SG_CNT_REFLECT_UNCHECKED), 2u);
  EXPECT_EQ(counter(SG_CNT_REFLECT_DROPPED), 1u);
  EXPECT_FALSE(sensor_->reflectionCanDrop());
}

}  // namespace
}  // namespace sg::test
