// SYN-ACK reflection (bpf/sg_reflect.h) against connections whose SYN-ACK
// must pass although the program's namespace holds no socket in SYN_SENT
// for it: a "container" behind the namespace's nft masquerade (its socket in
// another namespace, its flow in this one's conntrack), and a simultaneous
// open (our socket in SYN_RECV). Each runs the program (BPF_PROG_TEST_RUN,
// which uses the calling thread's namespace's loopback) from a thread inside
// a namespace the test makes (src/lab/netns.h), with the drop on and the
// SYN-ACK's reflector listed for it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "bpf/kernel_fixture.h"
#include "lab/netns.h"

namespace sg::test {
namespace {

using lab::Netns;

class ReflectNetns : public KernelTest {
 protected:
  static PacketSpec synAck(const std::string& from, uint16_t sport, const std::string& to,
                           uint16_t dport) {
    PacketSpec s = synFrom(from, dport);
    s.dst = to;
    s.sport = sport;
    s.tcp_flags = kSyn | kAck;
    return s;
  }
  // Lists `from:port` for the drop and turns it on, with `own` the host's
  // address (the drop acts only while the program holds the host's list).
  void dropFrom(const std::string& from, uint16_t port, const std::string& own) {
    auto mine = parseAddress(own);
    ASSERT_OK(mine);
    ASSERT_OK(sensor_->setLocalAddresses({*mine}));
    ReflectorCount r;
    auto a = parseAddress(from);
    ASSERT_OK(a);
    r.src = *a;
    r.port = port;
    sensor_->addReflectorDrops({r});
    sensor_->setReflection(true, true);
  }
  // The program's verdict for `spec`, run from a thread inside `ns`.
  uint32_t sendIn(const Netns& ns, const PacketSpec& spec) {
    uint32_t verdict = 0;
    auto t = lab::startThreadIn(ns.name(), [&] { verdict = send(spec); });
    EXPECT_OK(t);
    if (t.ok()) t->join();
    return verdict;
  }
};

// A link d0 (`cidr`) from `ns` to `sink`, whose end has no address: frames
// for `peer` (a permanent neighbour entry, no ARP) are dropped there unseen.
void addSink(const Netns& ns, const Netns& sink, const std::string& cidr, const std::string& peer) {
  ASSERT_OK(lab::addVethPair(ns, "d0", sink, "s0"));
  ASSERT_OK(ns.addAddress("d0", cidr));
  ASSERT_OK(ns.ip(
      {"neigh", "add", peer, "lladdr", "02:00:00:00:00:09", "dev", "d0", "nud", "permanent"}));
}

// A non-blocking connect() from a thread inside `ns`; returns the fd (or -1).
int connectFrom(const Netns& ns, const std::string& to, uint16_t port) {
  int fd = -1;
  auto t = lab::startThreadIn(ns.name(), [&] {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, to.c_str(), &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != -1 || errno != EINPROGRESS) {
      close(fd);
      fd = -1;
    }
  });
  if (!t.ok()) return -1;
  t->join();
  return fd;
}

uint16_t localPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

int tcpState(int fd) {
  tcp_info ti{};
  socklen_t tl = sizeof ti;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0) return -1;
  return ti.tcpi_state;
}

// The reply destination port conntrack in `ns` chose for the flow from
// `sport` to `server`:80 (masquerade keeps the port when it is free); 0 when
// no such entry (yet).
uint16_t natPort(const Netns& ns, uint16_t sport, const std::string& server) {
  auto out = ns.run({"cat", "/proc/net/nf_conntrack"});
  if (!out.ok()) return 0;
  std::istringstream lines(*out);
  std::string line;
  const std::string want = "sport=" + std::to_string(sport) + " dport=80 ";
  const std::string reply = "src=" + server + " ";
  while (std::getline(lines, line)) {
    const size_t at = line.find(want);
    if (at == std::string::npos) continue;
    const size_t r = line.find(reply, at);
    if (r == std::string::npos) continue;
    const size_t d = line.find("dport=", r);
    if (d == std::string::npos) continue;
    return static_cast<uint16_t>(std::stoi(line.substr(d + 6)));
  }
  return 0;
}

// A container behind this namespace's masquerade connects out: its socket
// (SYN_SENT) is in the container's namespace, the flow in ours. Its
// server's SYN-ACK passes though the drop is on and the server listed; the
// same server's SYN-ACK to a port no flow uses is dropped.
TEST_F(ReflectNetns, SynAckOfAContainersMasqueradedConnectPasses) {
  auto host = Netns::create("rfh");
  ASSERT_OK(host);
  auto box = Netns::create("rfc");
  ASSERT_OK(box);
  ASSERT_OK(lab::addVethPair(*host, "h0", *box, "c0"));
  ASSERT_OK(host->addAddress("h0", "10.201.1.1/24"));
  ASSERT_OK(box->addAddress("c0", "10.201.1.2/24"));
  ASSERT_OK(box->ip({"route", "add", "default", "via", "10.201.1.1"}));
  // The "internet": a link whose far end silently eats what is sent to it.
  auto sink = Netns::create("rfx");
  ASSERT_OK(sink);
  ASSERT_NO_FATAL_FAILURE(addSink(*host, *sink, "10.201.2.1/24", "10.201.2.9"));
  ASSERT_OK(host->setSysctl("net.ipv4.ip_forward", "1"));
  ASSERT_OK(host->run({"nft", "add", "table", "ip", "sgt"}));
  ASSERT_OK(host->run({"nft", "add", "chain", "ip", "sgt", "post",
                       "{ type nat hook postrouting priority 100 ; }"}));
  ASSERT_OK(host->run({"nft", "add", "rule", "ip", "sgt", "post", "oifname", "d0", "masquerade"}));

  const int fd = connectFrom(*box, "10.201.2.9", 80);
  ASSERT_GE(fd, 0);
  const uint16_t cport = localPort(fd);
  uint16_t nat = 0;
  for (int i = 0; i < 200 && nat == 0; i++) {
    nat = natPort(*host, cport, "10.201.2.9");
    if (nat == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(nat, 0) << "no conntrack entry for the container's connect";
  ASSERT_EQ(tcpState(fd), TCP_SYN_SENT);

  dropFrom("10.201.2.9", 80, "10.201.2.1");
  EXPECT_EQ(sendIn(*host, synAck("10.201.2.9", 80, "10.201.2.1", nat)), XDP_PASS)
      << "the container's connection's SYN-ACK (its socket in another namespace) was dropped";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 0u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_CT_MATCHED), 1u);
  const uint16_t other = nat == 65535 ? 1024 : static_cast<uint16_t>(nat + 1);
  EXPECT_EQ(sendIn(*host, synAck("10.201.2.9", 80, "10.201.2.1", other)), XDP_DROP)
      << "no flow: a reflected SYN-ACK from the listed reflector";
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_REFLECT_DROPPED), 1u);
  close(fd);
}

// The ones' complement sum of `n` bytes, folded.
uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) acc += static_cast<uint32_t>(p[n - 1] << 8);
  return acc;
}

// Sends the IPv4 TCP packet of `spec` (source address as given) from inside
// `ns` with a raw socket, its TCP checksum filled in.
void rawSend(const Netns& ns, const PacketSpec& spec) {
  Frame f = buildFrame(spec);
  std::vector<uint8_t> ip(f.bytes.begin() + static_cast<long>(f.l3), f.bytes.end());
  const size_t l4 = f.l4 - f.l3, tcp_len = ip.size() - l4;
  ip[l4 + 16] = ip[l4 + 17] = 0;
  uint8_t pseudo[12] = {};
  std::memcpy(pseudo, &ip[12], 8);
  pseudo[9] = kProtoTcp;
  pseudo[10] = static_cast<uint8_t>(tcp_len >> 8);
  pseudo[11] = static_cast<uint8_t>(tcp_len);
  uint32_t s = sum16(&ip[l4], tcp_len, sum16(pseudo, sizeof pseudo));
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  const auto csum = static_cast<uint16_t>(~s);
  ip[l4 + 16] = static_cast<uint8_t>(csum >> 8);
  ip[l4 + 17] = static_cast<uint8_t>(csum);
  auto t = lab::startThreadIn(ns.name(), [&] {
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    std::memcpy(&to.sin_addr, &ip[16], 4);
    EXPECT_EQ(sendto(fd, ip.data(), ip.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(ip.size()));
    close(fd);
  });
  ASSERT_OK(t);
  t->join();
}

// Simultaneous open (TCP hole punching): our connect() in SYN_SENT meets the
// peer's own SYN and goes SYN_RECV; the peer's SYN-ACK then answers it.
TEST_F(ReflectNetns, SynAckOfASimultaneousOpenPasses) {
  auto ns = Netns::create("rfs");
  ASSERT_OK(ns);
  auto sink = Netns::create("rfx");
  ASSERT_OK(sink);
  ASSERT_NO_FATAL_FAILURE(addSink(*ns, *sink, "10.201.3.1/24", "10.201.3.9"));
  const int fd = connectFrom(*ns, "10.201.3.9", 80);  // the SYN is lost in the sink
  ASSERT_GE(fd, 0);
  const uint16_t cport = localPort(fd);
  ASSERT_EQ(tcpState(fd), TCP_SYN_SENT);
  PacketSpec syn = synFrom("10.201.3.9", cport);  // the peer's crossing SYN
  syn.dst = "10.201.3.1";
  syn.sport = 80;
  syn.seq = 77777;
  rawSend(*ns, syn);
  for (int i = 0; i < 100 && tcpState(fd) != TCP_SYN_RECV; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(tcpState(fd), TCP_SYN_RECV) << "the test needs our socket in SYN_RECV";

  dropFrom("10.201.3.9", 80, "10.201.3.1");
  EXPECT_EQ(sendIn(*ns, synAck("10.201.3.9", 80, "10.201.3.1", cport)), XDP_PASS)
      << "the SYN-ACK a simultaneous open waits for was dropped";
  EXPECT_EQ(counter(SG_CNT_SYNACK_MATCHED), 1u);
  EXPECT_EQ(counter(SG_CNT_SYNACK_UNMATCHED), 0u);
  close(fd);
}

}  // namespace
}  // namespace sg::test
