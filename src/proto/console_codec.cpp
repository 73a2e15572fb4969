// Messages the console sends: welcome, snapshot, delta, report_ack, ping, pong.
#include <nlohmann/json.hpp>

#include "proto/codec.h"
#include "proto/envelope.h"
#include "proto/limits.h"
#include "proto/parts.h"
#include "proto/ping_codec.h"

namespace sg::proto {

using nlohmann::json;

namespace {

Result<ConsoleMessage> parseWelcome(FieldReader& r) {
  SG_READ(time, r.u64("console_time_ns"));
  SG_READ(seq, r.u64("last_report_seq"));
  SG_TRY(r.done());
  return ConsoleMessage{Welcome{*time, *seq}};
}

Result<ConsoleMessage> parseSnapshot(FieldReader& r) {
  SG_READ(version, r.u64("version"));
  if (*version == 0) return makeError(Errc::kInvalidArgument, "snapshot.version: starts at 1");
  SG_READ(blocks_json, r.array("blocks", kMaxBlocks));
  SG_READ(blocks, parseList<BlockEntry>(**blocks_json, "snapshot.blocks", parseBlockEntry));
  SG_READ(isolation_json, r.object("isolation", 8));
  SG_READ(isolation, parseIsolation(**isolation_json, "snapshot.isolation"));
  SG_READ(policy_json, r.object("policy", 16));
  SG_READ(policy, parsePolicyParams(**policy_json, "snapshot.policy"));
  SG_TRY(r.done());
  return ConsoleMessage{
      Snapshot{*version, std::move(*blocks), std::move(*isolation), std::move(*policy)}};
}

Result<ConsoleMessage> parseDelta(FieldReader& r) {
  SG_READ(from, r.u64("from_version"));
  SG_READ(version, r.u64("version"));
  if (*version <= *from) {
    return makeError(Errc::kInvalidArgument, "delta: version must be above from_version");
  }
  SG_READ(ops_json, r.array("ops", kMaxOps));
  SG_READ(ops, parseList<DeltaOp>(**ops_json, "delta.ops", parseDeltaOp));
  SG_TRY(r.done());
  return ConsoleMessage{Delta{*from, *version, std::move(*ops)}};
}

Result<ConsoleMessage> parseReportAck(FieldReader& r) {
  SG_READ(seq, r.u64("seq"));
  if (*seq == 0) return makeError(Errc::kInvalidArgument, "report_ack.seq: starts at 1");
  SG_TRY(r.done());
  return ConsoleMessage{ReportAck{*seq}};
}

}  // namespace

Result<ConsoleMessage> parseConsoleMessage(std::string_view bytes) {
  SG_READ(env, openEnvelope(bytes));
  SG_READ(r, openReader(*env));
  const std::string& t = env->type;
  if (t == "welcome") return parseWelcome(*r);
  if (t == "snapshot") return parseSnapshot(*r);
  if (t == "delta") return parseDelta(*r);
  if (t == "report_ack") return parseReportAck(*r);
  if (t == "ping") {
    SG_READ(ping, parsePing(*r));
    return ConsoleMessage{*ping};
  }
  if (t == "pong") {
    SG_READ(pong, parsePong(*r));
    return ConsoleMessage{*pong};
  }
  return makeError(Errc::kInvalidArgument, "unknown message type '" + t + "' from the console");
}

const char* typeName(const ConsoleMessage& m) {
  static constexpr const char* kNames[] = {"welcome",    "snapshot", "delta",
                                           "report_ack", "ping",     "pong"};
  return kNames[m.index()];
}

std::string encode(const ConsoleMessage& message, uint32_t version) {
  json j = json::object();
  if (const auto* w = std::get_if<Welcome>(&message)) {
    j = {{"console_time_ns", w->console_time_ns}, {"last_report_seq", w->last_report_seq}};
  } else if (const auto* s = std::get_if<Snapshot>(&message)) {
    json blocks = json::array();
    for (const auto& b : s->blocks) blocks.push_back(toJson(b));
    j = {{"version", s->version},
         {"blocks", std::move(blocks)},
         {"isolation", toJson(s->isolation)},
         {"policy", toJson(s->policy)}};
  } else if (const auto* d = std::get_if<Delta>(&message)) {
    json ops = json::array();
    for (const auto& op : d->ops) ops.push_back(toJson(op));
    j = {{"from_version", d->from_version}, {"version", d->version}, {"ops", std::move(ops)}};
  } else if (const auto* a = std::get_if<ReportAck>(&message)) {
    j = {{"seq", a->seq}};
  } else if (const auto* p = std::get_if<Ping>(&message)) {
    j = toJson(*p);
  } else if (const auto* po = std::get_if<Pong>(&message)) {
    j = toJson(*po);
  }
  return sealEnvelope(typeName(message), std::move(j), version);
}

}  // namespace sg::proto
