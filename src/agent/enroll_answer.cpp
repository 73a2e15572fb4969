#include "agent/enroll_answer.h"

#include <nlohmann/json.hpp>

namespace sg::agent {
namespace {

constexpr size_t kMaxNameBytes = 64;  // what the console accepts

// The console's {"error","message"} for a refused enrollment, or the status.
std::string refusal(int status, const nlohmann::json& j) {
  std::string why = "HTTP " + std::to_string(status);
  if (j.is_object()) {
    if (auto m = j.find("message"); m != j.end() && m->is_string()) {
      why += ": " + m->get<std::string>();
    } else if (auto e = j.find("error"); e != j.end() && e->is_string()) {
      why += ": " + e->get<std::string>();
    }
  }
  return why;
}

Errc codeForStatus(int status) {
  if (status == 401 || status == 403) return Errc::kUnauthenticated;
  if (status >= 400 && status < 500) return Errc::kInvalidArgument;
  return Errc::kUnavailable;
}

}  // namespace

Result<void> validateEndpointName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return Error(Errc::kInvalidArgument, "endpoint name must have 1 to 64 characters");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Error(Errc::kInvalidArgument,
                   "endpoint name '" + name + "': only letters, digits, '.', '_' and '-'");
    }
  }
  return Ok{};
}

Result<EnrollAnswer> parseEnrollAnswer(int status, const std::string& body,
                                       const std::string& where) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status != 200) {
    return Error(codeForStatus(status), where + ": refused (" + refusal(status, j) + ")");
  }
  auto field = [&j](const char* k) -> std::string {
    if (!j.is_object() || !j.contains(k) || !j[k].is_string()) return "";
    return j[k].get<std::string>();
  };
  EnrollAnswer a{field("endpoint"), field("cert"), field("ca")};
  if (a.name.empty() || a.cert_pem.empty() || a.ca_pem.empty()) {
    return Error(Errc::kUnavailable, where + ": the reply lacks \"endpoint\", \"cert\" or \"ca\"");
  }
  if (auto v = validateEndpointName(a.name); !v.ok()) return v.error().context("console's reply");
  return a;
}

}  // namespace sg::agent
