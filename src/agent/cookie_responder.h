// CookieResponder: the port-flood response that turns SYN cookies on for the
// flooded (address, port) while the flood lasts (issue 8), beside the prefix
// blocks (BookPrefixResponder). The mechanism sits behind CookiePort: on
// Linux CookieResponsePort over CookieResponse (XDP cookies + the kernel's
// SYNPROXY, or SYNPROXY alone; linux/syncookie_response.h), in unit tests a
// fake. The agent makes the port at start (its nftables table must exist
// before the flood, so conntrack knows the connections already open) and
// drops it at stop.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/port_flood_response.h"
#include "core/result.h"
#include "linux/syncookie_response.h"

namespace sg::agent {

class CookiePort {
 public:
  virtual ~CookiePort() = default;
  virtual Result<void> engage(uint16_t port, const Address& dst) = 0;
  virtual Result<void> release(uint16_t port, const Address& dst) = 0;
  virtual std::string mode() const = 0;  // "xdp", "nftables"
};

class CookieResponsePort final : public CookiePort {
 public:
  // Shared with the challenges' port (challenge_port.h): one SYNPROXY table.
  explicit CookieResponsePort(std::shared_ptr<CookieResponse> r) : r_(std::move(r)) {}
  Result<void> engage(uint16_t port, const Address& dst) override { return r_->engage(port, dst); }
  Result<void> release(uint16_t port, const Address& dst) override {
    return r_->release(port, dst);
  }
  std::string mode() const override { return synCookieModeName(r_->mode()); }

 private:
  std::shared_ptr<CookieResponse> r_;
};

class CookieResponder final : public PortFloodResponder {
 public:
  explicit CookieResponder(CookiePort& port) : port_(port) {}
  // "syncookies" once cookies are on for the flood's target.
  Result<std::string> engage(const PortFlood& flood, const ResponsePlan& plan,
                             std::vector<Prefix>* engaged) override;
  Result<void> release(const PortFlood& flood) override;

 private:
  CookiePort& port_;
  std::set<std::string> engaged_;  // targets it turned cookies on for
};

}  // namespace sg::agent
