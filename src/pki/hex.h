// Lowercase hex of bytes (digests, pins).
#pragma once

#include <cstddef>
#include <string>

namespace sg::pki {

inline std::string toHex(const unsigned char* bytes, size_t len) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace sg::pki
