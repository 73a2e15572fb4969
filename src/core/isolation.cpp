#include "core/isolation.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sg {
namespace {

bool unspecified(const Address& a) {
  Address zero;
  if (!a.isV4()) return a == zero;
  return a.raw.b[12] == 0 && a.raw.b[13] == 0 && a.raw.b[14] == 0 && a.raw.b[15] == 0;
}

bool multicast(const Address& a) {
  return a.isV4() ? (a.raw.b[12] & 0xf0) == 0xe0 : a.raw.b[0] == 0xff;
}

// 0.0.0.0/0 (96 bits of the mapped space) or ::/0.
bool everything(const Prefix& p) { return p.bits == 0 || (p.addr.isV4() && p.bits == 96); }

Error invalid(const std::string& what) { return makeError(Errc::kInvalidArgument, what); }

Result<std::vector<std::string>> stringList(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return std::vector<std::string>{};
  if (!it->is_array()) return invalid(std::string("\"") + key + "\" must be an array of strings");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string()) return invalid(std::string("\"") + key + "\" must hold only strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<void> validateIsolationSpec(const IsolationSpec& spec) {
  if (spec.console.empty()) {
    return invalid(
        "isolation needs at least one console address: isolating without a way back to the "
        "console is refused");
  }
  if (spec.console.size() > kMaxIsolationConsole) {
    return invalid("isolation takes at most " + std::to_string(kMaxIsolationConsole) +
                   " console addresses, got " + std::to_string(spec.console.size()));
  }
  if (spec.allow.size() > kMaxIsolationAllow) {
    return invalid("isolation takes at most " + std::to_string(kMaxIsolationAllow) +
                   " allowlist prefixes, got " + std::to_string(spec.allow.size()));
  }
  for (size_t i = 0; i < spec.console.size(); ++i) {
    const Address& a = spec.console[i];
    if (unspecified(a)) {
      return invalid("console address " + a.str() + " is unspecified: give the console's address");
    }
    if (multicast(a)) return invalid("console address " + a.str() + " is a multicast address");
    if (std::find(spec.console.begin(), spec.console.begin() + static_cast<long>(i), a) !=
        spec.console.begin() + static_cast<long>(i)) {
      return invalid("console address " + a.str() + " is listed twice");
    }
  }
  for (size_t i = 0; i < spec.allow.size(); ++i) {
    const Prefix& p = spec.allow[i];
    if (everything(p)) {
      return invalid("allowlist prefix " + p.str() +
                     " admits every address: that is no isolation (remove it)");
    }
    if (std::find(spec.allow.begin(), spec.allow.begin() + static_cast<long>(i), p) !=
        spec.allow.begin() + static_cast<long>(i)) {
      return invalid("allowlist prefix " + p.str() + " is listed twice");
    }
  }
  return Ok{};
}

Result<IsolationSpec> parseIsolationSpec(const std::vector<std::string>& console,
                                         const std::vector<std::string>& allow) {
  IsolationSpec spec;
  for (const std::string& c : console) {
    auto a = parseAddress(c);
    if (!a) return a.error().context("console address");
    spec.console.push_back(*a);
  }
  for (const std::string& text : allow) {
    auto p = parsePrefix(text);
    if (!p) return p.error().context("allowlist prefix");
    spec.allow.push_back(*p);
  }
  SG_TRY(validateIsolationSpec(spec));
  return spec;
}

std::string isolationSpecJson(const IsolationSpec& spec) {
  nlohmann::json j;
  j["console"] = nlohmann::json::array();
  j["allow"] = nlohmann::json::array();
  for (const Address& a : spec.console) j["console"].push_back(a.str());
  for (const Prefix& p : spec.allow) j["allow"].push_back(p.str());
  return j.dump();
}

Result<IsolationSpec> parseIsolationSpecJson(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid("isolation spec is not a JSON object");
  auto console = stringList(j, "console");
  if (!console) return console.error();
  auto allow = stringList(j, "allow");
  if (!allow) return allow.error();
  return parseIsolationSpec(*console, *allow);
}

}  // namespace sg
