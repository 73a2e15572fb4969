// XdpSensorPort: the agent's SensorPort over the Linux XDP sensor.
#pragma once

#include <memory>

#include "agent/sensor_port.h"
#include "linux/xdp_sensor.h"

namespace sg::agent {

class XdpSensorPort final : public SensorPort {
 public:
  explicit XdpSensorPort(std::unique_ptr<XdpSensor> sensor) : sensor_(std::move(sensor)) {}

  XdpSensor& sensor() { return *sensor_; }

  Result<void> setConfig(const sg_config& cfg) override { return sensor_->setConfig(cfg); }
  Result<void> setAllowlist(const std::vector<Prefix>& allow) override {
    return sensor_->setAllowlist(allow);
  }
  Result<sg_counters> readCounters() override { return sensor_->readCounters(); }
  Result<std::vector<BlockEntry>> listBlocks() override { return convert(sensor_->listBlocks()); }
  Result<void> addBlock(const sg_addr& key, const sg_block& block) override {
    return sensor_->addBlock(key, block);
  }
  Result<bool> removeBlock(const sg_addr& key) override { return sensor_->removeBlock(key); }
  Result<void> markHandedOff(const sg_addr& key) override { return sensor_->markHandedOff(key); }
  Result<std::vector<BlockEntry>> sweepExpired(uint64_t now_ns) override {
    return convert(sensor_->sweepExpired(now_ns));
  }
  Result<size_t> sourceCount() override { return sensor_->sourceCount(); }
  size_t sourceCapacity() const override { return sensor_->sourceCapacity(); }
  size_t blockCapacity() const override { return sensor_->blockCapacity(); }
  int eventsFd() override { return sensor_->ringBufferFd(); }
  uint64_t clockTickNs() const override { return sensor_->nsPerJiffy(); }
  Result<int> pollEvents(const std::function<void(const sg_event&)>& fn) override {
    return sensor_->pollEvents(fn);
  }
  Result<void> addPrefixBlock(const Prefix& prefix, const sg_prefix_block& block) override {
    return sensor_->addPrefixBlock(prefix, block);
  }
  Result<bool> removePrefixBlock(const Prefix& prefix) override {
    return sensor_->removePrefixBlock(prefix);
  }
  Result<std::vector<PrefixBlockEntry>> listPrefixBlocks() override {
    auto in = sensor_->listPrefixBlocks();
    if (!in) return in.error();
    std::vector<PrefixBlockEntry> out;
    out.reserve(in->size());
    for (const auto& b : *in) out.push_back({b.prefix, b.block});
    return out;
  }
  size_t prefixBlockCapacity() const override { return sensor_->prefixBlockCapacity(); }
  std::vector<DstSample> harvestDsts() override { return sensor_->harvestDsts(); }
  size_t dstCapacity() const override { return sensor_->dstCapacity(); }
  bool handshakesVisible() const override { return sensor_->handshakesVisible(); }
  Result<void> setSignatures(const sg_addr& dst, uint16_t port,
                             const std::vector<sg_sig>& sigs) override {
    return sensor_->setSignatures(dst, port, sigs);
  }
  Result<void> setLocalAddresses(const std::vector<Address>& addrs) override {
    return sensor_->setLocalAddresses(addrs);
  }
  void setReflection(bool on, bool drop) override { sensor_->setReflection(on, drop); }
  std::vector<ReflectorCount> harvestReflectors() override { return sensor_->harvestReflectors(); }
  void addReflectorDrops(const std::vector<ReflectorCount>& r) override {
    sensor_->addReflectorDrops(r);
  }
  void clearReflectorDrops() override { sensor_->clearReflectorDrops(); }
  bool reflectionCanDrop() const override { return sensor_->reflectionCanDrop(); }
  void setVerified(bool on, uint64_t ttl_ns, uint32_t per_prefix) override {
    sensor_->setVerified(on, ttl_ns, per_prefix);
  }
  size_t verifiedCount() override { return sensor_->verifiedCount(); }
  size_t verifiedCapacity() const override { return sensor_->verifiedCapacity(); }

 private:
  static Result<std::vector<BlockEntry>> convert(Result<std::vector<KernelBlock>> in) {
    if (!in) return in.error();
    std::vector<BlockEntry> out;
    out.reserve(in->size());
    for (const auto& b : *in) out.push_back({b.key, b.block});
    return out;
  }

  std::unique_ptr<XdpSensor> sensor_;
};

}  // namespace sg::agent
