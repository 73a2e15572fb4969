#include "proto/parts.h"

#include "proto/limits.h"

namespace sg::proto {

using nlohmann::json;

namespace {

constexpr EventKind kEventKinds[] = {EventKind::kFloodDetected, EventKind::kBlockAdded,
                                     EventKind::kBlockExpired, EventKind::kBlockRemoved};
constexpr OpKind kOpKinds[] = {OpKind::kBlockAdd, OpKind::kBlockRemove, OpKind::kIsolate,
                               OpKind::kRelease, OpKind::kPolicySet};

json expiryJson(const std::optional<uint64_t>& ms) { return ms ? json(*ms) : json(nullptr); }

}  // namespace

const char* eventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kFloodDetected:
      return "flood_detected";
    case EventKind::kBlockAdded:
      return "block_added";
    case EventKind::kBlockExpired:
      return "block_expired";
    case EventKind::kBlockRemoved:
      return "block_removed";
  }
  return "?";
}

const char* opKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kBlockAdd:
      return "block_add";
    case OpKind::kBlockRemove:
      return "block_remove";
    case OpKind::kIsolate:
      return "isolate";
    case OpKind::kRelease:
      return "release";
    case OpKind::kPolicySet:
      return "policy_set";
  }
  return "?";
}

json prefixesJson(const std::vector<Prefix>& ps) {
  json arr = json::array();
  for (const auto& p : ps) arr.push_back(prefixText(p));
  return arr;
}

json toJson(const Event& e, uint32_t version) {
  json j = {{"kind", eventKindName(e.kind)}, {"source", prefixText(e.source)},
            {"dst_port", e.dst_port},        {"count", e.count},
            {"window_ms", e.window_ms},      {"level", e.level},
            {"block_ms", e.block_ms},        {"first_attempt_ns", e.first_attempt_ns},
            {"detected_ns", e.detected_ns}};
  if (version >= 3) j["rate"] = e.rate;
  return j;
}

json toJson(const BlockEntry& b) {
  return {{"source", prefixText(b.source)}, {"expires_in_ms", expiryJson(b.expires_in_ms)}};
}

json toJson(const Isolation& i) {
  return {{"on", i.on}, {"allowed_peers", prefixesJson(i.allowed_peers)}};
}

json toJson(const PolicyParams& p) {
  return {{"name", p.name},
          {"threshold", p.threshold},
          {"window_ms", p.window_ms},
          {"block_duration_ms", p.block_duration_ms},
          {"enforcer", enforcerName(p.enforcer)}};
}

json toJson(const DeltaOp& op) {
  json j = {{"op", opKindName(op.kind)}};
  switch (op.kind) {
    case OpKind::kBlockAdd:
      j["source"] = prefixText(op.block.source);
      j["expires_in_ms"] = expiryJson(op.block.expires_in_ms);
      break;
    case OpKind::kBlockRemove:
      j["source"] = prefixText(op.block.source);
      break;
    case OpKind::kIsolate:
      j["allowed_peers"] = prefixesJson(op.allowed_peers);
      break;
    case OpKind::kRelease:
      break;
    case OpKind::kPolicySet:
      j["policy"] = toJson(op.policy);
      break;
  }
  return j;
}

json toJson(const NackItem& n) {
  return {{"op", n.op}, {"target", n.target}, {"reason", n.reason}};
}

Result<Event> parseEvent(const json& j, const std::string& where, uint32_t version) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  Event e;
  auto kind = r->str("kind", kMaxStringBytes);
  if (!kind) return kind.error();
  bool known = false;
  for (EventKind k : kEventKinds) {
    if (*kind == eventKindName(k)) e.kind = k, known = true;
  }
  if (!known) return makeError(Errc::kInvalidArgument, where + ".kind: unknown event kind");
  SG_READ(source, r->prefix("source"));
  SG_READ(port, r->u64("dst_port", 65535));
  SG_READ(count, r->u64("count", UINT32_MAX));
  SG_READ(window, r->u64("window_ms", kMaxDurationMs));
  SG_READ(level, r->u64("level", 63));
  SG_READ(block, r->u64("block_ms", kMaxDurationMs));
  SG_READ(first, r->u64("first_attempt_ns"));
  SG_READ(detected, r->u64("detected_ns"));
  if (version >= 3) {  // older versions have no rate: done() refuses the field
    SG_READ(rate, r->u64("rate", kMaxRate));
    e.rate = *rate;
  }
  SG_TRY(r->done());
  e.source = *source;
  e.dst_port = static_cast<uint16_t>(*port);
  e.count = static_cast<uint32_t>(*count);
  e.window_ms = *window;
  e.level = static_cast<uint8_t>(*level);
  e.block_ms = *block;
  e.first_attempt_ns = *first;
  e.detected_ns = *detected;
  if (e.first_attempt_ns > e.detected_ns) {
    return makeError(Errc::kInvalidArgument, where + ": first_attempt_ns after detected_ns");
  }
  return e;
}

Result<BlockEntry> parseBlockEntry(const json& j, const std::string& where) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  auto source = r->prefix("source");
  if (!source) return source.error();
  auto expiry = r->u64OrNull("expires_in_ms", kMaxDurationMs);
  if (!expiry) return expiry.error();
  SG_TRY(r->done());
  return BlockEntry{*source, *expiry};
}

Result<std::vector<Prefix>> parsePrefixes(const json& arr, const std::string& where) {
  return parseList<Prefix>(arr, where, parsePrefixText);
}

Result<Isolation> parseIsolation(const json& j, const std::string& where) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  auto on = r->boolean("on");
  if (!on) return on.error();
  auto peers = r->array("allowed_peers", kMaxPeers);
  if (!peers) return peers.error();
  auto list = parsePrefixes(**peers, where + ".allowed_peers");
  if (!list) return list.error();
  SG_TRY(r->done());
  return Isolation{*on, std::move(*list)};
}

Result<PolicyParams> parsePolicyParams(const json& j, const std::string& where) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  PolicyParams p;
  auto name = r->str("name", kMaxPolicyNameBytes);
  if (!name) return name.error();
  auto threshold = r->u64("threshold", kMaxThreshold);
  if (!threshold) return threshold.error();
  auto window = r->u64("window_ms", kMaxDurationMs);
  if (!window) return window.error();
  auto block = r->u64("block_duration_ms", kMaxDurationMs);
  if (!block) return block.error();
  auto enforcer = r->str("enforcer", kMaxStringBytes);
  if (!enforcer) return enforcer.error();
  auto kind = parseEnforcer(*enforcer);
  if (!kind) return kind.error().context(where + ".enforcer");
  SG_TRY(r->done());
  if (*threshold == 0 || *window == 0 || *block == 0) {
    return makeError(Errc::kInvalidArgument,
                     where + ": threshold, window_ms and block_duration_ms must be above 0");
  }
  p.name = *name;
  p.threshold = static_cast<uint32_t>(*threshold);
  p.window_ms = *window;
  p.block_duration_ms = *block;
  p.enforcer = *kind;
  return p;
}

Result<DeltaOp> parseDeltaOp(const json& j, const std::string& where) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  auto name = r->str("op", kMaxStringBytes);
  if (!name) return name.error();
  DeltaOp op;
  bool known = false;
  for (OpKind k : kOpKinds) {
    if (*name == opKindName(k)) op.kind = k, known = true;
  }
  if (!known) return makeError(Errc::kInvalidArgument, where + ".op: unknown op '" + *name + "'");
  if (op.kind == OpKind::kBlockAdd || op.kind == OpKind::kBlockRemove) {
    auto source = r->prefix("source");
    if (!source) return source.error();
    op.block.source = *source;
  }
  if (op.kind == OpKind::kBlockAdd) {
    auto expiry = r->u64OrNull("expires_in_ms", kMaxDurationMs);
    if (!expiry) return expiry.error();
    op.block.expires_in_ms = *expiry;
  }
  if (op.kind == OpKind::kIsolate) {
    auto peers = r->array("allowed_peers", kMaxPeers);
    if (!peers) return peers.error();
    auto list = parsePrefixes(**peers, where + ".allowed_peers");
    if (!list) return list.error();
    op.allowed_peers = std::move(*list);
  }
  if (op.kind == OpKind::kPolicySet) {
    auto policy = r->object("policy", 16);
    if (!policy) return policy.error();
    auto params = parsePolicyParams(**policy, where + ".policy");
    if (!params) return params.error();
    op.policy = std::move(*params);
  }
  SG_TRY(r->done());
  return op;
}

Result<NackItem> parseNackItem(const json& j, const std::string& where) {
  auto r = FieldReader::of(j, where);
  if (!r) return r.error();
  auto op = r->str("op", kMaxStringBytes);
  if (!op) return op.error();
  auto target = r->str("target", kMaxStringBytes);
  if (!target) return target.error();
  auto reason = r->str("reason", kMaxStringBytes);
  if (!reason) return reason.error();
  SG_TRY(r->done());
  return NackItem{*op, *target, *reason};
}

}  // namespace sg::proto
