// The pure text side of NftEnforcer: names, element spellings, `nft -j` JSON.
#include <nlohmann/json.hpp>

#include "linux/nft_enforcer.h"
#include "linux/nft_enforcer_rules.h"

namespace sg {
namespace {

using nlohmann::json;

// True when no bit past `bits` is set in the 128-bit key.
bool hostBitsClear(const Address& key, unsigned bits) {
  for (unsigned i = bits; i < 128; ++i) {
    if (key.raw.b[i / 8] & (0x80u >> (i % 8))) return false;
  }
  return true;
}

Result<Nanos> seconds(const json& elem, const char* field) {
  if (!elem.contains(field)) return Nanos{0};
  const json& v = elem.at(field);
  if (!v.is_number_unsigned()) {
    return makeError(Errc::kInvalidArgument, std::string("\"") + field + "\" is not a number");
  }
  return Nanos(std::chrono::seconds(v.get<uint64_t>()));
}

// One "elem" value: "192.0.2.1", "2001:db8::", or {"prefix": {"addr", "len"}}.
// A plain IPv6 address in a set of masked keys stands for a /set_len prefix.
Result<NftBlock> parseValue(const json& val, uint8_t set_len) {
  NftBlock b;
  if (val.is_string()) {
    auto a = parseAddress(val.get<std::string>());
    if (!a) return a.error();
    b.key = *a;
    const uint8_t max_len = a->isV4() ? 32 : 128;
    b.prefix_len = set_len > 0 && set_len <= max_len ? set_len : max_len;
    return b;
  }
  if (val.is_object() && val.contains("prefix")) {
    const json& p = val.at("prefix");
    if (!p.is_object() || !p.contains("addr") || !p.contains("len") || !p.at("addr").is_string() ||
        !p.at("len").is_number_unsigned()) {
      return makeError(Errc::kInvalidArgument, "prefix without a string addr and a numeric len");
    }
    auto a = parseAddress(p.at("addr").get<std::string>());
    if (!a) return a.error();
    uint64_t len = p.at("len").get<uint64_t>();
    if (len > (a->isV4() ? 32u : 128u)) {
      return makeError(Errc::kInvalidArgument,
                       "prefix length " + std::to_string(len) + " too long");
    }
    b.key = *a;
    b.prefix_len = static_cast<uint8_t>(len);
    return b;
  }
  return makeError(Errc::kInvalidArgument, "unexpected set element " + val.dump());
}

Result<void> parseSet(const json& set, std::vector<NftBlock>& out) {
  if (!set.is_object()) return makeError(Errc::kInvalidArgument, "\"set\" is not an object");
  if (!set.contains("elem")) return Ok{};
  uint8_t set_len = 0;
  if (set.contains("name") && set.at("name").is_string()) {
    set_len = nftSetPrefixLen(set.at("name").get<std::string>());
  }
  const json& elems = set.at("elem");
  if (!elems.is_array()) return makeError(Errc::kInvalidArgument, "\"elem\" is not an array");
  for (const json& e : elems) {
    // With a timeout: {"elem": {"val": V, "timeout": s, "expires": s}}; without: V.
    bool wrapped = e.is_object() && e.contains("elem");
    const json& inner = wrapped ? e.at("elem") : e;
    if (wrapped && (!inner.is_object() || !inner.contains("val"))) {
      return makeError(Errc::kInvalidArgument, "\"elem\" without \"val\"");
    }
    auto b = parseValue(wrapped ? inner.at("val") : inner, set_len);
    if (!b) return b.error();
    if (wrapped) {
      auto timeout = seconds(inner, "timeout");
      if (!timeout) return timeout.error();
      auto expires = seconds(inner, "expires");
      if (!expires) return expires.error();
      b->timeout = *timeout;
      b->expires = *expires;
    }
    out.push_back(*b);
  }
  return Ok{};
}

}  // namespace

std::string NftBlock::str() const {
  if (key.isV4() ? prefix_len >= 32 : prefix_len >= 128) return key.str();
  return key.str() + "/" + std::to_string(prefix_len);
}

Result<std::string> nftElementText(const Address& key, uint8_t v6_prefix) {
  if (key.isV4()) return key.str();
  if (v6_prefix == 0 || v6_prefix > 128) {
    return makeError(Errc::kInvalidArgument,
                     "IPv6 prefix length " + std::to_string(v6_prefix) + " is not in 1..128");
  }
  if (!hostBitsClear(key, v6_prefix)) {
    return makeError(Errc::kInvalidArgument, key.str() + " has bits set past /" +
                                                 std::to_string(v6_prefix) + " (mask it first)");
  }
  if (v6_prefix == 128) return key.str();
  return key.str() + "/" + std::to_string(v6_prefix);
}

Result<std::vector<NftBlock>> parseNftSetJson(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return makeError(Errc::kInvalidArgument, "nft JSON output is not JSON");
  if (!doc.is_object() || !doc.contains("nftables") || !doc.at("nftables").is_array()) {
    return makeError(Errc::kInvalidArgument, "nft JSON output has no \"nftables\" array");
  }
  std::vector<NftBlock> out;
  for (const json& item : doc.at("nftables")) {
    if (!item.is_object() || !item.contains("set")) continue;  // metainfo, ...
    auto r = parseSet(item.at("set"), out);
    if (!r) return r.error().context("nft JSON set");
  }
  return out;
}

}  // namespace sg
