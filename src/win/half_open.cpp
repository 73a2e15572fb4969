#include "win/half_open.h"

#include <cstring>

namespace sg::win {
namespace {

uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void mapV4(const uint8_t* p, sg_addr* a) {
  std::memset(a, 0, sizeof(*a));
  a->b[10] = 0xff;
  a->b[11] = 0xff;
  std::memcpy(a->b + 12, p, 4);
}

Result<size_t> rowCount(std::span<const uint8_t> buf, size_t row_size) {
  if (buf.size() < 4) return Error(Errc::kInvalidArgument, "TCP table shorter than its count");
  const size_t n = le32(buf.data());
  if (n > (buf.size() - 4) / row_size) {
    return Error(Errc::kInvalidArgument, "TCP table says " + std::to_string(n) +
                                             " rows but holds " +
                                             std::to_string((buf.size() - 4) / row_size));
  }
  return n;
}

}  // namespace

Result<std::vector<TcpRow>> parseTcpTable4(std::span<const uint8_t> buf) {
  auto n = rowCount(buf, kTcpRow4Size);
  if (!n.ok()) return n.error();
  std::vector<TcpRow> rows(*n);
  for (size_t i = 0; i < *n; i++) {
    const uint8_t* r = buf.data() + 4 + i * kTcpRow4Size;
    rows[i].state = le32(r);
    mapV4(r + 4, &rows[i].local);
    rows[i].local_port = sg_be16(r + 8);
    mapV4(r + 12, &rows[i].remote);
    rows[i].remote_port = sg_be16(r + 16);
    rows[i].family = 4;
  }
  return rows;
}

Result<std::vector<TcpRow>> parseTcpTable6(std::span<const uint8_t> buf) {
  auto n = rowCount(buf, kTcpRow6Size);
  if (!n.ok()) return n.error();
  std::vector<TcpRow> rows(*n);
  for (size_t i = 0; i < *n; i++) {
    const uint8_t* r = buf.data() + 4 + i * kTcpRow6Size;
    std::memcpy(rows[i].local.b, r, 16);
    rows[i].local_port = sg_be16(r + 20);
    std::memcpy(rows[i].remote.b, r + 24, 16);
    rows[i].remote_port = sg_be16(r + 44);
    rows[i].state = le32(r + 48);
    rows[i].family = 6;
  }
  return rows;
}

bool operator==(const HalfOpenCounter::Key& a, const HalfOpenCounter::Key& b) {
  return a.local_port == b.local_port && a.remote_port == b.remote_port &&
         std::memcmp(a.local.b, b.local.b, 16) == 0 && std::memcmp(a.remote.b, b.remote.b, 16) == 0;
}

size_t HalfOpenCounter::KeyHash::operator()(const Key& k) const {
  // The kernel's keyed hash of each address (sg_addr_hash), the ports mixed in.
  const uint64_t ports = static_cast<uint64_t>(k.local_port) << 16 | k.remote_port;
  uint64_t h =
      sg_addr_hash(&k.remote, &key) ^ (sg_addr_hash(&k.local, &key) * 0x9e3779b97f4a7c15ull);
  h ^= (ports + key.k1) * 0xbf58476d1ce4e5b9ull;
  return static_cast<size_t>(h ^ (h >> 31));
}

size_t HalfOpenCounter::onPoll(const std::vector<TcpRow>& rows, std::vector<sg_pkt>* attempts) {
  std::unordered_set<Key, KeyHash> now(rows.size(), hash_);
  size_t added = 0;
  for (const TcpRow& r : rows) {
    if (r.state != kMibTcpStateSynRcvd) continue;
    const Key k{r.local, r.remote, r.local_port, r.remote_port};
    if (!now.insert(k).second) continue;  // listed twice in one poll
    if (seen_.count(k) != 0) continue;    // already counted at an earlier poll
    sg_pkt p{};
    p.src = r.remote;
    p.family = r.family;
    p.has_src = 1;
    p.kind = SG_PKT_TCP;
    p.tcp_flags = SG_TCP_SYN;
    p.dst_port = r.local_port;
    p.src_port = r.remote_port;
    p.tcp_seq = static_cast<uint32_t>(hash_(k));  // one fingerprint per connection
    attempts->push_back(p);
    added++;
  }
  seen_ = std::move(now);
  return added;
}

bool PollSchedule::due(uint64_t now_ns, uint64_t last_poll_ns) const {
  if (!seen_ || now_ns - last_activity_ns_ > linger_ns_) return false;
  return last_poll_ns == 0 || now_ns - last_poll_ns >= fast_ns_;
}

}  // namespace sg::win
