#include "core/syncookie_config.h"

#include <string>

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
                   "syncookies.mode \"" + std::string(text) + "\" is not off, xdp or nftables");
}

Result<void> validateSynCookieConfig(const SynCookieConfig& c) {
  auto mss = [](const char* field, uint16_t v) -> Result<void> {
    if (v < 536 || v > 9000) {
      return makeError(Errc::kInvalidArgument, std::string("syncookies.") + field + " " +
                                                   std::to_string(v) + " is not in 536..9000");
    }
    return Ok{};
  };
  SG_TRY(mss("mss4", c.mss4));
  SG_TRY(mss("mss6", c.mss6));
  if (c.wscale > 14) {
    return makeError(Errc::kInvalidArgument,
                     "syncookies.wscale " + std::to_string(c.wscale) + " is not in 0..14");
  }
  if (c.ttl == 0) return makeError(Errc::kInvalidArgument, "syncookies.ttl 0 is not in 1..255");
  if (c.nft_table.empty()) {
    return makeError(Errc::kInvalidArgument, "syncookies.nft_table is empty");
  }
  return Ok{};
}

}  // namespace sg
