// SYNs shaped like real senders' (the signature drop's tests: core
// fingerprint and chooser, the XDP test-run table, replay): common client
// stacks' options, windows, TTLs and DF, and the two real floods' shapes
// (../shared/data/captures: the spoofed flood's window-0 SYN without options,
// DOMINATE's SYN+ECE+CWR with an urgent pointer). Built on packet_builder.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"

namespace sg::test {

struct SynShape {
  std::string name;
  std::vector<uint8_t> options;  // TCP option bytes (padded to 4 with NOPs... as given)
  uint16_t window = 64240;
  uint8_t ttl = 64;
  bool df = true;
  uint8_t flags = kSyn;
  uint16_t urg = 0;
};

// MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
inline SynShape linuxSyn() {
  return {"linux", {2, 4, 5, 180, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7},
          64240,   64,
          true,    kSyn,
          0};
}
// MSS, NOP, window scale 8, NOP, NOP, SACK permitted.
inline SynShape windowsSyn() {
  return {"windows", {2, 4, 5, 180, 1, 3, 3, 8, 1, 1, 4, 2}, 64240, 128, true, kSyn, 0};
}
// MSS, NOP, window scale 6, NOP, NOP, timestamps, SACK permitted, EOL, EOL; ECN.
inline SynShape macSyn() {
  return {"macos", {2, 4, 5, 180, 1, 3, 3, 6, 1, 1, 8, 10, 9, 9, 9, 9, 0, 0, 0, 0, 4, 2, 0, 0},
          65535,   64,
          true,    static_cast<uint8_t>(kSyn | 0xc0),
          0};
}
// The spoofed capture's SYN: no options, window 0, TTL 244, no DF.
inline SynShape spoofedFloodSyn() { return {"spoofed", {}, 0, 244, false, kSyn, 0}; }
// DOMINATE's: SYN+ECE+CWR, window 65535, urgent pointer 256 without URG, TTL 242.
inline SynShape dominateSyn() {
  return {"dominate", {}, 65535, 242, false, static_cast<uint8_t>(kSyn | 0xc0), 256};
}

// A SYN of that shape from src to dst:dport.
inline Frame shapedSyn(const SynShape& s, const std::string& src, const std::string& dst,
                       uint16_t dport, uint16_t sport = 40000) {
  PacketSpec spec = synFrom(src, dport);
  spec.dst = dst;
  spec.sport = sport;
  spec.tcp_options = (s.options.size() + 3) / 4 * 4;
  Frame f = buildFrame(spec);
  uint8_t* ip = f.bytes.data() + f.l3;
  uint8_t* t = f.bytes.data() + f.l4;
  if (spec.family == 4) {
    ip[8] = s.ttl;
    ip[6] = s.df ? 0x40 : 0;
  } else {
    ip[7] = s.ttl;
  }
  t[13] = s.flags;
  t[14] = static_cast<uint8_t>(s.window >> 8);
  t[15] = static_cast<uint8_t>(s.window);
  t[18] = static_cast<uint8_t>(s.urg >> 8);
  t[19] = static_cast<uint8_t>(s.urg);
  for (size_t i = 0; i < spec.tcp_options; i++) {
    t[20 + i] = i < s.options.size() ? s.options[i] : 1;
  }
  return f;
}

}  // namespace sg::test
