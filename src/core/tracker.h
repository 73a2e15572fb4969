// Tracker: the user-space twin of the XDP program's decision logic, built on
// the same C functions (bpf/sg_track.h, bpf/sg_parse.h). Used by `replay`,
// and by sensors that are not XDP (Windows ETW, later). Given the same packets
// at the same times it answers exactly as the kernel does: the differential
// test in tests/bpf/ checks that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "core/address.h"
#include "core/completion_windows.h"
#include "sg_parse.h"
#include "sg_shared.h"
#include "sg_track.h"

namespace sg {

// The key replay and tests hash with unless given another (the kernel draws
// a random one at each load: see XdpSensor::hashKey()).
inline constexpr sg_hash_key kDefaultHashKey{0x5eed5eed5eed5eedull, 0x0123456789abcdefull};

// A key drawn once per process from std::random_device, for hash tables whose
// buckets only place entries (no answer depends on them): a capture's or a
// peer's chosen addresses cannot be precomputed to pile into one bucket.
const sg_hash_key& processHashKey();

struct TrackerOptions {
  sg_config cfg{};                         // the same struct the kernel reads
  sg_hash_key hash_key = kDefaultHashKey;  // sg_addr_hash's secret (the kernel's knob)
  uint32_t max_sources = 65536;            // per-source slots, rounded up to a power of two (>= 2)
  uint32_t max_blocks = 16384;             // bound on concurrent blocks
  std::vector<Prefix> allow;               // never blocked
};

enum class Verdict { kPass, kDrop };

// The threshold a crossing crossed (enum sg_reason, bpf/sg_handshake.h), as
// events, status and replay name it: "attempts", "half_open", "connections";
// "" for SG_REASON_NONE.
const char* reasonName(uint32_t reason);
// The same for a detector block's SG_BLK_HALF_OPEN / SG_BLK_CONNECTIONS
// flag; nullptr when it has neither.
const char* blockReasonName(uint8_t flags);

class Tracker {
 public:
  explicit Tracker(TrackerOptions options);

  // One parsed packet seen at now_ns (monotonic). Returns what the XDP
  // program would answer; appends the event it would send, if any.
  Verdict onPacket(const sg_pkt& pkt, uint64_t now_ns, std::vector<sg_event>* events);
  // A handshake from `client` (its address, IPv4-mapped for IPv4) completed
  // at now_ns: the handshake tracepoint's credit (sg_src_completed).
  void onCompletion(const sg_addr& client, uint64_t now_ns);

  const sg_counters& counters() const { return counters_; }
  // Filled slots (a slot never empties), as the kernel's SLOTS_FILLED.
  size_t sourceCount() const { return counters_.c[SG_CNT_SLOTS_FILLED]; }
  size_t sourceCapacity() const { return slot_count_; }
  size_t blockCount() const { return blocks_.size(); }
  // The source's block (expired or not until a packet removes it), or nullptr.
  const sg_block* block(const sg_addr& key) const {
    auto it = blocks_.find(key);
    return it == blocks_.end() ? nullptr : &it->second;
  }
  void setConfig(const sg_config& cfg) { options_.cfg = cfg; }

 private:
  struct AddrHash {
    size_t operator()(const sg_addr& a) const;
  };
  uint64_t hash(const sg_addr& a) const { return sg_addr_hash(&a, &options_.hash_key); }
  struct AddrEq {
    bool operator()(const sg_addr& a, const sg_addr& b) const;
  };
  sg_slot* findSlot(sg_slot* set, const sg_addr& key);
  sg_slot* admit(sg_slot* set, const sg_addr& key, uint64_t h, uint64_t now,
                 std::vector<sg_event>* events);
  Verdict blockVerdict(sg_block& b);
  Verdict recheckBlock(const sg_addr& key, uint64_t now);
  uint32_t attempt(sg_source* src, const sg_addr& key, uint64_t now, uint16_t dst_port);
  Verdict cross(sg_source* src, const sg_addr& key, uint64_t now, uint32_t reason,
                std::vector<sg_event>* events);
  void emit(uint32_t type, const sg_addr& key, uint64_t now, uint32_t count, uint64_t block_ns,
            uint16_t port, uint8_t level, std::vector<sg_event>* events, uint8_t reason = 0,
            uint64_t first_ns = 0);
  bool allowed(const sg_addr& key) const;
  sg_cpu_epoch& epoch(uint64_t now);

  TrackerOptions options_;
  sg_counters counters_{};
  sg_cpu_epoch epoch_{};
  std::vector<sg_sketch_line> sketch_;
  __u64 sketch_updates_ = 0;  // sg_sketch_updates (one CPU: never raced)
  uint32_t slot_count_ = 0;
  std::vector<sg_slot> slots_;  // slot_count_ slots, allocated on first admission
  std::unordered_map<sg_addr, sg_block, AddrHash, AddrEq> blocks_;
  CompletionWindows done_;  // sg_src_done: slot_count_ / 4 sources

  // sg_offenders: max_blocks entries, least recently written evicted first
  // (the kernel's LRU hash evicts approximately so: they differ only once
  // more than max_blocks offenders are remembered).
  struct Offender {
    sg_offence history{};
    std::list<sg_addr>::iterator age;
  };
  std::unordered_map<sg_addr, Offender, AddrHash, AddrEq> offenders_;
  std::list<sg_addr> offender_ages_;  // most recently written first
  void rememberOffence(const sg_addr& key, const sg_offence& h);
};

}  // namespace sg
