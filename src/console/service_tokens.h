// Tokens kept in the store, usable with or without a running console: the
// service issues them for the API, the `console token create` command writes
// them straight into the store (a running console reads it there), and the
// console's first start makes the admin token.
#pragma once

#include <cstdint>
#include <string>

#include "console/store.h"
#include "core/duration.h"
#include "core/result.h"

namespace sg::console {

// A one-time enrollment token (sgE_<secret>.<ca pin>) giving `labels` to the
// endpoint that enrolls with it; only its hash is stored.
Result<std::string> issueEnrollmentToken(Store& store, const std::string& ca_pin,
                                         const Labels& labels, Nanos ttl, int64_t now_ms);
// An API token (sgA_...) for `name` with `role`; only its hash is stored.
Result<std::string> issueApiToken(Store& store, const std::string& name, Role role, int64_t now_ms);

struct AdminToken {
  std::string token;
  bool created = false;  // false: the file's token, already known to the store
};
// `path` (DIR/admin.token, mode 0600): kept when it holds a token the store
// knows and has not revoked; otherwise a new admin token named "admin" is
// stored and written there.
Result<AdminToken> ensureAdminToken(Store& store, const std::string& path, int64_t now_ms);

// "org=acme,type=server,dept=payments" (keys org, type, dept; empty: none).
Result<Labels> parseLabels(const std::string& text);
// Names of API tokens: 1..64 printable ASCII characters, no spaces.
Result<void> validateTokenName(const std::string& name);

}  // namespace sg::console
