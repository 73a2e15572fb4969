// LocalAddresses: keeps the sensor's list of the host's own addresses
// (bpf/sg_local.h) current, so that the destination counters and XDP SYN
// cookies act only for this host, never for traffic it forwards. The agent
// syncs at start and whenever rtnetlink reports an address change; a failure
// (the addresses unreadable, the sensor refusing) is logged once per
// episode and counted, and the sensor keeps its last good list.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/event_log.h"
#include "agent/sensor_port.h"
#include "core/address.h"
#include "core/result.h"

namespace sg::agent {

class LocalAddresses {
 public:
  using Reader = std::function<Result<std::vector<Address>>()>;
  // `read`: the host's addresses now (null: unknown, sync() does nothing
  // and the sensor treats every destination as local).
  LocalAddresses(SensorPort& sensor, EventLog& log, Reader read)
      : sensor_(sensor), log_(log), read_(std::move(read)) {}

  void sync();
  uint64_t errors() const { return errors_; }
  size_t count() const { return count_; }

 private:
  SensorPort& sensor_;
  EventLog& log_;
  Reader read_;
  uint64_t errors_ = 0;
  size_t count_ = 0;
  std::string last_error_;
};

}  // namespace sg::agent
