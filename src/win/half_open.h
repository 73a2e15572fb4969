// Half-open connections per source, from the TCP table (GetExtendedTcpTable,
// TCP_TABLE_OWNER_PID_ALL, rows in state MIB_TCP_STATE_SYN_RCVD). The accept
// event fires only after the handshake, so a SYN flood is seen here, or not
// at all by ETW (docs/windows-notes.md). Plain C++ over the tables' bytes:
// the Windows adapter (tcp_table_win.cpp) only fetches the buffers; parsing,
// the new-since-last-poll logic and the poll schedule are tested on Linux too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "core/result.h"
#include "sg_parse.h"
#include "sg_shared.h"
#include "sg_track.h"

namespace sg::win {

// MIB_TCP_STATE (tcpmib.h).
inline constexpr uint32_t kMibTcpStateSynRcvd = 4;

struct TcpRow {
  sg_addr local{};
  sg_addr remote{};
  uint16_t local_port = 0;  // host order
  uint16_t remote_port = 0;
  uint32_t state = 0;
  uint8_t family = 4;
};

// MIB_TCPTABLE_OWNER_PID: DWORD dwNumEntries, then 24-byte rows (dwState,
// dwLocalAddr, dwLocalPort, dwRemoteAddr, dwRemotePort, dwOwningPid; the
// addresses in network order, the ports big-endian in the low 16 bits).
Result<std::vector<TcpRow>> parseTcpTable4(std::span<const uint8_t> buf);
// MIB_TCP6TABLE_OWNER_PID: DWORD dwNumEntries, then 56-byte rows
// (ucLocalAddr[16], dwLocalScopeId, dwLocalPort, ucRemoteAddr[16],
// dwRemoteScopeId, dwRemotePort, dwState, dwOwningPid).
Result<std::vector<TcpRow>> parseTcpTable6(std::span<const uint8_t> buf);

inline constexpr size_t kTcpRow4Size = 24;
inline constexpr size_t kTcpRow6Size = 56;

// Turns successive polls into attempts: each SYN_RCVD connection once, at the
// first poll that shows it (one that lasts several polls is one attempt).
class HalfOpenCounter {
 public:
  // `hash_key`: the secret of the tuple hash (remote addresses and ports are
  // the attacker's choice: an unkeyed hash could be flooded with collisions).
  explicit HalfOpenCounter(const sg_hash_key& hash_key) : hash_{hash_key} {}

  // One poll's rows (both families). Appends the new half-open connections as
  // attempts (sg_pkt, as the accept events give them) and returns how many.
  size_t onPoll(const std::vector<TcpRow>& rows, std::vector<sg_pkt>* attempts);
  size_t halfOpenNow() const { return seen_.size(); }

  struct Key {
    sg_addr local, remote;
    uint16_t local_port, remote_port;
    friend bool operator==(const Key& a, const Key& b);
  };
  struct KeyHash {
    sg_hash_key key;
    size_t operator()(const Key& k) const;
  };

 private:
  KeyHash hash_;
  std::unordered_set<Key, KeyHash> seen_{0, hash_};
};

// When to poll: every `fast_ns` while attempts were seen within the last
// `linger_ns` (an accept event, or half-open connections in the last poll),
// never otherwise — the table costs the kernel a walk of every connection.
class PollSchedule {
 public:
  PollSchedule(uint64_t fast_ns, uint64_t linger_ns) : fast_ns_(fast_ns), linger_ns_(linger_ns) {}
  void onActivity(uint64_t now_ns) {
    last_activity_ns_ = now_ns;
    seen_ = true;
  }
  // Whether to poll now, given the last poll's time (0: never polled).
  bool due(uint64_t now_ns, uint64_t last_poll_ns) const;

 private:
  uint64_t fast_ns_;
  uint64_t linger_ns_;
  uint64_t last_activity_ns_ = 0;
  bool seen_ = false;
};

}  // namespace sg::win
