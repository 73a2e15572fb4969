#include "console/store.h"

#include <stdexcept>

namespace sg::console {

const char* roleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

Result<Role> parseRole(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "operator") return Role::kOperator;
  if (text == "admin") return Role::kAdmin;
  return makeError(Errc::kInvalidArgument,
                   "unknown role '" + std::string(text) + "' (viewer, operator, admin)");
}

Result<uint64_t> Store::nextCounter(const std::string& name) {
  SG_READ(text, getMeta(name));
  uint64_t value = 0;
  if (*text) {
    try {
      size_t used = 0;
      value = std::stoull(**text, &used);
      if (used != (*text)->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return makeError(Errc::kInvalidArgument,
                       "store meta " + name + " '" + **text + "' is not a counter");
    }
  }
  SG_TRY(putMeta(name, std::to_string(value + 1)));
  return value + 1;
}

Result<std::string> Store::claimMeta(const std::string& key, const std::string& value) {
  SG_READ(held, getMeta(key));
  if (*held && !(*held)->empty()) return **held;
  SG_TRY(putMeta(key, value));
  return value;
}

Result<std::vector<bool>> Store::updateEndpointLinks(
    const std::vector<EndpointLinkUpdate>& updates) {
  std::vector<bool> out;
  out.reserve(updates.size());
  for (const EndpointLinkUpdate& u : updates) {
    SG_READ(matched, updateEndpointLink(u.name, u.credential_hash, u.state));
    out.push_back(*matched);
  }
  return out;
}

Result<void> Store::putFloods(const std::vector<FloodRecord>& floods) {
  for (const FloodRecord& f : floods) SG_TRY(putFlood(f));
  return Ok{};
}

}  // namespace sg::console
