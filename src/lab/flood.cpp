#include "lab/flood.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "lab/netns.h"

namespace sg::lab {
namespace {

struct IpPrefix {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};
  int bits = 0;
  size_t len() const { return family == AF_INET ? 4 : 16; }
};

Result<IpPrefix> parseIpPrefix(const std::string& text) {
  IpPrefix p;
  std::string addr = text;
  int bits = -1;
  size_t slash = text.find('/');
  if (slash != std::string::npos) {
    addr = text.substr(0, slash);
    std::string b = text.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos) {
      return makeError(Errc::kInvalidArgument, "bad prefix length in '" + text + "'");
    }
    bits = std::stoi(b);
  }
  p.family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(p.family, addr.c_str(), p.bytes.data()) != 1) {
    return makeError(Errc::kInvalidArgument, "'" + addr + "' is not an IPv4 or IPv6 address");
  }
  int max_bits = p.family == AF_INET ? 32 : 128;
  if (bits > max_bits) return makeError(Errc::kInvalidArgument, "prefix too long: '" + text + "'");
  p.bits = bits < 0 ? max_bits : bits;
  return p;
}

bool prefixCovers(const IpPrefix& outer, const IpPrefix& inner) {
  if (outer.family != inner.family || inner.bits < outer.bits) return false;
  for (int i = 0; i < outer.bits; ++i) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if ((outer.bytes[i / 8] & mask) != (inner.bytes[i / 8] & mask)) return false;
  }
  return true;
}

uint32_t sumBytes(const uint8_t* p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// The TCP header of a SYN of `shape` at t; returns its length.
size_t writeTcpSyn(uint8_t* t, uint16_t sport, uint16_t dport, uint32_t seq, SynShape shape) {
  static constexpr uint8_t kMssOpt[] = {2, 4, 0x05, 0xb4};  // MSS 1460
  // Linux's SYN options: MSS, SACK-permitted, timestamps (val filled in), NOP, window scale 7.
  static constexpr uint8_t kLinuxOpts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0,
                                           0, 0, 0,    0,    0, 0, 1, 3,  3, 7};
  const uint8_t* opts = shape == SynShape::kLinux ? kLinuxOpts
                        : shape == SynShape::kMss ? kMssOpt
                                                  : nullptr;
  const size_t opt_len = shape == SynShape::kLinux ? sizeof(kLinuxOpts)
                         : shape == SynShape::kMss ? sizeof(kMssOpt)
                                                   : 0;
  const size_t len = 20 + opt_len;
  std::memset(t, 0, 20);
  t[0] = static_cast<uint8_t>(sport >> 8);
  t[1] = static_cast<uint8_t>(sport);
  t[2] = static_cast<uint8_t>(dport >> 8);
  t[3] = static_cast<uint8_t>(dport);
  for (int i = 0; i < 4; ++i) t[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  t[12] = static_cast<uint8_t>((len / 4) << 4);  // data offset
  t[13] = 0x02;                                  // SYN
  if (shape != SynShape::kBare) {
    t[14] = 0xfa;  // window 64240
    t[15] = 0xf0;
  }
  if (opt_len > 0) std::memcpy(t + 20, opts, opt_len);
  if (shape == SynShape::kLinux) {
    for (int i = 0; i < 4; ++i) t[28 + i] = static_cast<uint8_t>(seq >> (8 * i));  // TSval
  }
  return len;
}

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

// Overwrites the host bits of `out` (a copy of prefix's bytes) with random ones.
void randomInPrefix(const IpPrefix& p, Rng& rng, uint8_t* out) {
  std::memcpy(out, p.bytes.data(), p.len());
  uint64_t r = rng.next();
  uint64_t r2 = rng.next();
  for (size_t i = 0; i < p.len(); ++i) {
    int first_bit = static_cast<int>(i) * 8;
    if (first_bit + 8 <= p.bits) continue;
    uint8_t rnd = static_cast<uint8_t>(i < 8 ? r >> (8 * i) : r2 >> (8 * (i - 8)));
    uint8_t keep =
        p.bits > first_bit ? static_cast<uint8_t>(0xff << (8 - (p.bits - first_bit))) : 0;
    out[i] = static_cast<uint8_t>((out[i] & keep) | (rnd & ~keep));
  }
}

}  // namespace

size_t buildSyn4(uint8_t* buf, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
                 uint16_t dport, uint32_t seq, SynShape shape) {
  const size_t len = 20 + writeTcpSyn(buf + 20, sport, dport, seq, shape);
  std::memset(buf, 0, 20);
  buf[0] = 0x45;
  buf[2] = static_cast<uint8_t>(len >> 8);
  buf[3] = static_cast<uint8_t>(len);
  buf[4] = static_cast<uint8_t>(seq >> 8);  // IP id: anything non-constant
  buf[5] = static_cast<uint8_t>(seq);
  buf[6] = 0x40;  // DF
  buf[8] = 64;    // TTL
  buf[9] = IPPROTO_TCP;
  std::memcpy(buf + 12, src, 4);
  std::memcpy(buf + 16, dst, 4);
  uint16_t ip_sum = fold(sumBytes(buf, 20, 0));
  buf[10] = static_cast<uint8_t>(ip_sum >> 8);
  buf[11] = static_cast<uint8_t>(ip_sum);
  uint16_t sum = tcpChecksum4(buf, len);
  buf[20 + 16] = static_cast<uint8_t>(sum >> 8);
  buf[20 + 17] = static_cast<uint8_t>(sum);
  return len;
}

size_t buildSyn6(uint8_t* buf, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
                 uint16_t dport, uint32_t seq, SynShape shape) {
  const size_t tcp_len = writeTcpSyn(buf + 40, sport, dport, seq, shape);
  std::memset(buf, 0, 40);
  buf[0] = 0x60;
  buf[5] = static_cast<uint8_t>(tcp_len);  // payload length
  buf[6] = IPPROTO_TCP;
  buf[7] = 64;  // hop limit
  std::memcpy(buf + 8, src, 16);
  std::memcpy(buf + 24, dst, 16);
  uint16_t sum = tcpChecksum6(buf, 40 + tcp_len);
  buf[40 + 16] = static_cast<uint8_t>(sum >> 8);
  buf[40 + 17] = static_cast<uint8_t>(sum);
  return 40 + tcp_len;
}

Result<SynShape> parseSynShape(const std::string& text) {
  if (text == "mss") return SynShape::kMss;
  if (text == "bare") return SynShape::kBare;
  if (text == "linux") return SynShape::kLinux;
  return makeError(Errc::kInvalidArgument, "SYN shape must be mss, bare or linux: '" + text + "'");
}

uint16_t tcpChecksum4(const uint8_t* ip, size_t len) {
  size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  size_t tcp_len = len - ihl;
  uint32_t sum = sumBytes(ip + 12, 8, 0);  // src + dst
  sum += IPPROTO_TCP + static_cast<uint32_t>(tcp_len);
  return fold(sumBytes(ip + ihl, tcp_len, sum));
}

uint16_t tcpChecksum6(const uint8_t* ip, size_t len) {
  size_t tcp_len = len - 40;
  uint32_t sum = sumBytes(ip + 8, 32, 0);
  sum += IPPROTO_TCP + static_cast<uint32_t>(tcp_len);
  return fold(sumBytes(ip + 40, tcp_len, sum));
}

std::string FloodStats::json() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "{\"sent\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"pps\":%.0f}",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(errors),
                seconds, pps);
  return buf;
}

Result<void> checkLabRange(const std::string& text) {
  auto p = parseIpPrefix(text);
  if (!p.ok()) return p.error();
  auto lab = parseIpPrefix(p->family == AF_INET ? "10.200.0.0/16" : "fd00:200::/32");
  if (!prefixCovers(*lab, *p)) {
    return makeError(Errc::kInvalidArgument,
                     "'" + text + "' is outside the lab ranges 10.200.0.0/16 and fd00:200::/32");
  }
  return Ok{};
}

Result<void> validateFlood(const FloodOptions& o) {
  if (o.dst.empty()) return makeError(Errc::kInvalidArgument, "no destination address");
  if (o.dst.find('/') != std::string::npos) {
    return makeError(Errc::kInvalidArgument, "destination must be one address: '" + o.dst + "'");
  }
  SG_TRY(checkLabRange(o.dst));
  if (o.src.empty() == o.spoof_cidr.empty()) {
    return makeError(Errc::kInvalidArgument,
                     "give exactly one of a fixed source or a spoof prefix");
  }
  const std::string& src = o.src.empty() ? o.spoof_cidr : o.src;
  SG_TRY(checkLabRange(src));
  bool dst6 = o.dst.find(':') != std::string::npos;
  if (dst6 != (src.find(':') != std::string::npos)) {
    return makeError(Errc::kInvalidArgument, "source and destination are of different families");
  }
  if (o.dst_port == 0) return makeError(Errc::kInvalidArgument, "destination port 0");
  if (o.count == 0) return makeError(Errc::kInvalidArgument, "count must be at least 1");
  if (o.duration <= std::chrono::nanoseconds(0) || o.duration > std::chrono::hours(1)) {
    return makeError(Errc::kInvalidArgument, "duration must be in (0, 1h]");
  }
  if (o.batch == 0 || o.batch > 1024) {
    return makeError(Errc::kInvalidArgument, "batch must be 1..1024");
  }
  return Ok{};
}

Result<FloodStats> runFlood(const FloodOptions& o, const std::atomic<bool>* stop) {
  SG_TRY(validateFlood(o));
  auto dst = parseIpPrefix(o.dst);
  auto src = parseIpPrefix(o.src.empty() ? o.spoof_cidr : o.src);
  if (!dst.ok()) return dst.error();
  if (!src.ok()) return src.error();
  bool v6 = dst->family == AF_INET6;
  bool spoof = !o.spoof_cidr.empty();
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) {
    return makeError(errno == EPERM ? Errc::kPermissionDenied : Errc::kIo,
                     std::string("raw socket: ") + std::strerror(errno) + " (needs CAP_NET_RAW)");
  }
  sockaddr_storage to{};
  socklen_t to_len;
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&to);
    s6->sin6_family = AF_INET6;
    std::memcpy(&s6->sin6_addr, dst->bytes.data(), 16);
    to_len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&to);
    s4->sin_family = AF_INET;
    std::memcpy(&s4->sin_addr, dst->bytes.data(), 4);
    to_len = sizeof(sockaddr_in);
  }
  const unsigned batch = o.batch;
  std::vector<std::array<uint8_t, kMaxSynFrame>> frames(batch);
  std::vector<iovec> iov(batch);
  std::vector<mmsghdr> msgs(batch);
  Rng rng{0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(getpid()) ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  for (unsigned i = 0; i < batch; ++i) {
    iov[i].iov_base = frames[i].data();
    msgs[i].msg_hdr = msghdr{};
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = to_len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  FloodStats stats;
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + o.duration;
  uint64_t attempted = 0;
  std::array<uint8_t, 16> s{};
  std::memcpy(s.data(), src->bytes.data(), 16);
  while (attempted < o.count && (stop == nullptr || !stop->load(std::memory_order_relaxed))) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (o.rate > 0) {
      auto due = start + std::chrono::nanoseconds(attempted * 1'000'000'000ull / o.rate);
      if (due > now) {
        std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(due - now, deadline - now));
        continue;
      }
    }
    unsigned n = static_cast<unsigned>(std::min<uint64_t>(batch, o.count - attempted));
    if (o.rate > 0)
      n = static_cast<unsigned>(std::min<uint64_t>(n, std::max<uint64_t>(1, o.rate / 100)));
    for (unsigned i = 0; i < n; ++i) {
      if (spoof) randomInPrefix(*src, rng, s.data());
      uint64_t r = rng.next();
      uint16_t sport = o.src_port != 0 ? o.src_port : static_cast<uint16_t>(1024 + r % 64000);
      uint32_t seq = static_cast<uint32_t>(r >> 32);
      iov[i].iov_len = v6 ? buildSyn6(frames[i].data(), s.data(), dst->bytes.data(), sport,
                                      o.dst_port, seq, o.shape)
                          : buildSyn4(frames[i].data(), s.data(), dst->bytes.data(), sport,
                                      o.dst_port, seq, o.shape);
    }
    int done = sendmmsg(fd, msgs.data(), n, 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      if (errno != ENOBUFS && errno != EAGAIN) {
        int e = errno;
        close(fd);
        return makeError(Errc::kIo, std::string("sendmmsg: ") + std::strerror(e));
      }
      done = 0;
    }
    stats.sent += static_cast<uint64_t>(done);
    if (o.progress != nullptr) o.progress->store(stats.sent, std::memory_order_relaxed);
    // A refused packet is skipped (counted), not retried: the bound is on attempts.
    if (static_cast<unsigned>(done) < n) stats.errors += n - static_cast<unsigned>(done);
    attempted += n;
  }
  close(fd);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  stats.pps = stats.seconds > 0 ? static_cast<double>(stats.sent) / stats.seconds : 0;
  return stats;
}

Result<FloodStats> runFloodIn(const std::string& netns, const FloodOptions& options,
                              const std::atomic<bool>* stop) {
  Result<FloodStats> out = makeError(Errc::kIo, "flood did not run");
  auto t = startThreadIn(netns, [&] { out = runFlood(options, stop); });
  if (!t.ok()) return t.error();
  t->join();
  return out;
}

}  // namespace sg::lab
