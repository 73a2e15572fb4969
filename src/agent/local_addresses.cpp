#include "agent/local_addresses.h"

namespace sg::agent {

void LocalAddresses::sync() {
  if (!read_) return;
  auto addrs = read_();
  Result<void> done = addrs ? sensor_.setLocalAddresses(*addrs) : Result<void>(addrs.error());
  if (!done) {
    errors_++;
    const std::string why = done.error().message();
    if (why != last_error_) {
      // A failed read leaves the sensor as it was; a failed write turns its
      // check off (XdpSensor::setLocalAddresses).
      log_.emit("error", {{"message", "the host's addresses for the XDP program: " + why},
                          {"effect", addrs ? "until a write succeeds, every destination counts "
                                             "as the host's own, and the reflection drop only "
                                             "counts"
                                           : "the last list written stays in force"}});
    }
    last_error_ = why;
    return;
  }
  last_error_.clear();
  count_ = addrs->size();
}

}  // namespace sg::agent
