// CookieResponder: the port-flood response that turns SYN cookies on for the
// flooded (address, port) while the flood lasts (issue 8), beside the prefix
// blocks (BookPrefixResponder). The mechanism sits behind CookiePort: on
// Linux CookieResponsePort over CookieResponse (XDP cookies + the kernel's
// SYNPROXY, or SYNPROXY alone; linux/syncookie_response.h), in unit tests a
// fake. The agent makes the port at start (its nftables table must exist
// before the flood, so conntrack knows the connections already open) and
// drops it at stop.
//
// While cookies are on, the SYNPROXY table they rely on is checked every
// kCheckNs (hold(), at each harvest of a flood): `nft flush ruleset`
// (`systemctl reload nftables` on Debian) deletes it, and then XDP answers
// the port's SYNs with cookies whose ACKs find no SYNPROXY: every client of
// the port fails. A table found gone is made again with its ports (and the
// challenged sources it held); one that cannot be made has the cookies of
// every flooded port turned off (the port is left to the kernel's own SYN
// cookies) until it can, retried after kRetryNs, doubling to kRetryMaxNs, as
// BlockBook does for challenges (block_book_challenge.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/error_once.h"
#include "agent/event_log.h"
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
  // Puts the SYNPROXY table back when it went, with every port (and
  // challenged source) it held. Ok(true): it was gone and is back;
  // Ok(false): it was in place; an error: gone, and it cannot be made again.
  virtual Result<bool> repair() = 0;
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
  Result<bool> repair() override { return r_->repair(); }

 private:
  std::shared_ptr<CookieResponse> r_;
};

// Counters of the cookies' SYNPROXY table checks, exported as metrics.
struct CookieCounters {
  uint64_t repairs = 0;  // the table found gone (nftables flushed) and made again
  uint64_t lifted = 0;   // flooded targets whose cookies went off: no table to back them
};

class CookieResponder final : public PortFloodResponder {
 public:
  CookieResponder(CookiePort& port, EventLog& log) : port_(port), log_(log) {}
  // "syncookies" once cookies are on for the flood's target. When turning
  // them on fails, the table is repaired if it went and the call tried once more.
  Result<std::string> engage(const PortFlood& flood, const ResponsePlan& plan,
                             std::vector<Prefix>* engaged) override;
  // The table's check (every kCheckNs while cookies are on, or the retry
  // while they are off for want of it). An error for the flood whose
  // cookies this call turned off (once), saying so.
  Result<void> hold(const PortFlood& flood, uint64_t now_ns) override;
  Result<void> release(const PortFlood& flood) override;

  const CookieCounters& counters() const { return counters_; }
  // Whether cookies are off for want of the table (retried with a backoff).
  bool tableLost() const { return lost_; }
  std::string metricsText() const;

  static constexpr uint64_t kCheckNs = 2'000'000'000;  // as BlockBook::kReconcileNs
  static constexpr uint64_t kRetryNs = 4'000'000'000;  // as BlockBook::kChallengeGraceNs
  static constexpr uint64_t kRetryMaxNs = 64'000'000'000;

 private:
  struct Target {
    uint16_t port = 0;
    Address dst;
  };
  void checkTable(uint64_t now);
  // The table cannot be made: cookies off for every engaged target.
  void loseTable(uint64_t now, const std::string& why);
  // The retry: the table made again, cookies back on for the targets still flooded.
  void tryRegain(uint64_t now);
  void noteRepaired();

  CookiePort& port_;
  EventLog& log_;
  std::map<std::string, Target> engaged_;          // targets it turned cookies on for
  std::map<std::string, Target> suspended_;        // flooded, cookies off while the table is lost
  std::map<std::string, std::string> unreported_;  // suspended: hold() says so once (why)
  CookieCounters counters_;
  ErrorOnce lost_once_;      // one error line a run of a lost table
  bool lost_ = false;        // the table could not be made: cookies off
  uint64_t check_ns_ = 0;    // next check of the table
  uint64_t retry_ns_ = 0;    // lost: next attempt to make it again
  uint64_t backoff_ns_ = 0;  // and the wait after it
};

}  // namespace sg::agent
