// FakeSensor: an in-memory SensorPort for unit tests of the agent's logic.
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "agent/sensor_port.h"

namespace sg::agent {

class FakeSensor final : public SensorPort {
 public:
  sg_config config{};
  std::vector<Prefix> allow;
  sg_counters counters{};
  std::vector<BlockEntry> blocks;
  std::deque<sg_event> pending;
  std::vector<PrefixBlockEntry> prefix_blocks;
  size_t sources = 0;
  int handed_off = 0;
  bool fail_handoff = false;   // markHandedOff fails (a map update error)
  bool fail_remove = false;    // removeBlock fails (a map delete error)
  size_t prefix_capacity = 8;  // addPrefixBlock of a new prefix fails past it, as a full trie
  std::optional<std::vector<Address>> local;  // setLocalAddresses: nullopt until called
  bool fail_local = false;

  Result<void> setLocalAddresses(const std::vector<Address>& addrs) override {
    if (fail_local) return Error(Errc::kResourceExhausted, "too many local addresses");
    local = addrs;
    return Ok{};
  }
  bool reflect_on = false, reflect_drop = false;  // setReflection
  std::vector<ReflectorCount> reflectors;         // harvestReflectors hands these out once
  bool verified_on = false;
  uint64_t verified_ttl_ns = 0;
  uint32_t verified_per_prefix = 0;
  std::set<std::pair<std::string, uint16_t>> reflector_drops;  // addReflectorDrops
  bool can_drop_reflections = true;                            // reflectionCanDrop
  uint64_t tick_ns = 4'000'000;                                // clockTickNs (HZ=250)

  uint64_t clockTickNs() const override { return tick_ns; }

  Result<void> setConfig(const sg_config& cfg) override {
    config = cfg;
    return Ok{};
  }
  Result<void> setAllowlist(const std::vector<Prefix>& a) override {
    allow = a;
    return Ok{};
  }
  Result<sg_counters> readCounters() override { return counters; }
  Result<std::vector<BlockEntry>> listBlocks() override { return blocks; }
  Result<void> addBlock(const sg_addr& key, const sg_block& block) override {
    (void)eraseBlock(key);
    blocks.push_back({key, block});
    return Ok{};
  }
  Result<bool> removeBlock(const sg_addr& key) override {
    if (fail_remove) return Error(Errc::kIo, "map delete failed");
    return eraseBlock(key);
  }
  bool eraseBlock(const sg_addr& key) {
    for (auto it = blocks.begin(); it != blocks.end(); ++it) {
      if (std::memcmp(it->key.b, key.b, 16) == 0) {
        blocks.erase(it);
        return true;
      }
    }
    return false;
  }
  Result<void> markHandedOff(const sg_addr& key) override {
    if (fail_handoff) return Error(Errc::kIo, "map update failed");
    for (auto& e : blocks) {
      if (std::memcmp(e.key.b, key.b, 16) == 0) e.block.flags |= SG_BLK_HANDED_OFF;
    }
    handed_off++;
    return Ok{};
  }
  Result<std::vector<BlockEntry>> sweepExpired(uint64_t now_ns) override {
    std::vector<BlockEntry> out, keep;
    for (const auto& e : blocks) (e.block.expires_ns <= now_ns ? out : keep).push_back(e);
    blocks = keep;
    return out;
  }
  Result<size_t> sourceCount() override { return sources; }
  size_t sourceCapacity() const override { return 1024; }
  size_t blockCapacity() const override { return 64; }
  int eventsFd() override { return -1; }
  Result<void> addPrefixBlock(const Prefix& prefix, const sg_prefix_block& block) override {
    // The kernel's tries take IPv4 /1../31 and IPv6 /1../127 only.
    const bool v4 = prefix.addr.isV4() && prefix.bits >= 96;
    if (v4 ? (prefix.bits == 96 || prefix.bits == 128) : (prefix.bits == 0 || prefix.bits == 128))
      return Error(Errc::kInvalidArgument, "not a prefix-block length: " + prefix.str());
    for (auto& e : prefix_blocks) {
      if (e.prefix == prefix) {
        e.block = block;
        return Ok{};
      }
    }
    if (prefix_blocks.size() >= prefix_capacity)
      return Error(Errc::kResourceExhausted, "prefix-block table full");
    prefix_blocks.push_back({prefix, block});
    return Ok{};
  }
  Result<bool> removePrefixBlock(const Prefix& prefix) override {
    for (auto it = prefix_blocks.begin(); it != prefix_blocks.end(); ++it) {
      if (it->prefix == prefix) {
        prefix_blocks.erase(it);
        return true;
      }
    }
    return false;
  }
  Result<std::vector<PrefixBlockEntry>> listPrefixBlocks() override { return prefix_blocks; }
  size_t prefixBlockCapacity() const override { return prefix_capacity; }
  // Signature drop: the signatures per target ("dst:port", hex-free key).
  std::map<std::pair<std::string, uint16_t>, std::vector<sg_sig>> signatures;
  bool fail_signatures = false;
  Result<void> setSignatures(const sg_addr& dst, uint16_t port,
                             const std::vector<sg_sig>& sigs) override {
    if (fail_signatures) return Error(Errc::kIo, "sg_sig_sets full");
    const std::pair<std::string, uint16_t> k{std::string(reinterpret_cast<const char*>(dst.b), 16),
                                             port};
    if (sigs.empty()) {
      signatures.erase(k);
    } else {
      signatures[k] = sigs;
    }
    return Ok{};
  }
  void setReflection(bool on, bool drop) override {
    reflect_on = on;
    reflect_drop = drop;
  }
  std::vector<ReflectorCount> harvestReflectors() override {
    std::vector<ReflectorCount> out;
    out.swap(reflectors);
    return out;
  }
  void addReflectorDrops(const std::vector<ReflectorCount>& r) override {
    for (const ReflectorCount& c : r) reflector_drops.insert({c.src.str(), c.port});
  }
  void clearReflectorDrops() override { reflector_drops.clear(); }
  bool reflectionCanDrop() const override { return can_drop_reflections; }
  void setVerified(bool on, uint64_t ttl_ns, uint32_t per_prefix) override {
    verified_on = on;
    verified_ttl_ns = ttl_ns;
    verified_per_prefix = per_prefix;
  }
  Result<int> pollEvents(const std::function<void(const sg_event&)>& fn) override {
    int n = 0;
    while (!pending.empty()) {
      fn(pending.front());
      pending.pop_front();
      n++;
    }
    return n;
  }
};

}  // namespace sg::agent
