#include "agent/isolation_control.h"

#include <algorithm>

namespace sg::agent {
namespace {

nlohmann::json failure(const std::string& why) { return {{"ok", false}, {"error", why}}; }

Result<std::vector<std::string>> strings(const nlohmann::json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end()) return std::vector<std::string>{};
  if (!it->is_array()) {
    return makeError(Errc::kInvalidArgument, std::string("\"") + key + "\" must be an array");
  }
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) {
      return makeError(Errc::kInvalidArgument,
                       std::string("\"") + key + "\" must hold only strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<IsolationSpec> isolationSpecFor(const nlohmann::json& request,
                                       const std::vector<Prefix>& config_allow) {
  auto console = strings(request, "console");
  if (!console) return console.error();
  auto allow = strings(request, "allow");
  if (!allow) return allow.error();
  IsolationSpec spec;
  for (const std::string& c : *console) {
    auto a = parseAddress(c);
    if (!a) return a.error().context("console address");
    spec.console.push_back(*a);
  }
  auto add = [&spec](const Prefix& p) {
    if (std::find(spec.allow.begin(), spec.allow.end(), p) == spec.allow.end()) {
      spec.allow.push_back(p);
    }
  };
  for (const std::string& text : *allow) {
    auto p = parsePrefix(text);
    if (!p) return p.error().context("allowlist prefix");
    add(*p);
  }
  for (const Prefix& p : config_allow) add(p);
  SG_TRY(validateIsolationSpec(spec));
  return spec;
}

nlohmann::json isolationStatusJson(const IsolationPort* port) {
  if (port == nullptr || !port->isolated()) return {{"isolated", false}};
  nlohmann::json j = nlohmann::json::parse(isolationSpecJson(port->spec()));
  j["isolated"] = true;
  return j;
}

std::optional<nlohmann::json> handleIsolationCommand(IsolationPort* port, const std::string& line,
                                                     const std::vector<Prefix>& config_allow) {
  nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object()) return std::nullopt;
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) return std::nullopt;
  const std::string name = cmd->get<std::string>();
  if (name != "isolate" && name != "release") return std::nullopt;
  if (port == nullptr) return failure("this agent runs without isolation");
  Result<void> done = Ok{};
  if (name == "isolate") {
    auto spec = isolationSpecFor(request, config_allow);
    if (!spec) return failure(spec.error().message());
    done = port->isolate(*spec);
  } else {
    done = port->release();
  }
  if (!done) return failure(done.error().message());
  return nlohmann::json{{"ok", true}, {"isolation", isolationStatusJson(port)}};
}

}  // namespace sg::agent
