// SensorPort: what the agent needs from a kernel sensor. The XDP sensor
// (src/linux/xdp_sensor.h) implements it through XdpSensorPort; unit tests use
// FakeSensor (fake_sensor.h). An ETW/WFP sensor on Windows will implement the
// same port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/address.h"
#include "core/dst_table.h"
#include "core/reflection.h"
#include "core/result.h"
#include "sg_shared.h"
#include "sg_sig.h"

namespace sg::agent {

struct BlockEntry {
  sg_addr key{};
  sg_block block{};
};

// A prefix block (Block Globally of a prefix): every source inside `prefix`.
struct PrefixBlockEntry {
  Prefix prefix;
  sg_prefix_block block{};
};

class SensorPort {
 public:
  virtual ~SensorPort() = default;
  virtual Result<void> setConfig(const sg_config& cfg) = 0;
  virtual Result<void> setAllowlist(const std::vector<Prefix>& allow) = 0;
  virtual Result<sg_counters> readCounters() = 0;
  virtual Result<std::vector<BlockEntry>> listBlocks() = 0;
  virtual Result<void> addBlock(const sg_addr& key, const sg_block& block) = 0;
  virtual Result<bool> removeBlock(const sg_addr& key) = 0;
  virtual Result<void> markHandedOff(const sg_addr& key) = 0;
  // Removes blocks whose expiry is <= now_ns and returns them.
  virtual Result<std::vector<BlockEntry>> sweepExpired(uint64_t now_ns) = 0;
  virtual Result<size_t> sourceCount() = 0;
  // Capacity of the per-source and block tables (for occupancy metrics).
  virtual size_t sourceCapacity() const = 0;
  virtual size_t blockCapacity() const = 0;
  // A file descriptor that becomes readable when events wait (-1: none).
  virtual int eventsFd() = 0;
  // The resolution of the times in its events and blocks (the XDP program's
  // clock: one jiffy, 1e9 / CONFIG_HZ ns); 0: unknown.
  virtual uint64_t clockTickNs() const { return 0; }
  // Hands every waiting event to `fn`; returns how many.
  virtual Result<int> pollEvents(const std::function<void(const sg_event&)>& fn) = 0;

  // Prefix blocks (IPv4 /1../31, IPv6 shorter than the counting prefix; an
  // address-length prefix is a per-source block). Only user space adds and
  // removes them; the kernel ignores expired ones. A sensor without them
  // (the defaults) refuses every prefix block and lists none.
  virtual Result<void> addPrefixBlock(const Prefix& prefix, const sg_prefix_block& block) {
    (void)block;
    return Error(Errc::kUnavailable, "this sensor cannot block a prefix (" + prefix.str() + ")");
  }
  // Returns whether it existed.
  virtual Result<bool> removePrefixBlock(const Prefix&) { return false; }
  virtual Result<std::vector<PrefixBlockEntry>> listPrefixBlocks() {
    return std::vector<PrefixBlockEntry>{};
  }
  virtual size_t prefixBlockCapacity() const { return 0; }

  // Destination-side counters (bpf/sg_dst.h): one harvest of every
  // destination (flips the kernel's bank). A sensor without them: none.
  virtual std::vector<DstSample> harvestDsts() { return {}; }
  virtual size_t dstCapacity() const { return 0; }
  // Completed handshakes are counted (the completion ratio means something).
  virtual bool handshakesVisible() const { return false; }

  // Signature drop (bpf/sg_sig.h): a flooded target's signatures, its SYNs
  // matching one dropped; empty: none. A sensor without it refuses any.
  virtual Result<void> setSignatures(const sg_addr& dst, uint16_t port,
                                     const std::vector<sg_sig>& sigs) {
    (void)dst;
    (void)port;
    if (sigs.empty()) return Ok{};
    return Error(Errc::kUnavailable, "this sensor cannot drop by signature");
  }
  // The host's own addresses (bpf/sg_local.h): the destination counters and
  // SYN cookies act only for these. A sensor without the check: ignored.
  virtual Result<void> setLocalAddresses(const std::vector<Address>& addrs) {
    (void)addrs;
    return Ok{};
  }
  // SYN-ACK reflection (bpf/sg_reflect.h) and verified sources
  // (bpf/sg_verified.h). A sensor without them: no-ops, nothing seen.
  virtual void setReflection(bool on, bool drop) { (void)on, (void)drop; }
  // The unmatched SYN-ACKs per reflector since the last call.
  virtual std::vector<ReflectorCount> harvestReflectors() { return {}; }
  // The reflectors whose unmatched SYN-ACKs the drop applies to: added
  // (bounded by the kernel's list; the oldest make room), all removed.
  virtual void addReflectorDrops(const std::vector<ReflectorCount>& reflectors) {
    (void)reflectors;
  }
  virtual void clearReflectorDrops() {}
  // Whether the drop can act: the sensor tells a NATed or forwarded
  // connection's SYN-ACK from a reflected one (conntrack). Else it counts only.
  virtual bool reflectionCanDrop() const { return false; }
  // `per_prefix`: new verified addresses per /48 (IPv6) or /24 (IPv4) per TTL.
  virtual void setVerified(bool on, uint64_t ttl_ns, uint32_t per_prefix) {
    (void)on, (void)ttl_ns, (void)per_prefix;
  }
  virtual size_t verifiedCount() { return 0; }
  virtual size_t verifiedCapacity() const { return 0; }
};

}  // namespace sg::agent
