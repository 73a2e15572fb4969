// XdpSensor: loading, configuration, counters and events. Blocks live in
// xdp_sensor_blocks.cpp, attachment in xdp_sensor_attach.cpp.
#include "linux/xdp_sensor.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "linux/bpf_layout.h"
#include "linux/errno_text.h"
#include "linux/xdp_sensor_clock.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

constexpr size_t kVerifierLogSize = 4 << 20;
constexpr size_t kVerifierTail = 3000;  // characters of the log shown in the error

// The end of the verifier's log: the instruction that failed and why.
std::string logTail(const std::vector<char>& log) {
  std::string text(log.data(), strnlen(log.data(), log.size()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  if (text.size() > kVerifierTail) text = "..." + text.substr(text.size() - kVerifierTail);
  return text;
}

Error loadError(int err, const std::vector<char>& log) {
  const int e = err < 0 ? -err : err;
  if (log[0] != '\0') {
    return makeError(Errc::kUnavailable, "the kernel's verifier rejected the XDP program (" +
                                             errnoText(e) + "); log tail:\n" + logTail(log));
  }
  if (e == EPERM || e == EACCES) {
    return makeError(Errc::kPermissionDenied,
                     "loading the XDP program needs CAP_BPF and CAP_NET_ADMIN (run as root)");
  }
  return makeError(Errc::kUnavailable, "loading the XDP program failed: " + errnoText(e));
}

// 128 bits from the kernel's CSPRNG (blocks only until it is seeded at boot).
Result<sg_hash_key> randomHashKey() {
  sg_hash_key k{};
  auto* p = reinterpret_cast<uint8_t*>(&k);
  size_t got = 0;
  while (got < sizeof(k)) {
    const ssize_t n = getrandom(p + got, sizeof(k) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return makeError(Errc::kIo, "getrandom for the hash key failed: " + errnoText(errno));
    got += static_cast<size_t>(n);
  }
  return k;
}

// The inode of this process's network namespace: the handshake tracepoint
// counts only sockets of it (0, none found: every namespace).
uint32_t ownNetnsInode() {
  struct stat st {};
  if (stat("/proc/self/ns/net", &st) != 0) return 0;
  return static_cast<uint32_t>(st.st_ino);
}

bool sameKey(const sg_lpm_key& a, const sg_lpm_key& b) {
  return a.prefixlen == b.prefixlen && std::memcmp(a.addr.b, b.addr.b, 16) == 0;
}

}  // namespace

const char* xdpModeName(XdpMode mode) {
  switch (mode) {
    case XdpMode::kAuto:
      return "auto";
    case XdpMode::kNative:
      return "native";
    case XdpMode::kGeneric:
      return "generic";
  }
  return "?";
}

XdpSensor::XdpSensor(SensorOptions options, syn_guard* skel, uint32_t ncpus)
    : options_(options), skel_(skel), ncpus_(ncpus) {}

Result<std::unique_ptr<XdpSensor>> XdpSensor::load(const SensorOptions& options) {
  if (options.max_sources < 1024 || options.max_sources > (16u << 20)) {
    return makeError(Errc::kInvalidArgument, "max_sources " + std::to_string(options.max_sources) +
                                                 " is out of range 1024..16777216");
  }
  if (options.max_blocks < 16 || options.max_blocks > (1u << 20)) {
    return makeError(Errc::kInvalidArgument, "max_blocks " + std::to_string(options.max_blocks) +
                                                 " is out of range 16..1048576");
  }
  if (options.max_dsts < 64 || options.max_dsts > 65536) {
    return makeError(Errc::kInvalidArgument,
                     "max_dsts " + std::to_string(options.max_dsts) + " is out of range 64..65536");
  }
  if (options.max_verified < 1024 || options.max_verified > (4u << 20)) {
    return makeError(
        Errc::kInvalidArgument,
        "max_verified " + std::to_string(options.max_verified) + " is out of range 1024..4194304");
  }
  if (options.max_prefix_blocks < 1 || options.max_prefix_blocks > 65536) {
    return makeError(Errc::kInvalidArgument, "max_prefix_blocks " +
                                                 std::to_string(options.max_prefix_blocks) +
                                                 " is out of range 1..65536");
  }
  const int ncpus = libbpf_num_possible_cpus();
  if (ncpus <= 0) {
    return makeError(Errc::kIo, "cannot count the possible CPUs: " + errnoText(-ncpus));
  }
  auto hz = kernelHz();
  if (!hz.ok()) return hz.error();

  std::vector<char> log(kVerifierLogSize, '\0');
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .kernel_log_buf = log.data(),
              .kernel_log_size = log.size(), .kernel_log_level = 0);
  syn_guard* skel = syn_guard__open_opts(&open_opts);
  if (skel == nullptr) {
    return makeError(Errc::kIo, "opening the embedded XDP object failed: " + errnoText(errno));
  }
  std::unique_ptr<XdpSensor> sensor(new XdpSensor(options, skel, static_cast<uint32_t>(ncpus)));

  std::optional<sg_hash_key> pinned_key;
  if (!options.hash_key && !options.pin_dir.empty()) {
    auto k = sensor->readPinnedHashKey(options.pin_dir);
    if (!k.ok()) return k.error();
    pinned_key = *k;
  }
  if (options.hash_key) {
    sensor->hash_key_ = *options.hash_key;
  } else if (pinned_key) {
    sensor->hash_key_ = *pinned_key;  // the pinned slots were placed with it
  } else {
    auto key = randomHashKey();
    if (!key.ok()) return key.error();
    sensor->hash_key_ = *key;
  }
  skel->rodata->sg_hash_key.k0 = sensor->hash_key_.k0;
  skel->rodata->sg_hash_key.k1 = sensor->hash_key_.k1;
  sensor->ns_per_jiffy_ = 1'000'000'000ull / *hz;
  skel->rodata->sg_ns_per_jiffy = sensor->ns_per_jiffy_;
  uint32_t slots = SG_SLOT_WAYS;
  while (slots < options.max_sources) slots <<= 1;
  sensor->slots_ = slots;
  skel->rodata->sg_slot_set_mask = slots / SG_SLOT_WAYS - 1;
  int err = bpf_map__set_max_entries(skel->maps.sg_slots, slots);
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_tags, slots / SG_SLOT_WAYS);
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_blocks, options.max_blocks);
  // The block cache (bpf/sg_block_cache_bpf.h): direct-mapped, twice the
  // blocks rounded up to a power of two (at most 2^20), so that few blocks share an entry.
  uint32_t cache = 2;
  while (cache < 2 * options.max_blocks && cache < (1u << 20)) cache <<= 1;
  skel->rodata->sg_block_cache_mask = cache - 1;
#if defined(__x86_64__) || defined(__i386__)
  constexpr bool kWeakLoadOrder = false;  // TSO: loads are not reordered with older loads
#else
  constexpr bool kWeakLoadOrder = true;
#endif
  skel->rodata->sg_block_cache_weak = options.weak_load_order.value_or(kWeakLoadOrder) ? 1 : 0;
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_block_cache, cache);
  // Recent offenders: as many as there can be blocks (written once per block).
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_offenders, options.max_blocks);
  // Armed challenges (bpf/sg_challenge.h): each is a block entry too.
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_challenged, options.max_blocks);
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_prefix4, options.max_prefix_blocks);
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_prefix6, options.max_prefix_blocks);
  // Per-source completion windows (bpf/sg_handshake_bpf.h): an LRU of a
  // quarter of the slots; only sources that complete often need an entry.
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_src_done, slots / 4);
  uint32_t dsts = SG_DST_WAYS;
  while (dsts < options.max_dsts) dsts <<= 1;
  skel->rodata->sg_dst_set_mask = dsts / SG_DST_WAYS - 1;
  skel->rodata->sg_netns_ino = ownNetnsInode();
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_dsts, dsts);
  if (err == 0) err = bpf_map__set_max_entries(skel->maps.sg_verified, options.max_verified);
  // The caps' windows (sg_verified.h): a new address makes at most three
  // (its /64, /48, /32) and the table takes max_verified / 2 a TTL, so the
  // windows of a TTL's verifications fit twice over in normal use.
  if (err == 0) {
    err = bpf_map__set_max_entries(skel->maps.sg_verified_pfx, 2 * options.max_verified);
  }
  if (err != 0) return makeError(Errc::kIo, "sizing the maps failed: " + errnoText(-err));

  if (!options.pin_dir.empty()) SG_TRY(sensor->preparePins(options.pin_dir));

  err = syn_guard__load(skel);
  if (err != 0) return loadError(err, log);
  SG_TRY(sensor->restorePinnedBlocks());
  if (sensor->pinning()) SG_TRY(sensor->restorePinnedPrefixes());
  if (sensor->pinning()) SG_TRY(sensor->pinHashKey(options.pin_dir));
  SG_TRY(sensor->calibrateClock());
  SG_TRY(sensor->openDsts());
  SG_TRY(sensor->openBlockCache());

  sensor->events_ = ring_buffer__new(bpf_map__fd(skel->maps.sg_events), &XdpSensor::onRingSample,
                                     sensor.get(), nullptr);
  if (sensor->events_ == nullptr) {
    return makeError(Errc::kIo, "opening the event ring buffer failed: " + errnoText(errno));
  }
  return sensor;
}

XdpSensor::~XdpSensor() {
  detachAll();
  closeDsts();
  closeBlockCache();
  if (events_ != nullptr) ring_buffer__free(events_);
  if (skel_ != nullptr) syn_guard__destroy(skel_);
}

int XdpSensor::progFd() const { return bpf_program__fd(skel_->progs.syn_guard_xdp); }

const struct btf* XdpSensor::objectBtf() const { return bpf_object__btf(skel_->obj); }

Result<void> XdpSensor::setConfig(const sg_config& cfg) {
  const uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_config_map), &zero, &cfg, BPF_ANY) != 0) {
    return makeError(Errc::kIo, "writing the kernel config failed: " + errnoText(errno));
  }
  return Ok{};
}

Result<void> XdpSensor::setAllowlist(const std::vector<Prefix>& allow) {
  const int fd = bpf_map__fd(skel_->maps.sg_allow);
  // Prefix blocks the new entries overlap check the allowlist before the
  // entries exist, so that no allowed source inside one is dropped meanwhile.
  SG_TRY(markAllowOverlaps(allow, allow_));
  allow_ = allow;
  std::vector<sg_lpm_key> wanted;
  for (const Prefix& p : allow) wanted.push_back(p.lpmKey());

  // Add (or refresh) every wanted prefix first, so that no allowed source is
  // ever unprotected while the list changes.
  const uint8_t one = 1;
  for (const sg_lpm_key& k : wanted) {
    if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0) {
      const int e = errno;
      return makeError(e == ENOSPC || e == E2BIG ? Errc::kResourceExhausted : Errc::kIo,
                       "adding an allowlist prefix failed: " + errnoText(e));
    }
  }
  // Then delete what is no longer wanted.
  std::vector<sg_lpm_key> stale;
  sg_lpm_key cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    bool keep = false;
    for (const sg_lpm_key& k : wanted) keep = keep || sameKey(k, next);
    if (!keep) stale.push_back(next);
    cur = next;
    prev = &cur;
  }
  for (const sg_lpm_key& k : stale) {
    if (bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT) {
      return makeError(Errc::kIo, "removing a stale allowlist prefix failed: " + errnoText(errno));
    }
  }
  return markAllowOverlaps(allow, {});
}

Result<sg_counters> XdpSensor::readCounters() {
  const uint32_t zero = 0;
  std::vector<sg_counters> per_cpu(ncpus_);
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_counters_map), &zero, per_cpu.data()) != 0) {
    return makeError(Errc::kIo, "reading the kernel counters failed: " + errnoText(errno));
  }
  sg_counters sum{};
  for (const sg_counters& c : per_cpu) {
    for (int i = 0; i < SG_CNT__MAX; i++) sum.c[i] += c.c[i];
  }
  return sum;
}

int XdpSensor::ringBufferFd() const { return ring_buffer__epoll_fd(events_); }

int XdpSensor::onRingSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<XdpSensor*>(ctx);
  if (size < sizeof(sg_event)) return 0;  // not ours to judge: skip, keep consuming
  sg_event ev;
  std::memcpy(&ev, data, sizeof(ev));
  self->consumed_++;
  if (self->on_event_ != nullptr) (*self->on_event_)(ev);
  return 0;
}

Result<int> XdpSensor::pollEvents(const std::function<void(const sg_event&)>& fn) {
  on_event_ = &fn;
  consumed_ = 0;
  const int n = ring_buffer__consume(events_);
  on_event_ = nullptr;
  if (n < 0) return makeError(Errc::kIo, "reading the event ring buffer failed: " + errnoText(-n));
  return consumed_;
}

}  // namespace sg
