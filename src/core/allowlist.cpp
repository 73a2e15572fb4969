#include "core/allowlist.h"

#include <algorithm>

namespace sg {

namespace {

bool insideZero64(const Prefix& p) {
  for (int i = 0; i < 8; i++) {
    if (p.addr.raw.b[i] != 0) return false;
  }
  return p.bits >= 64;
}

}  // namespace

std::vector<Prefix> loopbackPrefixes() {
  return {*parsePrefix("127.0.0.0/8"), *parsePrefix("::1/128"), *parsePrefix("::/128")};
}

std::vector<Prefix> effectiveAllowlist(const std::vector<Prefix>& entries, uint8_t v6_prefix) {
  std::vector<Prefix> out;
  for (Prefix p : entries) {
    if (!p.addr.isV4() && p.bits > v6_prefix && !insideZero64(p)) {
      p.addr = sourceKey(p.addr, v6_prefix);
      p.bits = v6_prefix;
    }
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

}  // namespace sg
