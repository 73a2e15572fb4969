#include "agent/console_link_port_floods.h"

#include <algorithm>
#include <cmath>

#include "proto/limits.h"

namespace sg::agent {
namespace {

uint64_t whole(const nlohmann::json& f, const char* key, uint64_t max) {
  auto it = f.find(key);
  if (it == f.end() || !it->is_number() || !(it->get<double>() >= 0)) return 0;
  const double v = std::round(it->get<double>());
  return v >= static_cast<double>(max) ? max : static_cast<uint64_t>(v);
}

uint16_t permille(const nlohmann::json& f, const char* key, uint16_t missing) {
  auto it = f.find(key);
  if (it == f.end() || !it->is_number()) return missing;
  const double v = std::clamp(it->get<double>(), 0.0, 1.0);
  return static_cast<uint16_t>(std::lround(v * 1000));
}

std::string text(const nlohmann::json& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string targetKey(const proto::PortFloodReport& p) {
  return p.dst.addr.str() + ":" + std::to_string(p.dst_port);
}

constexpr uint64_t kMaxRate = 1'000'000'000;

}  // namespace

std::optional<proto::PortFloodReport> PortFloodReporter::parse(const nlohmann::json& f,
                                                               uint64_t now_ns, uint64_t since_ms) {
  if (!f.is_object()) return std::nullopt;
  proto::PortFloodReport p;
  auto dst = parsePrefix(text(f, "dst"));
  if (!dst || dst->bits != 128) return std::nullopt;
  p.dst = *dst;
  p.dst_port = static_cast<uint16_t>(whole(f, "dst_port", 65535));
  if (p.dst_port == 0) return std::nullopt;
  p.reason = text(f, "reason") == "completion_ratio" ? "completion_ratio" : "rate";
  p.rate = whole(f, "rate", kMaxRate);
  p.peak_rate = std::max(p.rate, whole(f, "peak_rate", kMaxRate));
  p.normal_rate = whole(f, "normal_rate", kMaxRate);
  p.distinct_sources = whole(f, "distinct_sources", UINT64_MAX);
  p.completion_permille = permille(f, "completion_ratio", 1000);
  if (auto top = f.find("top_prefixes"); top != f.end() && top->is_array()) {
    for (const auto& t : *top) {
      if (p.top_prefixes.size() >= proto::kMaxTopPrefixes || !t.is_object()) break;
      auto prefix = parsePrefix(text(t, "prefix"));
      if (prefix) p.top_prefixes.push_back({*prefix, permille(t, "share", 0)});
    }
  }
  p.response = text(f, "response");
  const bool ok_response = !p.response.empty() && p.response.size() <= proto::kMaxResponseBytes &&
                           std::all_of(p.response.begin(), p.response.end(), [](char c) {
                             return (c >= 'a' && c <= 'z') || c == '_' || c == '+';
                           });
  if (!ok_response) p.response = "none";
  p.attempts = whole(f, "attempts", UINT64_MAX);
  p.at_ns = now_ns;
  const uint64_t since_ns = since_ms * 1'000'000;
  p.first_ns = now_ns > since_ns ? now_ns - since_ns : 0;
  return p;
}

std::optional<proto::PortFloodReport> PortFloodReporter::fromLog(const std::string& event,
                                                                 const nlohmann::json& fields,
                                                                 uint64_t now_ns) {
  const bool detected = event == "port_flood_detected";
  if (!detected && event != "port_flood_ended") return std::nullopt;
  auto p = parse(fields, now_ns,
                 whole(fields, detected ? "since_first_ms" : "duration_ms", proto::kMaxDurationMs));
  if (!p) return std::nullopt;
  const std::string key = targetKey(*p);
  if (detected) {
    p->kind = proto::PortFloodKind::kDetected;
    first_ns_[key] = p->first_ns;
  } else {
    p->kind = proto::PortFloodKind::kEnded;
    if (auto it = first_ns_.find(key); it != first_ns_.end()) {
      p->first_ns = std::min(it->second, now_ns);
      first_ns_.erase(it);
    }
  }
  return p;
}

std::vector<proto::PortFloodReport> PortFloodReporter::updates(const nlohmann::json& status,
                                                               uint64_t now_ns) {
  std::vector<proto::PortFloodReport> out;
  if (!status.is_object()) return out;
  auto active = status.find("active");
  if (active == status.end() || !active->is_array()) return out;
  for (const auto& f : *active) {
    auto p = parse(f, now_ns, whole(f, "since_first_ms", proto::kMaxDurationMs));
    if (!p) continue;
    auto it = first_ns_.find(targetKey(*p));
    if (it == first_ns_.end()) continue;  // its detection was not seen: nothing to update
    p->kind = proto::PortFloodKind::kUpdated;
    p->first_ns = std::min(it->second, now_ns);
    out.push_back(*p);
    if (out.size() >= proto::kMaxPortFloods) break;
  }
  return out;
}

}  // namespace sg::agent
