// Bounds-checked little/big-endian reads for the capture readers (internal).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace sg::pcap_detail {

inline uint16_t load16(std::span<const uint8_t> d, size_t off, bool big) {
  return big ? static_cast<uint16_t>(d[off] << 8 | d[off + 1])
             : static_cast<uint16_t>(d[off + 1] << 8 | d[off]);
}

inline uint32_t load32(std::span<const uint8_t> d, size_t off, bool big) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    v = v << 8 | d[off + static_cast<size_t>(big ? i : 3 - i)];
  }
  return v;
}

// True when [off, off+len) lies inside d (no overflow).
inline bool fits(std::span<const uint8_t> d, size_t off, size_t len) {
  return off <= d.size() && len <= d.size() - off;
}

inline Error errorAt(size_t off, const std::string& what) {
  return makeError(Errc::kInvalidArgument, "at byte offset " + std::to_string(off) + ": " + what);
}

}  // namespace sg::pcap_detail
