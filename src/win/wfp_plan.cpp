#include "win/wfp_plan.h"

#include <cstring>

namespace sg::win {
namespace {

constexpr unsigned kV4Bits = 96;  // the ::ffff:0:0/96 of a mapped address

bool isV4Prefix(const Prefix& p) { return p.addr.isV4() && p.bits >= kV4Bits; }

WfpLayer acceptLayer(bool v6) {
  return v6 ? WfpLayer::kAleRecvAcceptV6 : WfpLayer::kAleRecvAcceptV4;
}
WfpLayer inboundLayer(bool v6) {
  return v6 ? WfpLayer::kInboundTransportV6 : WfpLayer::kInboundTransportV4;
}

Prefix mustParse(const char* text) {
  auto p = parsePrefix(text);
  if (!p.ok()) std::abort();  // constant text: a broken invariant
  return *p;
}

}  // namespace

const char* layerName(WfpLayer layer) {
  switch (layer) {
    case WfpLayer::kAleRecvAcceptV4:
      return "ALE_AUTH_RECV_ACCEPT_V4";
    case WfpLayer::kAleRecvAcceptV6:
      return "ALE_AUTH_RECV_ACCEPT_V6";
    case WfpLayer::kInboundTransportV4:
      return "INBOUND_TRANSPORT_V4";
    case WfpLayer::kInboundTransportV6:
      return "INBOUND_TRANSPORT_V6";
    case WfpLayer::kAleConnectV4:
      return "ALE_AUTH_CONNECT_V4";
    case WfpLayer::kAleConnectV6:
      return "ALE_AUTH_CONNECT_V6";
    case WfpLayer::kOutboundTransportV4:
      return "OUTBOUND_TRANSPORT_V4";
    case WfpLayer::kOutboundTransportV6:
      return "OUTBOUND_TRANSPORT_V6";
  }
  return "?";
}

bool isV6Layer(WfpLayer layer) {
  return layer == WfpLayer::kAleRecvAcceptV6 || layer == WfpLayer::kInboundTransportV6 ||
         layer == WfpLayer::kAleConnectV6 || layer == WfpLayer::kOutboundTransportV6;
}

RemoteCondition remoteCondition(const Prefix& p) {
  RemoteCondition c;
  if (isV4Prefix(p)) {
    const uint8_t* b = p.addr.raw.b + 12;
    c.v4 = static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
           static_cast<uint32_t>(b[2]) << 8 | b[3];
    const unsigned len = p.bits - kV4Bits;
    if (len == 32) {
      c.kind = RemoteCondition::Kind::kV4Address;
    } else {
      c.kind = RemoteCondition::Kind::kV4Mask;
      c.v4_mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    }
    return c;
  }
  std::memcpy(c.v6, p.addr.raw.b, 16);
  c.kind = p.bits == 128 ? RemoteCondition::Kind::kV6Address : RemoteCondition::Kind::kV6Prefix;
  c.v6_prefix = p.bits;
  return c;
}

std::vector<FilterSpec> planBlock(const Prefix& p) {
  const bool v6 = !isV4Prefix(p);
  const std::string name = "syn-guard block " + p.str();
  return {{acceptLayer(v6), WfpAction::kBlock, kWeightBlock, p, name},
          {inboundLayer(v6), WfpAction::kBlock, kWeightBlock, p, name}};
}

std::vector<FilterSpec> planAllow(const std::vector<Prefix>& allow) {
  std::vector<FilterSpec> out;
  for (const Prefix& p : allow) {
    const bool v6 = !isV4Prefix(p);
    const std::string name = "syn-guard allow " + p.str();
    out.push_back({acceptLayer(v6), WfpAction::kPermit, kWeightAllow, p, name});
    out.push_back({inboundLayer(v6), WfpAction::kPermit, kWeightAllow, p, name});
  }
  return out;
}

std::vector<FilterSpec> planIsolation(const IsolationSpec& spec) {
  static const WfpLayer kV4[] = {WfpLayer::kAleRecvAcceptV4, WfpLayer::kInboundTransportV4,
                                 WfpLayer::kAleConnectV4, WfpLayer::kOutboundTransportV4};
  static const WfpLayer kV6[] = {WfpLayer::kAleRecvAcceptV6, WfpLayer::kInboundTransportV6,
                                 WfpLayer::kAleConnectV6, WfpLayer::kOutboundTransportV6};
  std::vector<Prefix> peers;
  for (const Address& a : spec.console) peers.push_back(Prefix{a, 128});
  peers.insert(peers.end(), spec.allow.begin(), spec.allow.end());
  peers.push_back(mustParse("127.0.0.0/8"));
  peers.push_back(mustParse("::1/128"));
  std::vector<FilterSpec> out;
  for (const Prefix& p : peers) {
    for (WfpLayer layer : isV4Prefix(p) ? kV4 : kV6) {
      out.push_back({layer, WfpAction::kPermit, kWeightIsolationPermit, p,
                     "syn-guard isolation: permit " + p.str()});
    }
  }
  for (const auto* layers : {kV4, kV6}) {
    for (size_t i = 0; i < 4; i++) {
      out.push_back({layers[i], WfpAction::kBlock, kWeightIsolationBlock, std::nullopt,
                     "syn-guard isolation: block the rest"});
    }
  }
  return out;
}

Prefix keyPrefix(const Address& key, uint8_t v6_prefix) {
  Prefix p;
  p.addr = key;
  p.bits = key.isV4() ? 128 : v6_prefix;
  return p;
}

}  // namespace sg::win
