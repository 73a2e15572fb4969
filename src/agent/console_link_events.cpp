#include "agent/console_link_events.h"

#include <algorithm>

#include "proto/limits.h"

namespace sg::agent {
namespace {

uint64_t number(const nlohmann::json& f, const char* key, uint64_t max) {
  auto it = f.find(key);
  if (it == f.end() || !it->is_number_unsigned()) {
    if (it != f.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
      return std::min<uint64_t>(static_cast<uint64_t>(it->get<int64_t>()), max);
    }
    return 0;
  }
  return std::min(it->get<uint64_t>(), max);
}

}  // namespace

std::optional<proto::Event> reportEventFrom(const std::string& event, const nlohmann::json& fields,
                                            uint64_t now_ns) {
  proto::Event e;
  if (event == "flood_detected") {
    if (fields.value("enforced", false)) return std::nullopt;  // block_added carries it
    e.kind = proto::EventKind::kFloodDetected;
  } else if (event == "block_added") {
    e.kind = proto::EventKind::kBlockAdded;
  } else if (event == "block_expired") {
    e.kind = proto::EventKind::kBlockExpired;
  } else if (event == "block_removed") {
    e.kind = proto::EventKind::kBlockRemoved;
  } else {
    return std::nullopt;
  }
  if (!fields.is_object()) return std::nullopt;
  auto src = fields.find("src");
  if (src == fields.end() || !src->is_string()) return std::nullopt;
  auto prefix = parsePrefix(src->get<std::string>());
  if (!prefix) return std::nullopt;
  e.source = *prefix;
  e.dst_port = static_cast<uint16_t>(number(fields, "dst_port", 65535));
  e.count = static_cast<uint32_t>(number(fields, "count", UINT32_MAX));
  e.window_ms = number(fields, "window_ms", proto::kMaxDurationMs);
  e.level = static_cast<uint8_t>(number(fields, "level", 63));
  e.block_ms = number(fields, "block_ms", proto::kMaxDurationMs);
  e.detected_ns = now_ns;
  const uint64_t window_ns = e.window_ms * 1'000'000;
  const bool attempts =
      e.kind == proto::EventKind::kFloodDetected || e.kind == proto::EventKind::kBlockAdded;
  // The kernel's span of the count (span_ms), when the line has it: the
  // first attempt counted and the observed rate. Else the window's start,
  // the earliest it can have been, and no rate (the console then takes
  // count / window).
  const uint64_t span_ns = number(fields, "span_ms", proto::kMaxDurationMs) * 1'000'000;
  const bool observed = attempts && fields.contains("span_ms");
  const uint64_t back = observed ? span_ns : window_ns;
  e.first_attempt_ns = attempts && now_ns > back ? now_ns - back : now_ns;
  if (attempts) e.rate = number(fields, "rate", proto::kMaxRate);
  return e;
}

}  // namespace sg::agent
