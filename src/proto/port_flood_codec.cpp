#include "proto/port_flood_codec.h"

#include "proto/limits.h"
#include "proto/parts.h"

namespace sg::proto {

using nlohmann::json;

namespace {

Result<PortFloodKind> kindOf(const std::string& text, const std::string& where) {
  if (text == "detected") return PortFloodKind::kDetected;
  if (text == "updated") return PortFloodKind::kUpdated;
  if (text == "ended") return PortFloodKind::kEnded;
  return makeError(Errc::kInvalidArgument, where + ".kind: not detected, updated or ended");
}

// "none", "syncookies", "prefix_block+syncookies": lower-case words joined by '+'.
bool validResponse(const std::string& s) {
  if (s.empty() || s.front() == '+' || s.back() == '+') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || c == '+')) return false;
  }
  return true;
}

Result<PortFloodPrefix> parseShare(const json& j, const std::string& where) {
  SG_READ(r, FieldReader::of(j, where));
  SG_READ(prefix, r->prefix("prefix"));
  SG_READ(share, r->u64("share_permille", 1000));
  SG_TRY(r->done());
  return PortFloodPrefix{*prefix, static_cast<uint16_t>(*share)};
}

}  // namespace

const char* portFloodKindName(PortFloodKind kind) {
  switch (kind) {
    case PortFloodKind::kDetected:
      return "detected";
    case PortFloodKind::kUpdated:
      return "updated";
    case PortFloodKind::kEnded:
      return "ended";
  }
  return "?";
}

json toJson(const PortFloodReport& p) {
  json top = json::array();
  for (const auto& t : p.top_prefixes) {
    top.push_back({{"prefix", prefixText(t.prefix)}, {"share_permille", t.share_permille}});
  }
  return {{"kind", portFloodKindName(p.kind)},
          {"dst", prefixText(p.dst)},
          {"dst_port", p.dst_port},
          {"reason", p.reason},
          {"rate", p.rate},
          {"peak_rate", p.peak_rate},
          {"normal_rate", p.normal_rate},
          {"distinct_sources", p.distinct_sources},
          {"completion_permille", p.completion_permille},
          {"top_prefixes", std::move(top)},
          {"response", p.response},
          {"attempts", p.attempts},
          {"first_ns", p.first_ns},
          {"at_ns", p.at_ns}};
}

Result<PortFloodReport> parsePortFlood(const json& j, const std::string& where) {
  SG_READ(r, FieldReader::of(j, where));
  PortFloodReport p;
  SG_READ(kind_text, r->str("kind", 16));
  SG_READ(kind, kindOf(*kind_text, where));
  p.kind = *kind;
  SG_READ(dst, r->prefix("dst"));
  if (dst->bits != 128) {
    return makeError(Errc::kInvalidArgument, where + ".dst: a prefix, not one address");
  }
  p.dst = *dst;
  SG_READ(port, r->u64("dst_port", 65535));
  if (*port == 0) return makeError(Errc::kInvalidArgument, where + ".dst_port: 0");
  p.dst_port = static_cast<uint16_t>(*port);
  SG_READ(reason, r->str("reason", 32));
  if (*reason != "rate" && *reason != "completion_ratio") {
    return makeError(Errc::kInvalidArgument, where + ".reason: not rate or completion_ratio");
  }
  p.reason = *reason;
  SG_READ(rate, r->u64("rate", kMaxRate));
  SG_READ(peak, r->u64("peak_rate", kMaxRate));
  if (*peak < *rate) {
    return makeError(Errc::kInvalidArgument, where + ".peak_rate: below rate");
  }
  SG_READ(normal, r->u64("normal_rate", kMaxRate));
  SG_READ(distinct, r->u64("distinct_sources"));
  SG_READ(completion, r->u64("completion_permille", 1000));
  p.rate = *rate;
  p.peak_rate = *peak;
  p.normal_rate = *normal;
  p.distinct_sources = *distinct;
  p.completion_permille = static_cast<uint16_t>(*completion);
  SG_READ(top_json, r->array("top_prefixes", kMaxTopPrefixes));
  SG_READ(top, parseList<PortFloodPrefix>(**top_json, where + ".top_prefixes", parseShare));
  p.top_prefixes = std::move(*top);
  SG_READ(response, r->str("response", kMaxResponseBytes));
  if (!validResponse(*response)) {
    return makeError(Errc::kInvalidArgument,
                     where + ".response: not lower-case words joined by '+'");
  }
  p.response = *response;
  SG_READ(attempts, r->u64("attempts"));
  SG_READ(first, r->u64("first_ns", kMaxAgentTimeNs));
  SG_READ(at, r->u64("at_ns", kMaxAgentTimeNs));
  if (*at < *first) return makeError(Errc::kInvalidArgument, where + ".at_ns: before first_ns");
  p.attempts = *attempts;
  p.first_ns = *first;
  p.at_ns = *at;
  SG_TRY(r->done());
  return p;
}

}  // namespace sg::proto
