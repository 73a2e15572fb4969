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
      log_.emit("error", {{"message", "the host's addresses for the XDP program: " + why},
                          {"effect", "the last list written stays in force"}});
    }
    last_error_ = why;
    return;
  }
  last_error_.clear();
  count_ = addrs->size();
}

}  // namespace sg::agent
