// Which WFP filters syn-guard adds, as plain data: the filter set of a block,
// of the allowlist and of an isolation, each filter's layer, action, weight
// and remote-address condition. Turned into FWPM_FILTER0 structures by
// wfp_engine.cpp on Windows; planned (and tested) in plain C++, on Linux too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/address.h"
#include "core/isolation.h"

namespace sg::win {

enum class WfpLayer : uint8_t {
  kAleRecvAcceptV4,  // FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4: new inbound connections
  kAleRecvAcceptV6,
  kInboundTransportV4,  // FWPM_LAYER_INBOUND_TRANSPORT_V4: every inbound packet
  kInboundTransportV6,
  kAleConnectV4,  // FWPM_LAYER_ALE_AUTH_CONNECT_V4: new outbound connections
  kAleConnectV6,
  kOutboundTransportV4,  // FWPM_LAYER_OUTBOUND_TRANSPORT_V4: every outbound packet
  kOutboundTransportV6,
};
const char* layerName(WfpLayer layer);
bool isV6Layer(WfpLayer layer);

enum class WfpAction : uint8_t { kBlock, kPermit };

// FWPM_CONDITION_IP_REMOTE_ADDRESS's value for a prefix: an IPv4 host is
// FWP_UINT32 (host byte order), an IPv4 prefix FWP_V4_ADDR_MASK (address and
// mask, host order), an IPv6 host FWP_BYTE_ARRAY16_TYPE, an IPv6 prefix
// FWP_V6_ADDR_MASK (address and prefix length).
struct RemoteCondition {
  enum class Kind : uint8_t { kV4Address, kV4Mask, kV6Address, kV6Prefix } kind = Kind::kV4Address;
  uint32_t v4 = 0;       // host order
  uint32_t v4_mask = 0;  // host order
  uint8_t v6[16] = {};
  uint8_t v6_prefix = 0;
};
RemoteCondition remoteCondition(const Prefix& p);

// Weights inside syn-guard's sublayer (FWP_UINT8, 0..15; the highest matching
// filter decides): the allowlist's permits over blocks, so the allowlist
// always wins; isolation's permits over its block-everything.
inline constexpr uint8_t kWeightAllow = 15;
inline constexpr uint8_t kWeightIsolationPermit = 14;
inline constexpr uint8_t kWeightBlock = 10;
inline constexpr uint8_t kWeightIsolationBlock = 2;

struct FilterSpec {
  WfpLayer layer = WfpLayer::kAleRecvAcceptV4;
  WfpAction action = WfpAction::kBlock;
  uint8_t weight = kWeightBlock;
  std::optional<Prefix> remote;  // none: every remote address
  std::string name;              // the filter's display name
};

// A block of `p` (a host, an IPv6 counting prefix or any prefix): refused
// connections at the ALE accept layer and dropped packets at inbound
// transport, on the layers of its family.
std::vector<FilterSpec> planBlock(const Prefix& p);
// Permits for the allowlist on the block layers of each prefix's family.
std::vector<FilterSpec> planAllow(const std::vector<Prefix>& allow);
// Isolation: on every layer of both directions and families, permits for the
// console, the allowlist and loopback, under a block of everything else.
std::vector<FilterSpec> planIsolation(const IsolationSpec& spec);

// The prefix a counted key stands for: an IPv4 key is a /32, an IPv6 key its
// counting prefix (v6_prefix bits).
Prefix keyPrefix(const Address& key, uint8_t v6_prefix);

}  // namespace sg::win
