// XdpSensor: the one owner of the XDP program (the syn_guard skeleton, its
// maps and its links). Lifecycle: load() opens the skeleton, sets the
// load-time knobs and map sizes, loads; attach() hooks it to interfaces
// through bpf_links, so that a crashed agent leaves nothing attached, or
// joins libxdp's dispatcher where other XDP programs run; the destructor
// detaches and frees everything.
//
// Run-time calls read and write the maps; they never reload the program.
// Implementation: xdp_sensor.cpp (load, config, counters, events),
// xdp_sensor_blocks.cpp (blocks, sources), xdp_sensor_prefixes.cpp (prefix
// blocks), xdp_sensor_attach.cpp (links),
// xdp_sensor_dispatcher.cpp (libxdp's dispatcher),
// xdp_sensor_clock.cpp (the program's time base), xdp_sensor_dst.cpp (the
// destination-side counters and the handshake tracepoint).
//
// Time: the program's clock is jiffies * ns_per_jiffy (one jiffy resolution),
// CLOCK_MONOTONIC plus an offset learnt at load. Every time user space writes
// into or compares with the maps (block expiry, manual blocks, event times)
// must come from kernelNowNs() (or KernelClock, xdp_sensor_clock.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/config.h"
#include "core/dst_table.h"
#include "core/reflection.h"
#include "core/result.h"
#include "sg_challenge.h"
#include "sg_shared.h"
#include "sg_sig.h"
#include "sg_syncookie.h"

struct syn_guard;  // bpftool's skeleton (build/bpf/syn_guard.skel.h)
struct ring_buffer;
struct btf;
struct bpf_object;
struct bpf_link;
struct xdp_program;

namespace sg {

// Load-time options: map sizes are fixed once the program is loaded.
struct SensorOptions {
  // Sources with exact state (1024..16M): sg_slots holds this rounded up to a
  // power of two of 64-byte slots, in 2-way sets.
  uint32_t max_sources = 65536;
  // Entries of sg_blocks, the block hash (16..1M).
  uint32_t max_blocks = 16384;
  // Entries of each prefix-block trie, sg_prefix4 and sg_prefix6 (1..65536).
  uint32_t max_prefix_blocks = 4096;
  // bpffs directory for the pinned block table and count state
  // (xdp_sensor_pins.cpp); "" = nothing pinned.
  std::string pin_dir;
  // The secret of the program's source hash (sg_addr_hash). Unset: 128 bits
  // from getrandom(), new at each load. Set only to reproduce a run.
  std::optional<sg_hash_key> hash_key;
  // Entries of sg_dsts, the destination-side table (64..65536, rounded up
  // to a power of two; 1360 B each).
  uint32_t max_dsts = 1024;
  // Entries of sg_verified, the verified sources' LRU (1024..4M; 16 + 8 B
  // each), and half of sg_verified_pfx's, the caps' windows (16 + 16 B each).
  uint32_t max_verified = 65536;
  // Whether the CPU may reorder loads (bpf/sg_block_cache_bpf.h: the cache's
  // fill then orders its epoch read before a lookup of its own). Unset: as
  // the build's CPU (x86 keeps loads in order; others may not). Set to test.
  std::optional<bool> weak_load_order;
};

// One block as the kernel holds it.
struct KernelBlock {
  sg_addr key{};
  sg_block block{};
};

// One prefix block as the kernel holds it (sg_prefix4 / sg_prefix6).
struct KernelPrefixBlock {
  Prefix prefix;
  sg_prefix_block block{};
};

// One interface the program is attached to.
struct XdpAttachment {
  std::string ifname;
  int ifindex = 0;
  XdpMode mode = XdpMode::kAuto;  // the mode the kernel chose: kNative or kGeneric
  uint32_t prog_id = 0;
  std::string note;         // what attach() had to clean up first, if anything ("" otherwise)
  bool dispatcher = false;  // joined libxdp's dispatcher (else: attached through our bpf_link)
};

// Our run priority in libxdp's dispatcher: lower runs first, libxdp's default
// is 50. Running first drops blocked sources before other programs spend
// cycles on them; our XDP_PASS hands the packet to the next program.
inline constexpr unsigned kDispatcherRunPrio = 10;

const char* xdpModeName(XdpMode mode);  // "auto", "native", "generic"

// Whether the kernel has the conntrack kfuncs (bpf_xdp_ct_lookup,
// bpf_ct_release) the program calls (the ACK check of SYN cookies, the
// reflection check); looked up once (xdp_sensor_cookies.cpp).
bool conntrackKfuncsPresent();

class XdpSensor {
 public:
  static Result<std::unique_ptr<XdpSensor>> load(const SensorOptions& options);
  ~XdpSensor();
  XdpSensor(const XdpSensor&) = delete;
  XdpSensor& operator=(const XdpSensor&) = delete;

  // ---- attachment (xdp_sensor_attach.cpp, xdp_sensor_dispatcher.cpp) ----
  // Attaches through a bpf_link when the interface is free. Where libxdp's
  // dispatcher runs already (programs loaded with libxdp or xdp-loader), or
  // when `coexist` asks for it, joins the dispatcher instead, at
  // kDispatcherRunPrio. Cleans up a stale syn_guard_xdp left by a dead agent
  // (netlink-attached, or in the dispatcher), saying so in the attachment's
  // note; refuses another live syn-guard agent and a foreign XDP program
  // attached directly (not through the dispatcher), naming it.
  Result<void> attach(const std::string& ifname, XdpMode mode, bool coexist = false);
  const std::vector<XdpAttachment>& attachments() const { return attachments_; }
  void detachAll();

  // ---- run-time configuration and state (xdp_sensor.cpp) ----
  Result<void> setConfig(const sg_config& cfg);
  // Replaces the allowlist trie's contents: adds the new, deletes the stale;
  // keeps each prefix block's SG_PFX_ALLOW_CHECK (set before an overlapping
  // entry is added, cleared after the last one is deleted).
  Result<void> setAllowlist(const std::vector<Prefix>& allow);
  // Counters summed over CPUs.
  Result<sg_counters> readCounters();

  // ---- blocks and sources (xdp_sensor_blocks.cpp) ----
  Result<std::vector<KernelBlock>> listBlocks();
  Result<void> addBlock(const sg_addr& key, const sg_block& block);
  // Returns whether the block existed.
  Result<bool> removeBlock(const sg_addr& key);
  // Sets SG_BLK_HANDED_OFF: the XDP program stops dropping, nftables holds it.
  Result<void> markHandedOff(const sg_addr& key);
  // Removes every block with expires_ns <= now_ns (kernelNowNs() time) and
  // returns them; then rebuilds the program's block prefilter.
  Result<std::vector<KernelBlock>> sweepExpired(uint64_t now_ns);
  // Filled slots of sg_slots (the per-CPU SLOTS_FILLED counters summed: a
  // slot never empties once filled).
  Result<size_t> sourceCount();
  // Slots of sg_slots: max_sources rounded up to a power of two.
  uint32_t sourceCapacity() const { return slots_; }
  uint32_t blockCapacity() const { return options_.max_blocks; }
  // The program's "a block may exist" summary of its prefilter (sg_blocks_maybe).
  bool blocksActiveHint() const;
  // Bits set in the block prefilter (for tests: stale bits cost a lookup).
  size_t blockBitsSet() const;
  // The prefilter bit of a key (the program's sg_block_bit of its hash).
  uint32_t blockBitOf(const sg_addr& key) const;
  // Steps of a prefilter rebuild, for a test to interleave kernel work with
  // (setRebuildHook): after the first listing, after the clearing.
  enum class RebuildStep { kListed, kCleared };
  void setRebuildHook(std::function<void(RebuildStep)> hook) { rebuild_hook_ = std::move(hook); }

  // ---- prefix blocks (xdp_sensor_prefixes.cpp) ----
  // `prefix` is an IPv4 prefix of length 1..31 (sg_prefix4) or an IPv6 one
  // of length 1..127 (sg_prefix6); anything else is kInvalidArgument (an
  // address-length prefix is a per-source block). Insert or replace, then
  // set the family's bit of the program's gate (sg_prefix_maybe). The
  // block's SG_PFX_ALLOW_CHECK is the sensor's: set when an entry of the
  // allowlist last written overlaps the prefix.
  Result<void> addPrefixBlock(const Prefix& prefix, const sg_prefix_block& block);
  // Returns whether it existed; clears the gate bit when its trie is empty.
  Result<bool> removePrefixBlock(const Prefix& prefix);
  Result<std::vector<KernelPrefixBlock>> listPrefixBlocks();
  uint32_t prefixBlockCapacity() const { return options_.max_prefix_blocks; }
  // The program's gate: SG_PREFIX_V4 | SG_PREFIX_V6 for tries that may hold a block.
  uint32_t prefixGate() const;

  // ---- destination-side counters (xdp_sensor_dst.cpp) ----
  // Flips the program's bank and reads every destination (core/dst_table.h).
  std::vector<DstSample> harvestDsts();
  uint32_t dstCapacity() const { return static_cast<uint32_t>(dsts_len_); }
  // The handshake tracepoint is attached: completions are counted.
  bool handshakesVisible() const { return handshake_link_ != nullptr; }
  // Why it is not ("" when it is).
  const std::string& handshakeNote() const { return handshake_note_; }
  // ---- SYN cookies (xdp_sensor_cookies.cpp, bpf/sg_syncookie.h) ----
  // Turns XDP SYN cookies on or off for `port`, on every local address
  // (`dst` unset) or on one. Idempotent. The kernel's SYNPROXY must hold the
  // port while they are on (SynproxyRules, synproxy_rules.h): it completes
  // the handshakes whose cookies the program passes. CookieResponse
  // (syncookie_response.h) does both. Turning them on is refused
  // (kUnavailable) where the kernel lacks the conntrack kfuncs the ACK check
  // calls (nf_conntrack a module not loaded when the program loaded).
  Result<void> setCookies(uint16_t port, const std::optional<Address>& dst, bool on);
  // What the program's SYN-ACK advertises (MSS, window scale: the listener's
  // own) and its TTL; validated by validateSynCookieConfig (core/syncookie_config.h).
  void setCookieParams(uint16_t mss4, uint16_t mss6, uint8_t wscale, uint8_t ttl);
  // Ports with cookies on (any address or some).
  uint32_t cookiePorts() const;

  // ---- challenge instead of block (xdp_sensor_challenge.cpp, bpf/sg_challenge.h) ----
  // Challenges need the conntrack kfuncs too; without them the program
  // blocks instead (and counts challenges_fallback_total).
  static bool challengeAvailable();
  // Arms the challenge of a (masked) source the program marked challenged:
  // from now its SYNs get cookie SYN-ACKs and its ACKs are checked, until
  // `expires_ns`. The kernel's SYNPROXY must cover the source first
  // (SynproxyRules::addSources). Re-arming moves the expiry.
  Result<void> armChallenge(const sg_addr& key, uint64_t expires_ns);
  // Disarms it (no error when it is not armed).
  Result<void> disarmChallenge(const sg_addr& key);
  size_t armedChallenges() const;

  // ---- signature drop (xdp_sensor_sigs.cpp, bpf/sg_sig_bpf.h) ----
  // Installs the signatures of a flooded target (local address, port): its
  // SYNs matching one are dropped (counted only, detect-only). Empty:
  // removes them. At most SG_SIG_MAX. Idempotent.
  Result<void> setSignatures(const sg_addr& dst, uint16_t port, const std::vector<sg_sig>& sigs);
  // SYNs each installed signature of the target matched (approximate).
  Result<std::vector<uint64_t>> signatureMatches(const sg_addr& dst, uint16_t port);
  // Targets with signatures (the program's gate).
  uint32_t signatureTargets() const;
  // ---- the host's own addresses (xdp_sensor_local.cpp, bpf/sg_local.h) ----
  // The destination counters and SYN cookies act only for these from now on
  // (until the first call: for every destination). kResourceExhausted past
  // SG_LOCAL_MAX addresses (then the check is off again).
  Result<void> setLocalAddresses(const std::vector<Address>& addrs);
  // ---- reflection and verified sources (xdp_sensor_reflect.cpp) ----
  // Looks inbound SYN-ACKs up (`on`) and drops the unmatched ones from the
  // listed reflectors (`drop`, while a reflection lasts); bpf/sg_reflect.h.
  void setReflection(bool on, bool drop);
  // Lists reflectors for the drop (sg_reflect_drops, an LRU of
  // SG_REFLECT_DROPS_MAX) / empties the list.
  void addReflectorDrops(const std::vector<ReflectorCount>& reflectors);
  void clearReflectorDrops();
  // Whether the program can tell a reflected SYN-ACK from a NATed or
  // forwarded connection's: it needs the conntrack kfuncs and the host's
  // address list in force (setLocalAddresses). Without either it never
  // drops (it counts reflection_unchecked_total).
  bool reflectionCanDrop() const;
  // Reads and empties sg_reflectors: the unmatched SYN-ACKs per reflector
  // since the last call (approximate: an update racing the delete is lost).
  std::vector<ReflectorCount> harvestReflectors();
  // Records handshakes' peers and lets them pass port-flood responses for
  // `ttl_ns`, at most `per_prefix` new addresses per /48 (IPv6) or /24
  // (IPv4) per TTL window, a 16th of those (at least 1) per IPv6 /64, half
  // of max_verified in all and a 16th of that per IPv6 /32 or IPv4 /16;
  // per_prefix 0: no cap (bpf/sg_verified.h).
  void setVerified(bool on, uint64_t ttl_ns, uint32_t per_prefix);
  // Entries of sg_verified whose handshake is younger than the TTL.
  size_t verifiedCount();
  uint32_t verifiedCapacity() const { return options_.max_verified; }
  // Entries of sg_verified_pfx, the caps' windows (live or over).
  size_t verifiedWindowCount();
  // Tests: writes an entry (a handshake at `at_ns`, program time) / reads one.
  Result<void> addVerified(const sg_addr& key, uint64_t at_ns);
  std::optional<uint64_t> verifiedAt(const sg_addr& key);

  // ---- pins (xdp_sensor_pins.cpp) ----
  // What load() did with the pins: reused, recreated (and why), or off.
  const std::vector<std::string>& pinNotes() const { return pin_notes_; }
  bool pinning() const { return pinning_; }

  // ---- the program's clock (xdp_sensor_clock.cpp) ----
  // Now in the program's time base: CLOCK_MONOTONIC + the learnt offset. It
  // runs ahead of the program's jiffies clock by less than one jiffy.
  uint64_t kernelNowNs() const;
  uint64_t nsPerJiffy() const { return ns_per_jiffy_; }
  // Re-learns the offset by running sg_clock_probe (done once by load()).
  Result<void> calibrateClock();

  // ---- events (xdp_sensor.cpp) ----
  // Epoll-able fd that becomes readable when events wait.
  int ringBufferFd() const;
  // Hands every waiting event to `fn` (no waiting); returns how many.
  Result<int> pollEvents(const std::function<void(const sg_event&)>& fn);

  // ---- for tests and benchmarks ----
  int progFd() const;
  const struct btf* objectBtf() const;  // the loaded object's BTF
  uint32_t ncpus() const { return ncpus_; }
  // The key the loaded program hashes sources with (a Tracker given it
  // chooses the same slot sets and sketch cells).
  const sg_hash_key& hashKey() const { return hash_key_; }

 private:
  XdpSensor(SensorOptions options, syn_guard* skel, uint32_t ncpus);
  Result<void> rebuildBlockBits();
  // After load: maps sg_dsts and attaches the handshake tracepoint (a
  // failure to attach is a note, not an error: the counts go on without).
  Result<void> openDsts();
  void closeDsts();
  // After load: maps sg_block_cache (read-only) for the drops it counted.
  Result<void> openBlockCache();
  void closeBlockCache();
  // The drops counted through the block cache for the block of `key` that
  // expires at `expires_ns` (0 when its entry holds another block).
  uint64_t cachedDrops(const sg_addr& key, uint64_t expires_ns) const;
  // After a change to sg_blocks that may end or soften a block before its
  // expiry: the program's block cache forgets every entry.
  void bumpBlockEpoch();
  Result<void> preparePins(const std::string& dir);
  Result<void> restorePinnedBlocks();
  // Pinned prefix blocks: handed-off ones taken back, the gate set.
  Result<void> restorePinnedPrefixes();
  void setPrefixGate(uint32_t bits, bool on);
  // Rewrites SG_PFX_ALLOW_CHECK of every prefix block for `allow`, keeping
  // it set where `also` overlaps too.
  Result<void> markAllowOverlaps(const std::vector<Prefix>& allow, const std::vector<Prefix>& also);
  // The hash secret pinned beside the count state (pin_dir/sg_hash_key), so
  // that reused slots and tags stay where the program looks for them.
  Result<std::optional<sg_hash_key>> readPinnedHashKey(const std::string& dir) const;
  Result<void> pinHashKey(const std::string& dir);
  void setBlockBit(const sg_addr& key);
  void fillBlockBits();
  Result<void> detachStale(int ifindex, const std::string& ifname, uint32_t mode_flags,
                           uint32_t prog_id, std::string* note);
  // Removes dead agents' syn_guard_xdp from the dispatcher on `ifindex`;
  // refuses a live one. Returns whether a dispatcher is still attached.
  Result<bool> cleanDispatcher(int ifindex, const std::string& ifname, std::string* note);
  // A copy of syn_guard_xdp sharing every map, joined to the dispatcher.
  Result<void> joinDispatcher(XdpMode mode, XdpAttachment info);
  Result<bpf_object*> openProgramCopy();
  static bool dispatcherAttached(int ifindex);

  struct Link {
    int fd = -1;                   // our bpf_link; -1 in the dispatcher
    xdp_program* xdp = nullptr;    // our program in libxdp's dispatcher
    bpf_object* object = nullptr;  // the copy it was loaded from (our maps)
    XdpAttachment info;
  };
  // Detaches our program from the dispatcher and frees the copy.
  static void leaveDispatcher(Link& link);

  SensorOptions options_;
  syn_guard* skel_ = nullptr;
  ring_buffer* events_ = nullptr;
  uint32_t ncpus_ = 1;
  sg_hash_key hash_key_{};
  uint32_t slots_ = 0;
  uint64_t ns_per_jiffy_ = 0;
  int64_t clock_offset_ns_ = 0;  // program time - CLOCK_MONOTONIC
  std::vector<Link> links_;
  std::vector<XdpAttachment> attachments_;
  const std::function<void(const sg_event&)>* on_event_ = nullptr;
  std::function<void(RebuildStep)> rebuild_hook_;
  std::vector<std::string> pin_notes_;
  std::vector<Prefix> allow_;  // the allowlist last written to sg_allow
  bool blocks_reused_ = false;
  bool pinning_ = false;  // preparePins set the pin paths
  int consumed_ = 0;
  sg_dst* dsts_ = nullptr;                             // sg_dsts through its mmap
  const sg_block_cache_entry* block_cache_ = nullptr;  // sg_block_cache through its mmap
  size_t block_cache_len_ = 0;
  size_t dsts_len_ = 0;
  bpf_link* handshake_link_ = nullptr;
  std::string handshake_note_;

  static int onRingSample(void* ctx, void* data, size_t size);
};

}  // namespace sg
