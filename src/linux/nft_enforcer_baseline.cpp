#include "linux/nft_enforcer_baseline.h"

#include <arpa/inet.h>

#include <cstring>

#include "core/config_checks.h"

namespace sg {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

Result<void> inRange(const char* what, Nanos v, Nanos lo, Nanos hi) {
  if (v < lo || v > hi) {
    return makeError(Errc::kInvalidArgument,
                     std::string("baseline ") + what + " " + formatDuration(std::max(v, Nanos{0})) +
                         " is not in " + formatDuration(lo) + ".." + formatDuration(hi));
  }
  return Ok{};
}

// "40/second": threshold per window in the finest unit giving >= 1.
std::string rateText(uint32_t threshold, Nanos window) {
  struct Unit {
    const char* name;
    Nanos length;
  };
  const Unit units[] = {{"second", std::chrono::seconds(1)},
                        {"minute", std::chrono::minutes(1)},
                        {"hour", hours(1)},
                        {"day", hours(24)}};
  for (const Unit& u : units) {
    // threshold * unit / window, rounded; 128-bit-free: threshold <= 1e6,
    // unit <= 8.64e13 ns, so the product fits in a double exactly enough.
    double rate = static_cast<double>(threshold) * static_cast<double>(u.length.count()) /
                  static_cast<double>(window.count());
    if (rate >= 1.0 || &u == &units[3]) {
      auto whole = static_cast<uint64_t>(rate + 0.5);
      return std::to_string(whole < 1 ? 1 : whole) + "/" + u.name;
    }
  }
  return "1/day";  // unreachable: the loop returns on the last unit
}

// "ffff:ffff:ffff:ffff::" for 64.
std::string v6Mask(uint8_t bits) {
  unsigned char m[16] = {};
  for (unsigned i = 0; i < bits; ++i) m[i / 8] |= static_cast<unsigned char>(0x80u >> (i % 8));
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, m, buf, sizeof(buf));
  return buf;
}

}  // namespace

Result<std::string> nftMeterBaselineRules(const NftBaselineParams& p) {
  if (auto ok = limits::checkNftTable(p.table); !ok) return ok.error().context("baseline table");
  if (p.threshold < 1 || p.threshold > 1000000) {
    return makeError(Errc::kInvalidArgument,
                     "baseline threshold " + std::to_string(p.threshold) + " is not in 1..1000000");
  }
  SG_TRY(inRange("window", p.window, milliseconds(1), hours(1)));
  SG_TRY(inRange("block", p.block, milliseconds(1), hours(24)));
  if (p.v6_prefix < 1 || p.v6_prefix > 128) {
    return makeError(Errc::kInvalidArgument,
                     "baseline IPv6 prefix " + std::to_string(p.v6_prefix) + " is not in 1..128");
  }
  if (p.max_sources < 1 || p.max_sources > (1u << 24)) {
    return makeError(
        Errc::kInvalidArgument,
        "baseline max_sources " + std::to_string(p.max_sources) + " is not in 1..16777216");
  }
  auto ms = [](Nanos d) {
    return std::to_string(std::chrono::ceil<milliseconds>(d).count()) + "ms";
  };
  const std::string t = p.table;
  const std::string size = std::to_string(p.max_sources);
  const std::string v6_key =
      p.v6_prefix == 128 ? "ip6 saddr" : "ip6 saddr & " + v6Mask(p.v6_prefix);
  const std::string limit = "limit rate over " + rateText(p.threshold, p.window) + " burst " +
                            std::to_string(p.threshold) + " packets";
  const std::string syn = "tcp flags & (syn | ack) == syn";
  auto set = [&](const char* name, const char* type, Nanos timeout) {
    return std::string("  set ") + name + " { type " + type + "; flags dynamic, timeout; timeout " +
           ms(timeout) + "; size " + size + "; }\n";
  };
  return "add table inet " + t + "\ndelete table inet " + t + "\n" +  //
         "table inet " + t + " {\n" +                                 //
         set("blocked_v4", "ipv4_addr", p.block) +                    //
         set("blocked_v6", "ipv6_addr", p.block) +                    //
         set("meter_v4", "ipv4_addr", p.window) +                     //
         set("meter_v6", "ipv6_addr", p.window) +                     //
         "  chain prerouting {\n"
         "    type filter hook prerouting priority raw; policy accept;\n"
         "    ip saddr @blocked_v4 counter drop\n"
         "    " +
         v6_key +
         " @blocked_v6 counter drop\n"
         "    " +
         syn + " update @meter_v4 { ip saddr " + limit +
         " } add @blocked_v4 { ip saddr } counter drop\n"
         "    " +
         syn + " update @meter_v6 { " + v6_key + " " + limit + " } add @blocked_v6 { " + v6_key +
         " } counter drop\n"
         "  }\n"
         "}\n";
}

}  // namespace sg
