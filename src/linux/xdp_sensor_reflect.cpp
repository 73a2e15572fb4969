// XdpSensor: SYN-ACK reflection (bpf/sg_reflect.h) and verified sources
// (bpf/sg_verified.h). Their knobs are globals of the program's
// .data.reflect and .data.verified sections, written through the skeleton's
// mmap; sg_reflectors, sg_reflect_drops and sg_verified are LRU hashes read
// and written through the map syscalls. Only the agent's loop thread calls
// these.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {

bool XdpSensor::reflectionCanDrop() const {
  return conntrackKfuncsPresent() && __atomic_load_n(&skel_->bss->sg_local_on, __ATOMIC_SEQ_CST);
}

void XdpSensor::setReflection(bool on, bool drop) {
  volatile sg_reflect_params& p = skel_->data_reflect->sg_reflect;
  p.drop = drop ? 1 : 0;
  p.on = on ? 1 : 0;
}

std::vector<ReflectorCount> XdpSensor::harvestReflectors() {
  std::vector<ReflectorCount> out;
  const int fd = bpf_map__fd(skel_->maps.sg_reflectors);
  std::vector<sg_reflector_key> keys;
  sg_reflector_key cur{}, next{};
  const void* prev = nullptr;
  const size_t cap = bpf_map__max_entries(skel_->maps.sg_reflectors);
  while (keys.size() < cap && bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  for (const sg_reflector_key& k : keys) {
    uint64_t n = 0;
    if (bpf_map_lookup_and_delete_elem(fd, &k, &n) != 0) {
      // Kernels without lookup-and-delete on hashes: read, then delete.
      if (bpf_map_lookup_elem(fd, &k, &n) != 0) continue;
      (void)bpf_map_delete_elem(fd, &k);
    }
    ReflectorCount r;
    r.src.raw = k.src;
    r.port = k.port;
    r.count = n;
    out.push_back(r);
  }
  return out;
}

void XdpSensor::addReflectorDrops(const std::vector<ReflectorCount>& reflectors) {
  const int fd = bpf_map__fd(skel_->maps.sg_reflect_drops);
  const uint8_t one = 1;
  for (const ReflectorCount& r : reflectors) {
    sg_reflector_key k{};
    k.src = r.src.raw;
    k.port = r.port;
    (void)bpf_map_update_elem(fd, &k, &one, BPF_ANY);  // an LRU: never full
  }
}

void XdpSensor::clearReflectorDrops() {
  const int fd = bpf_map__fd(skel_->maps.sg_reflect_drops);
  sg_reflector_key k{};
  // Delete the first key until none is left (bounded: the map's size twice).
  for (uint32_t i = 0; i < 2 * SG_REFLECT_DROPS_MAX; i++) {
    if (bpf_map_get_next_key(fd, nullptr, &k) != 0) break;
    (void)bpf_map_delete_elem(fd, &k);
  }
}

void XdpSensor::setVerified(bool on, uint64_t ttl_ns, uint32_t per_prefix) {
  volatile sg_verified_params& p = skel_->data_verified->sg_verified_cfg;
  p.ttl_ns = ttl_ns;
  p.per_prefix = per_prefix;
  // One /64 takes at most a 16th of its /48's places (4 of the default 64),
  // the table half its entries per window, and one /32 or /16 a 16th of
  // those, so that it takes 16 of them to use up the table's window
  // (sg_verified.h: the caps).
  p.per_64 = std::max<uint32_t>(1, per_prefix / 16);
  p.per_ttl = options_.max_verified / 2;
  p.per_agg = std::max<uint32_t>(1, p.per_ttl / 16);
  p.on = on ? 1 : 0;
}

size_t XdpSensor::verifiedCount() {
  const int fd = bpf_map__fd(skel_->maps.sg_verified);
  const uint64_t now = kernelNowNs();
  const uint64_t ttl = skel_->data_verified->sg_verified_cfg.ttl_ns;
  size_t n = 0, seen = 0;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (seen++ < options_.max_verified && bpf_map_get_next_key(fd, prev, &next) == 0) {
    uint64_t at = 0;
    if (bpf_map_lookup_elem(fd, &next, &at) == 0 && at <= now && now - at < ttl) n++;
    cur = next;
    prev = &cur;
  }
  return n;
}

size_t XdpSensor::verifiedWindowCount() {
  const int fd = bpf_map__fd(skel_->maps.sg_verified_pfx);
  size_t n = 0;
  sg_addr cur{}, next{};
  const void* prev = nullptr;
  while (n < 2 * size_t{options_.max_verified} && bpf_map_get_next_key(fd, prev, &next) == 0) {
    n++;
    cur = next;
    prev = &cur;
  }
  return n;
}

Result<void> XdpSensor::addVerified(const sg_addr& key, uint64_t at_ns) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.sg_verified), &key, &at_ns, BPF_ANY) != 0) {
    return makeError(Errc::kIo, "writing sg_verified: " + errnoText(errno));
  }
  return Ok{};
}

std::optional<uint64_t> XdpSensor::verifiedAt(const sg_addr& key) {
  uint64_t at = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.sg_verified), &key, &at) != 0) {
    return std::nullopt;
  }
  return at;
}

}  // namespace sg
