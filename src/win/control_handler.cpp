#include "win/control_handler.h"

#include <nlohmann/json.hpp>

#include "agent/control_protocol.h"
#include "win/wfp_plan.h"

namespace sg::win {
namespace {

constexpr uint64_t kMs = 1'000'000;

const char* const kCounterNames[] = {
#define SG_COUNTER_NAME(name, metric, help) metric,
    SG_COUNTERS(SG_COUNTER_NAME)
#undef SG_COUNTER_NAME
};

nlohmann::json error(const std::string& why) { return {{"ok", false}, {"error", why}}; }

}  // namespace

std::string ControlHandler::handle(std::string_view line) {
  auto req = agent::parseControlRequest(line);
  if (!req.ok()) return error(req.error().message()).dump();
  const uint64_t now = clock_->nowNs();
  pipeline_->expire(now);
  // An address is the key the sensor counts it under (IPv6: its /64), as on
  // Linux; a prefix is taken as written.
  const uint8_t v6 = static_cast<uint8_t>(config_.ipv6_prefix);
  const Prefix target = req->prefix ? *req->prefix : keyPrefix(sourceKey(req->src, v6), v6);
  switch (req->cmd) {
    case agent::ControlCmd::kStatus: {
      nlohmann::json j{{"ok", true},
                       {"pid", pid_},
                       {"uptime_s", (now - started_ns_) / 1'000'000'000},
                       {"enforcer", "wfp"},
                       {"threshold", config_.threshold},
                       {"window_ms", static_cast<uint64_t>(config_.window.count()) / kMs},
                       {"block_ms", static_cast<uint64_t>(config_.block_duration.count()) / kMs},
                       {"interfaces", nlohmann::json::array({"etw:Microsoft-Windows-TCPIP"})},
                       {"blocks", pipeline_->blocks().size()},
                       {"block_capacity", config_.max_blocks},
                       {"source_capacity", config_.max_sources},
                       {"enforce_errors", pipeline_->enforceErrors()}};
      nlohmann::json counters = nlohmann::json::object();
      for (size_t i = 0; i < SG_CNT__MAX; i++)
        counters[kCounterNames[i]] = pipeline_->counters().c[i];
      j["counters"] = counters;
      if (net_events_ != nullptr) j["wfp_net_events"] = net_events_->toJson();
      return j.dump();
    }
    case agent::ControlCmd::kBlocks: {
      nlohmann::json rows = nlohmann::json::array();
      for (const BlockRow& b : pipeline_->blocks()) {
        const bool host = b.prefix.bits == 128;
        // As on Linux: a counted IPv6 key shows as its /64, a prefix block
        // (manual or the console's) is flagged as one.
        nlohmann::json r{{"src", host ? b.prefix.addr.str() : b.prefix.str()},
                         {"prefix", b.manual && !host},
                         {"permanent", b.until_ns == 0},
                         {"origin", b.manual ? "manual" : "local"},
                         {"enforced_by", "wfp"}};
        if (b.until_ns != 0) r["remaining_ms"] = b.until_ns > now ? (b.until_ns - now) / kMs : 0;
        if (!b.manual) {
          r["dst_port"] = b.port;
          r["count"] = b.count;
          r["level"] = b.level;
        }
        rows.push_back(r);
      }
      return nlohmann::json{{"ok", true}, {"blocks", rows}}.dump();
    }
    case agent::ControlCmd::kBlock: {
      const uint64_t ttl = req->permanent ? 0
                           : req->for_ms  ? req->for_ms * kMs
                                          : static_cast<uint64_t>(config_.block_duration.count());
      if (auto r = pipeline_->block(target, ttl, now); !r.ok())
        return error(r.error().message()).dump();
      return nlohmann::json{{"ok", true}}.dump();
    }
    case agent::ControlCmd::kUnblock: {
      auto r = pipeline_->unblock(target);
      if (!r.ok()) return error(r.error().message()).dump();
      return nlohmann::json{{"ok", true}, {"removed", *r}}.dump();
    }
    case agent::ControlCmd::kReload:
      return error("reload: restart the service to re-read the configuration").dump();
  }
  return error("unknown command").dump();
}

}  // namespace sg::win
