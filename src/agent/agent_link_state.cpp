#include "agent/agent_link_state.h"

#include <nlohmann/json.hpp>

#include "files/state_file.h"

namespace sg::agent {
namespace {

using nlohmann::json;

const char* const kFile = "/console-state.json";

Error bad(const std::string& what) {
  return makeError(Errc::kInvalidArgument, "console-state.json: " + what);
}

}  // namespace

std::string encodeAgentLinkState(const AgentLinkState& s) {
  json blocks = json::array();
  for (const auto& b : s.blocks) {
    json e{{"source", b.source.str()}, {"expires_unix_ms", nullptr}};
    if (b.expires_unix_ms) e["expires_unix_ms"] = *b.expires_unix_ms;
    blocks.push_back(e);
  }
  json policy = nullptr;
  if (s.policy) {
    policy = {{"name", s.policy->name},
              {"threshold", s.policy->threshold},
              {"window_ms", s.policy->window_ms},
              {"block_duration_ms", s.policy->block_duration_ms},
              {"enforcer", enforcerName(s.policy->enforcer)}};
  }
  json j{{"version", 1},
         {"applied_version", s.applied_version},
         {"blocks", blocks},
         {"policy", policy},
         {"isolated_by_console", s.isolated_by_console}};
  return j.dump(1) + "\n";
}

Result<AgentLinkState> parseAgentLinkState(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("version", 0) != 1) return bad("not a version 1 state");
  AgentLinkState s;
  if (!j["applied_version"].is_number_unsigned()) return bad("applied_version");
  s.applied_version = j["applied_version"].get<uint64_t>();
  if (!j["blocks"].is_array()) return bad("blocks");
  for (json b : j["blocks"]) {
    if (!b.is_object() || !b["source"].is_string()) return bad("blocks[].source");
    auto p = parsePrefix(b["source"].get<std::string>());
    if (!p) return bad("blocks[].source: " + p.error().message());
    ConsoleBlockRecord r{*p, std::nullopt};
    if (b["expires_unix_ms"].is_number_unsigned()) {
      r.expires_unix_ms = b["expires_unix_ms"].get<uint64_t>();
    } else if (!b["expires_unix_ms"].is_null()) {
      return bad("blocks[].expires_unix_ms");
    }
    s.blocks.push_back(r);
  }
  if (j["policy"].is_object()) {
    json p = j["policy"];
    if (!p["name"].is_string() || !p["threshold"].is_number_unsigned() ||
        !p["window_ms"].is_number_unsigned() || !p["block_duration_ms"].is_number_unsigned() ||
        !p["enforcer"].is_string()) {
      return bad("policy");
    }
    auto e = parseEnforcer(p["enforcer"].get<std::string>());
    if (!e) return bad("policy.enforcer");
    s.policy = proto::PolicyParams{p["name"].get<std::string>(), p["threshold"].get<uint32_t>(),
                                   p["window_ms"].get<uint64_t>(),
                                   p["block_duration_ms"].get<uint64_t>(), *e};
  } else if (!j["policy"].is_null()) {
    return bad("policy");
  }
  s.isolated_by_console = j.value("isolated_by_console", false);
  return s;
}

Result<AgentLinkState> loadAgentLinkState(const std::string& state_dir) {
  auto text = readSmallFile(state_dir + kFile, 4 * 1024 * 1024);
  if (!text) {
    if (text.error().code() == Errc::kNotFound) return AgentLinkState{};
    return text.error();
  }
  auto s = parseAgentLinkState(*text);
  if (!s) return s.error().context(state_dir);
  return s;
}

Result<void> saveAgentLinkState(const std::string& state_dir, const AgentLinkState& state) {
  return writeFileAtomic(state_dir + kFile, encodeAgentLinkState(state), 0600);
}

}  // namespace sg::agent
