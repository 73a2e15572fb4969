#include "core/syncookie_config.h"

#include <algorithm>
#include <string>

#include "core/config_checks.h"

namespace sg {

const char* synCookieModeName(SynCookieMode mode) {
  switch (mode) {
    case SynCookieMode::kOff:
      return "off";
    case SynCookieMode::kXdp:
      return "xdp";
    case SynCookieMode::kNftables:
      return "nftables";
  }
  return "off";
}

Result<SynCookieMode> parseSynCookieMode(std::string_view text) {
  for (SynCookieMode m : {SynCookieMode::kOff, SynCookieMode::kXdp, SynCookieMode::kNftables}) {
    if (text == synCookieModeName(m)) return m;
  }
  return makeError(Errc::kInvalidArgument,
                   "\"" + std::string(text) + "\" is not off, xdp or nftables");
}

uint8_t listenerWindowScale(uint64_t tcp_rmem_max, uint64_t rmem_max) {
  uint64_t space = std::max(tcp_rmem_max, rmem_max);
  // The kernel takes the space as a u32 clamped to 65535 << 14.
  space = std::min<uint64_t>(space, uint64_t{65535} << 14);
  int log2 = -1;
  for (; space != 0; space >>= 1) log2++;
  return static_cast<uint8_t>(std::clamp(log2 - 15, 0, 14));
}

Result<void> validateSynCookieConfig(const SynCookieConfig& c) {
  using namespace limits;
  auto field = [](const char* name, Result<void> r) -> Result<void> {
    if (!r.ok()) return r.error().context(std::string("syncookie_") + name);
    return Ok{};
  };
  SG_TRY(field("mss4", checkRange(c.mss4, kCookieMss)));
  SG_TRY(field("mss6", checkRange(c.mss6, kCookieMss)));
  if (c.wscale) SG_TRY(field("wscale", checkRange(*c.wscale, kCookieWscale)));
  SG_TRY(field("ttl", checkRange(c.ttl, kCookieTtl)));
  SG_TRY(field("nft_table", checkNftTable(c.nft_table)));
  return Ok{};
}

}  // namespace sg
