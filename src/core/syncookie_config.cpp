#include "core/syncookie_config.h"

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

Result<void> validateSynCookieConfig(const SynCookieConfig& c) {
  using namespace limits;
  auto field = [](const char* name, Result<void> r) -> Result<void> {
    if (!r.ok()) return r.error().context(std::string("syncookie_") + name);
    return Ok{};
  };
  SG_TRY(field("mss4", checkRange(c.mss4, kCookieMss)));
  SG_TRY(field("mss6", checkRange(c.mss6, kCookieMss)));
  SG_TRY(field("wscale", checkRange(c.wscale, kCookieWscale)));
  SG_TRY(field("ttl", checkRange(c.ttl, kCookieTtl)));
  SG_TRY(field("nft_table", checkNftTable(c.nft_table)));
  return Ok{};
}

}  // namespace sg
