#include "console/service_tokens.h"

#include <algorithm>

#include "files/state_file.h"
#include "pki/token.h"

namespace sg::console {

Result<void> validateTokenName(const std::string& name) {
  const bool printable =
      std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c < 127; });
  if (name.empty() || name.size() > 64 || !printable) {
    return makeError(Errc::kInvalidArgument,
                     "token name must be 1..64 printable characters without spaces");
  }
  return Ok{};
}

Result<std::string> issueEnrollmentToken(Store& store, const std::string& ca_pin,
                                         const Labels& labels, Nanos ttl, int64_t now_ms) {
  SG_TRY(validateLabels(labels));
  if (ttl.count() <= 0) return makeError(Errc::kInvalidArgument, "ttl must be above 0");
  SG_READ(token, pki::newEnrollmentToken(ca_pin));
  EnrollmentTokenRecord r;
  r.token_hash = pki::secretHash(token->secret);
  r.labels = labels;
  r.expires_at_ms = now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  SG_TRY(store.putEnrollmentToken(r));
  return token->toString();
}

Result<std::string> issueApiToken(Store& store, const std::string& name, Role role,
                                  int64_t now_ms) {
  SG_TRY(validateTokenName(name));
  SG_READ(token, pki::newApiToken());
  ApiTokenRecord r;
  r.token_hash = pki::secretHash(token->secret);
  r.name = name;
  r.role = role;
  r.created_at_ms = now_ms;
  SG_TRY(store.putApiToken(r));
  return token->toString();
}

Result<AdminToken> ensureAdminToken(Store& store, const std::string& path, int64_t now_ms) {
  auto existing = readSmallFile(path, 4096);
  if (existing) {
    std::string text = *existing;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto token = pki::parseToken(text);
    if (token && token->kind == pki::TokenKind::kApi) {
      auto record = store.findApiToken(pki::secretHash(token->secret));
      if (record && !record->revoked && record->role == Role::kAdmin) {
        return AdminToken{text, false};
      }
    }
  } else if (existing.error().code() != Errc::kNotFound) {
    return existing.error().context("reading " + path);
  }
  SG_READ(token, issueApiToken(store, "admin", Role::kAdmin, now_ms));
  auto written = writeFileAtomic(path, *token + "\n", 0600);
  if (!written) return written.error().context("writing " + path);
  return AdminToken{*token, true};
}

Result<Labels> parseLabels(const std::string& text) {
  Labels out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return makeError(Errc::kInvalidArgument, "label '" + item + "' is not key=value");
    }
    const std::string key = item.substr(0, eq);
    if (out.count(key) != 0) return makeError(Errc::kInvalidArgument, "label '" + key + "' twice");
    out[key] = item.substr(eq + 1);
    start = end + 1;
  }
  SG_TRY(validateLabels(out));
  return out;
}

}  // namespace sg::console
