// SYN cookies for ports under a flood (the response of issue 8): typed
// config, validated at the edge. The mechanism is src/linux/
// syncookie_response.h (XDP cookies + the kernel's SYNPROXY, or SYNPROXY
// alone); who turns it on for a port is the port-flood detector.
#pragma once

#include <cstdint>
#include <optional>
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
  // Window scale it advertises (and SYNPROXY's rule): the listener's own
  // (0..14). Unset ("auto", the default): as Linux picks a listener's at the
  // agent's start (listenerWindowScale of its namespace's tcp_rmem and
  // rmem_max); a listener that sets SO_RCVBUF scales less: set it then.
  std::optional<uint8_t> wscale;
  // TTL / hop limit of the XDP SYN-ACK (1..255).
  uint8_t ttl = 64;
  // nftables table that holds the SYNPROXY rules.
  std::string nft_table = "syn_guard_synproxy";
};

const char* synCookieModeName(SynCookieMode mode);  // "off", "xdp", "nftables"
Result<SynCookieMode> parseSynCookieMode(std::string_view text);
// The window scale Linux gives a listening socket that does not set
// SO_RCVBUF (tcp_select_initial_window): log2 of the larger of tcp_rmem's
// maximum and rmem_max, less 15, within 0..14.
uint8_t listenerWindowScale(uint64_t tcp_rmem_max, uint64_t rmem_max);
// Ranges as above; the error names the field.
Result<void> validateSynCookieConfig(const SynCookieConfig& config);

}  // namespace sg
