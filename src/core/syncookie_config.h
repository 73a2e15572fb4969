// SYN cookies for ports under a flood (the response of issue 8): typed
// config, validated at the edge. The mechanism is src/linux/
// syncookie_response.h (XDP cookies + the kernel's SYNPROXY, or SYNPROXY
// alone); who turns it on for a port is the port-flood detector.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sg {

enum class SynCookieMode {
  kOff,       // never: a port flood is reported, not answered with cookies
  kXdp,       // the XDP program answers SYNs with cookies (XDP_TX); SYNPROXY
              // completes the handshakes
  kNftables,  // SYNPROXY alone (hosts where XDP_TX is not available)
};

// The config file's keys: syncookies (the mode), syncookie_mss4,
// syncookie_mss6, syncookie_wscale, syncookie_ttl, syncookie_nft_table.
struct SynCookieConfig {
  // "off", "xdp" or "nftables".
  SynCookieMode mode = SynCookieMode::kOff;
  // MSS the cookie SYN-ACK advertises: the listener's own (536..9000).
  uint16_t mss4 = 1460;
  uint16_t mss6 = 1440;
  // Window scale it advertises: the listener's own (0..14; Linux: 7 with the
  // default tcp_rmem).
  uint8_t wscale = 7;
  // TTL / hop limit of the XDP SYN-ACK (1..255).
  uint8_t ttl = 64;
  // nftables table that holds the SYNPROXY rules.
  std::string nft_table = "syn_guard_synproxy";
};

const char* synCookieModeName(SynCookieMode mode);  // "off", "xdp", "nftables"
Result<SynCookieMode> parseSynCookieMode(std::string_view text);
// Ranges as above; the error names the field.
Result<void> validateSynCookieConfig(const SynCookieConfig& config);

}  // namespace sg
