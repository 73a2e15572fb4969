// PgStore: endpoints and enrollment (the records agents' links and the
// enrollment route write), apart from pg_store.cpp's other records.
#include <algorithm>

#include "console/pg_feed_change.h"
#include "console/pg_store.h"
#include "console/pg_store_rows.h"

namespace sg::console {

namespace {

namespace ck = change_kind;

// Spends the token only when unused and unexpired; a second console
// consuming it at once waits for this row and then finds it used.
const std::string kConsumeSql =
    std::string(
        "UPDATE enrollment_tokens SET used = true WHERE token_hash = $1 AND NOT used AND"
        " expires_at_ms > $2 RETURNING ") +
    kEnrollmentColumns;

}  // namespace

// Why the token `hash` was not consumed (inside the write's transaction).
Error PgStore::tokenRefusal(const std::string& hash) {
  auto why = conn_->exec("SELECT used FROM enrollment_tokens WHERE token_hash = $1", {hash});
  if (!why.ok()) return why.error();
  if (why->rows() == 0) return makeError(Errc::kNotFound, "unknown enrollment token");
  if (why->boolean(0, 0))
    return makeError(Errc::kPermissionDenied, "enrollment token already used");
  return makeError(Errc::kPermissionDenied, "enrollment token expired");
}

Result<void> PgStore::putEndpoint(const EndpointRecord& e) {
  std::lock_guard lock(mu_);
  static const std::string kSql = pgUpsert("endpoints", kEndpointColumns, "name", 10);
  SG_TRY(
      write({ck::kEndpoint, e.name, "put"},
            {{kSql,
              {e.name, labelsText(e.labels), e.credential_hash, pgInt(e.enrolled_at_ms),
               pgBool(e.revoked), pgBool(e.isolated), stringsText(e.allowed_peers),
               pgU64(e.applied_version), pgU64(e.last_report_seq), pgInt(e.last_heartbeat_ms)}}}));
  return Ok{};
}

Result<EndpointRecord> PgStore::getEndpoint(const std::string& name) {
  std::lock_guard lock(mu_);
  auto rows = query<EndpointRecord>(
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = $1", {name},
      endpointRow);
  SG_PG_ONE(rows, "endpoint '" + name + "'");
}

Result<std::vector<EndpointRecord>> PgStore::listEndpoints() {
  std::lock_guard lock(mu_);
  return query<EndpointRecord>(
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name COLLATE \"C\"", {},
      endpointRow);
}

Result<void> PgStore::putEnrollmentToken(const EnrollmentTokenRecord& t) {
  std::lock_guard lock(mu_);
  static const std::string kSql =
      pgUpsert("enrollment_tokens", kEnrollmentColumns, "token_hash", 4);
  SG_TRY(write(
      {ck::kEnrollmentToken, t.token_hash, "put"},
      {{kSql, {t.token_hash, labelsText(t.labels), pgInt(t.expires_at_ms), pgBool(t.used)}}}));
  return Ok{};
}

Result<EnrollmentTokenRecord> PgStore::consumeEnrollmentToken(const std::string& hash,
                                                              int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::optional<EnrollmentTokenRecord> found;
  // Not pipelined: a refused token must roll the version bump back.
  auto done = writeWith({ck::kEnrollmentToken, hash, "consume"}, [&]() -> Result<void> {
    SG_READ(used, conn_->exec(kConsumeSql, {hash, pgInt(now_ms)}));
    if (used->rows() == 1) {
      found = enrollmentRow(*used, 0);
      return Ok{};
    }
    return tokenRefusal(hash);
  });
  if (!done.ok()) return done.error();
  return std::move(*found);
}

Result<EndpointRecord> PgStore::enrollEndpoint(const std::string& hash, int64_t now_ms,
                                               EndpointRecord e) {
  std::lock_guard lock(mu_);
  // Announced as the endpoint's change: the other consoles load it.
  auto done = writeWith({ck::kEndpoint, e.name, "put"}, [&]() -> Result<void> {
    SG_READ(used, conn_->exec(kConsumeSql, {hash, pgInt(now_ms)}));
    if (used->rows() != 1) return tokenRefusal(hash);
    e.labels = enrollmentRow(*used, 0).labels;
    // The name is free, or its endpoint revoked; else no row comes back and
    // the transaction (the token too) rolls back. A second console enrolling
    // the same name at once waits for this row, then finds it taken.
    static const std::string kSql = pgUpsert("endpoints", kEndpointColumns, "name", 10) +
                                    " WHERE endpoints.revoked RETURNING name";
    SG_READ(put, conn_->exec(kSql, {e.name, labelsText(e.labels), e.credential_hash,
                                    pgInt(e.enrolled_at_ms), pgBool(e.revoked), pgBool(e.isolated),
                                    stringsText(e.allowed_peers), pgU64(e.applied_version),
                                    pgU64(e.last_report_seq), pgInt(e.last_heartbeat_ms)}));
    if (put->rows() != 1) {
      return makeError(Errc::kAlreadyExists,
                       "endpoint '" + e.name + "' is enrolled (revoke it first to re-enroll)");
    }
    return Ok{};
  });
  if (!done.ok()) return done.error();
  return e;
}

namespace {

PgStatement linkUpdate(const EndpointLinkUpdate& u) {
  const EndpointLinkState& l = u.state;
  return {
      "UPDATE endpoints SET applied_version = GREATEST(applied_version, $3), last_report_seq ="
      " GREATEST(last_report_seq, $4), last_heartbeat_ms ="
      " GREATEST(last_heartbeat_ms, $5) WHERE name = $1 AND"
      " credential_hash = $2 AND NOT revoked",
      {u.name, u.credential_hash, pgU64(l.applied_version), pgU64(l.last_report_seq),
       pgInt(l.last_heartbeat_ms)}};
}

}  // namespace

Result<bool> PgStore::updateEndpointLink(const std::string& name,
                                         const std::string& credential_hash,
                                         const EndpointLinkState& l) {
  SG_READ(matched, updateEndpointLinks({EndpointLinkUpdate{name, credential_hash, l}}));
  return static_cast<bool>(matched->front());
}

Result<std::vector<bool>> PgStore::updateEndpointLinks(
    const std::vector<EndpointLinkUpdate>& updates) {
  constexpr size_t kPerTransaction = 256;
  std::lock_guard lock(mu_);
  std::vector<bool> matched;
  matched.reserve(updates.size());
  for (size_t at = 0; at < updates.size(); at += kPerTransaction) {
    const size_t end = std::min(updates.size(), at + kPerTransaction);
    std::vector<PgStatement> body;
    body.reserve(2 * (end - at));
    for (size_t i = at; i < end; ++i) body.push_back(linkUpdate(updates[i]));
    // write() announces the first; the others are announced here.
    for (size_t i = at + 1; i < end; ++i) {
      body.push_back(notify({ck::kEndpoint, updates[i].name, "put"}));
    }
    SG_READ(r, write({ck::kEndpoint, updates[at].name, "put"}, std::move(body)));
    for (size_t i = 0; i < end - at; ++i) matched.push_back((*r)[i].affected() > 0);
  }
  return matched;
}

Result<bool> PgStore::setEndpointIsolation(const std::string& name, bool isolated,
                                           const std::vector<std::string>& peers) {
  std::lock_guard lock(mu_);
  SG_READ(r, write({ck::kEndpoint, name, "put"},
                   {{"UPDATE endpoints SET isolated = $2, allowed_peers = $3"
                     " WHERE name = $1 AND NOT revoked",
                     {name, pgBool(isolated), stringsText(peers)}}}));
  return r->front().affected() > 0;
}

Result<bool> PgStore::revokeEndpoint(const std::string& name) {
  std::lock_guard lock(mu_);
  SG_READ(r, write({ck::kEndpoint, name, "put"},
                   {{"UPDATE endpoints SET revoked = true WHERE name = $1", {name}}}));
  return r->front().affected() > 0;
}

}  // namespace sg::console
