// Messages an agent sends: hello, report, ack, nack, heartbeat, ping, pong.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "proto/codec.h"
#include "proto/envelope.h"
#include "proto/limits.h"
#include "proto/parts.h"
#include "proto/ping_codec.h"
#include "proto/port_flood_codec.h"

namespace sg::proto {

using nlohmann::json;

namespace {

bool validName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<AgentMessage> parseHello(FieldReader& r, uint32_t version) {
  SG_READ(name, r.str("name", kMaxStringBytes));
  if (!validName(*name)) {
    return makeError(Errc::kInvalidArgument, "hello.name: empty or not [A-Za-z0-9._-]");
  }
  SG_READ(agent_version, r.str("agent_version", 64));
  SG_READ(platform, r.str("platform", 32));
  if (*platform != "linux" && *platform != "windows") {
    return makeError(Errc::kInvalidArgument, "hello.platform: not linux or windows");
  }
  SG_READ(applied, r.u64("applied_version"));
  SG_READ(acked, r.u64("acked_report_seq"));
  SG_TRY(r.done());
  return AgentMessage{Hello{*name, *agent_version, *platform, *applied, *acked, version}};
}

Result<AgentMessage> parseReport(FieldReader& r, uint32_t version) {
  SG_READ(seq, r.u64("seq"));
  if (*seq == 0) return makeError(Errc::kInvalidArgument, "report.seq: starts at 1");
  SG_READ(dropped, r.u64("dropped"));
  SG_READ(events_json, r.array("events", kMaxEvents));
  SG_READ(events, parseList<Event>(**events_json, "report.events",
                                   [version](const nlohmann::json& j, const std::string& where) {
                                     return parseEvent(j, where, version);
                                   }));
  Report report{*seq, *dropped, std::move(*events), {}};
  if (version >= 2) {  // version 1 has no port_floods: done() refuses the field
    SG_READ(floods_json, r.array("port_floods", kMaxPortFloods));
    SG_READ(floods,
            parseList<PortFloodReport>(**floods_json, "report.port_floods", parsePortFlood));
    report.port_floods = std::move(*floods);
  }
  SG_TRY(r.done());
  return AgentMessage{std::move(report)};
}

Result<AgentMessage> parseAck(FieldReader& r) {
  SG_READ(version, r.u64("version"));
  if (*version == 0) return makeError(Errc::kInvalidArgument, "ack.version: starts at 1");
  SG_TRY(r.done());
  return AgentMessage{Ack{*version}};
}

Result<AgentMessage> parseNack(FieldReader& r) {
  SG_READ(version, r.u64("version"));
  if (*version == 0) return makeError(Errc::kInvalidArgument, "nack.version: starts at 1");
  SG_READ(items_json, r.array("items", kMaxNackItems));
  if ((*items_json)->empty()) {
    return makeError(Errc::kInvalidArgument, "nack.items: empty (send an ack)");
  }
  SG_READ(items, parseList<NackItem>(**items_json, "nack.items", parseNackItem));
  SG_TRY(r.done());
  return AgentMessage{Nack{*version, std::move(*items)}};
}

Result<AgentMessage> parseHeartbeat(FieldReader& r) {
  Heartbeat hb;
  SG_READ(time, r.u64("agent_time_ns"));
  SG_READ(applied, r.u64("applied_version"));
  SG_READ(blocks, r.u64("active_blocks", UINT32_MAX));
  SG_READ(counters, r.object("counters", kMaxCounters));
  for (const auto& [key, value] : (*counters)->items()) {
    if (key.empty() || key.size() > 64) {
      return makeError(Errc::kInvalidArgument, "heartbeat.counters: name empty or over 64 bytes");
    }
    if (!value.is_number_unsigned()) {
      return makeError(Errc::kInvalidArgument,
                       "heartbeat.counters." + key + ": not an unsigned integer");
    }
    hb.counters[key] = value.get<uint64_t>();
  }
  SG_TRY(r.done());
  hb.agent_time_ns = *time;
  hb.applied_version = *applied;
  hb.active_blocks = static_cast<uint32_t>(*blocks);
  return AgentMessage{hb};
}

// An ack exactly as encode() writes it — {"type":"ack","v":V,"version":N},
// keys in that order, no spaces, V a version this side speaks, N from 1 with
// no leading zero and within 64 bits — read without building a JSON tree: a
// fan-out brings one from every agent, and the tree cost more than the rest
// of the ack's handling. Anything else (another order, spaces, an escape, a
// bad value) goes to the full parser, which decides as before.
std::optional<Ack> fastAck(std::string_view bytes) {
  constexpr std::string_view kHead = R"({"type":"ack","v":)";
  constexpr std::string_view kMid = R"(,"version":)";
  if (bytes.size() < kHead.size() + 1 + kMid.size() + 2 || !bytes.starts_with(kHead) ||
      bytes.back() != '}') {
    return std::nullopt;
  }
  bytes.remove_prefix(kHead.size());
  bytes.remove_suffix(1);
  const char v = bytes.front();
  if (v < static_cast<char>('0' + kMinProtocolVersion) ||
      v > static_cast<char>('0' + kProtocolVersion)) {
    return std::nullopt;
  }
  bytes.remove_prefix(1);
  if (!bytes.starts_with(kMid)) return std::nullopt;
  bytes.remove_prefix(kMid.size());
  if (bytes.empty() || bytes.size() > 20 || bytes.front() < '1' || bytes.front() > '9') {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (char c : bytes) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;  // past 64 bits
    n = n * 10 + d;
  }
  return Ack{n};
}

}  // namespace

Result<AgentMessage> parseAgentMessage(std::string_view bytes) {
  static_assert(kProtocolVersion <= 9, "fastAck reads the version as one digit");
  if (auto ack = fastAck(bytes)) return AgentMessage{*ack};
  SG_READ(env, openEnvelope(bytes));
  SG_READ(r, openReader(*env));
  const std::string& t = env->type;
  if (t == "hello") return parseHello(*r, env->version);
  if (t == "report") return parseReport(*r, env->version);
  if (t == "ack") return parseAck(*r);
  if (t == "nack") return parseNack(*r);
  if (t == "heartbeat") return parseHeartbeat(*r);
  if (t == "ping") {
    SG_READ(ping, parsePing(*r));
    return AgentMessage{*ping};
  }
  if (t == "pong") {
    SG_READ(pong, parsePong(*r));
    return AgentMessage{*pong};
  }
  return makeError(Errc::kInvalidArgument, "unknown message type '" + t + "' from an agent");
}

const char* typeName(const AgentMessage& m) {
  static constexpr const char* kNames[] = {"hello",     "report", "ack", "nack",
                                           "heartbeat", "ping",   "pong"};
  return kNames[m.index()];
}

std::string encode(const AgentMessage& message, uint32_t version) {
  json j = json::object();
  if (const auto* h = std::get_if<Hello>(&message)) {
    j = {{"name", h->name},
         {"agent_version", h->agent_version},
         {"platform", h->platform},
         {"applied_version", h->applied_version},
         {"acked_report_seq", h->acked_report_seq}};
    version = h->protocol;
  } else if (const auto* rep = std::get_if<Report>(&message)) {
    json events = json::array();
    for (const auto& e : rep->events) events.push_back(toJson(e, version));
    j = {{"seq", rep->seq}, {"dropped", rep->dropped}, {"events", std::move(events)}};
    if (version >= 2) {
      json floods = json::array();
      for (const auto& p : rep->port_floods) floods.push_back(toJson(p));
      j["port_floods"] = std::move(floods);
    }
  } else if (const auto* a = std::get_if<Ack>(&message)) {
    j = {{"version", a->version}};
  } else if (const auto* n = std::get_if<Nack>(&message)) {
    json items = json::array();
    for (const auto& i : n->items) items.push_back(toJson(i));
    j = {{"version", n->version}, {"items", std::move(items)}};
  } else if (const auto* hb = std::get_if<Heartbeat>(&message)) {
    json counters = json::object();
    for (const auto& [k, v] : hb->counters) counters[k] = v;
    j = {{"agent_time_ns", hb->agent_time_ns},
         {"applied_version", hb->applied_version},
         {"active_blocks", hb->active_blocks},
         {"counters", std::move(counters)}};
  } else if (const auto* p = std::get_if<Ping>(&message)) {
    j = toJson(*p);
  } else if (const auto* po = std::get_if<Pong>(&message)) {
    j = toJson(*po);
  }
  return sealEnvelope(typeName(message), std::move(j), version);
}

}  // namespace sg::proto
