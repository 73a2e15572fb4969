#include "console/pg_store.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>

#include "console/pg_feed_change.h"
#include "console/pg_migrations.h"
#include "console/pg_store_rows.h"

namespace sg::console {

namespace {

namespace ck = change_kind;

PgParam u64(uint64_t v) { return pgInt(static_cast<int64_t>(v)); }

std::string randomOrigin() {
  std::random_device rd;
  char out[17];
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) | rd();
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
}

// INSERT ... ON CONFLICT (key) DO UPDATE of every column: "insert or replace".
std::string upsert(const char* table, const char* columns, const char* key, int count) {
  std::string values, updates;
  for (int i = 1; i <= count; ++i) values += (i > 1 ? ",$" : "$") + std::to_string(i);
  std::string rest = columns;
  for (size_t start = 0; start < rest.size();) {
    size_t end = rest.find(',', start);
    if (end == std::string::npos) end = rest.size();
    std::string col = rest.substr(start, end - start);
    col.erase(0, col.find_first_not_of(' '));
    if (col != key) updates += (updates.empty() ? "" : ", ") + col + " = EXCLUDED." + col;
    start = end + 1;
  }
  return std::string("INSERT INTO ") + table + " (" + columns + ") VALUES (" + values +
         ") ON CONFLICT (" + key + ") DO UPDATE SET " + updates;
}

// The change announced at commit; a NULL key is the id this write assigned
// (lastval(): incidents, audit entries), the version the one it made.
constexpr const char* kNotify =
    "SELECT pg_notify($1, json_build_object('kind', $2::text,"
    " 'key', COALESCE($3::text, lastval()::text), 'op', $4::text,"
    " 'version', (SELECT version FROM resource_version), 'origin', $5::text)::text)";

}  // namespace

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url) {
  SG_READ(parsed, parsePgUrl(url));
  SG_READ(conn, PgConn::connect(*parsed, PgConnOptions{}));
  SG_TRY(migratePg(**conn));
  return std::unique_ptr<PgStore>(new PgStore(std::move(*conn), randomOrigin(), url));
}

PgStatement PgStore::notify(const Announce& what) const {
  PgParam key = what.key;
  if (key && key->size() > kPgChangeMaxKey) key = std::string();
  return PgStatement{
      kNotify,
      {std::string(kPgChangeChannel), std::string(what.kind), key, std::string(what.op), origin_}};
}

Result<std::vector<PgResult>> PgStore::write(const Announce& what, std::vector<PgStatement> body) {
  // BEGIN alone first: it takes no lock, and is sent again on a fresh
  // connection when the old one turns out to be lost (nothing ran). Then one
  // round trip: the version row is locked and released at COMMIT with no
  // wait on this console in between.
  SG_TRY(conn_->script("BEGIN", Retry::kOnLostConnection));
  std::vector<PgStatement> all;
  all.reserve(body.size() + 3);
  all.push_back({"UPDATE resource_version SET version = version + 1", {}});
  for (PgStatement& s : body) all.push_back(std::move(s));
  all.push_back(notify(what));
  all.push_back({"COMMIT", {}});
  auto results = conn_->pipeline(all);
  if (!results.ok()) {
    if (!conn_->broken() && conn_->inTransaction()) (void)conn_->script("ROLLBACK");
    return results.error();
  }
  std::vector<PgResult> out;
  for (size_t i = 0; i < body.size(); ++i) out.push_back(std::move((*results)[i + 1]));
  return out;
}

Result<void> PgStore::writeWith(const Announce& what, const std::function<Result<void>()>& body) {
  Result<void> done = Ok{};
  auto begun = conn_->script("BEGIN; UPDATE resource_version SET version = version + 1",
                             Retry::kOnLostConnection);
  if (!begun.ok()) done = begun.error();
  if (done.ok()) done = body();
  if (done.ok()) {
    const PgStatement n = notify(what);
    auto notified = conn_->exec(n.sql, n.params);
    if (!notified.ok()) done = notified.error();
  }
  if (done.ok()) {
    auto committed = conn_->script("COMMIT");
    if (!committed.ok()) done = committed.error();
  }
  if (!done.ok() && !conn_->broken() && conn_->inTransaction()) (void)conn_->script("ROLLBACK");
  return done;
}

template <typename T>
Result<std::vector<T>> PgStore::query(const std::string& sql, const std::vector<PgParam>& params,
                                      T (*row)(const PgResult&, int)) {
  SG_READ(result, conn_->exec(sql, params, Retry::kOnLostConnection));
  std::vector<T> out;
  out.reserve(static_cast<size_t>(result->rows()));
  for (int i = 0; i < result->rows(); ++i) out.push_back(row(*result, i));
  return out;
}

// One record by key, or kNotFound naming it.
#define SG_PG_ONE(rows, what)                                               \
  do {                                                                      \
    if (!(rows).ok()) return (rows).error();                                \
    if ((rows)->empty()) return makeError(Errc::kNotFound, "no " + (what)); \
    return std::move((rows)->front());                                      \
  } while (0)

Result<uint64_t> PgStore::resourceVersion() {
  std::lock_guard lock(mu_);
  SG_READ(r, conn_->exec("SELECT version FROM resource_version", {}, Retry::kOnLostConnection));
  return static_cast<uint64_t>(r->int64(0, 0));
}

Result<void> PgStore::putEndpoint(const EndpointRecord& e) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("endpoints", kEndpointColumns, "name", 10);
  SG_TRY(write({ck::kEndpoint, e.name, "put"},
               {{kSql,
                 {e.name, labelsText(e.labels), e.credential_hash, pgInt(e.enrolled_at_ms),
                  pgBool(e.revoked), pgBool(e.isolated), stringsText(e.allowed_peers),
                  u64(e.applied_version), u64(e.last_report_seq), pgInt(e.last_heartbeat_ms)}}}));
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
  static const std::string kSql = upsert("enrollment_tokens", kEnrollmentColumns, "token_hash", 4);
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
    // Only an unused, unexpired token changes; a second console consuming
    // it at once waits for this row and then finds it used.
    SG_READ(used, conn_->exec(std::string("UPDATE enrollment_tokens SET used = true"
                                          " WHERE token_hash = $1 AND NOT used AND"
                                          " expires_at_ms > $2 RETURNING ") +
                                  kEnrollmentColumns,
                              {hash, pgInt(now_ms)}));
    if (used->rows() == 1) {
      found = enrollmentRow(*used, 0);
      return Ok{};
    }
    SG_READ(why, conn_->exec("SELECT used FROM enrollment_tokens WHERE token_hash = $1", {hash}));
    if (why->rows() == 0) return makeError(Errc::kNotFound, "unknown enrollment token");
    if (why->boolean(0, 0)) {
      return makeError(Errc::kPermissionDenied, "enrollment token already used");
    }
    return makeError(Errc::kPermissionDenied, "enrollment token expired");
  });
  if (!done.ok()) return done.error();
  return std::move(*found);
}

Result<EndpointRecord> PgStore::enrollEndpoint(const std::string& hash, int64_t now_ms,
                                               EndpointRecord e) {
  std::lock_guard lock(mu_);
  // Announced as the endpoint's change: the other consoles load it.
  auto done = writeWith({ck::kEndpoint, e.name, "put"}, [&]() -> Result<void> {
    SG_READ(used, conn_->exec(std::string("UPDATE enrollment_tokens SET used = true"
                                          " WHERE token_hash = $1 AND NOT used AND"
                                          " expires_at_ms > $2 RETURNING ") +
                                  kEnrollmentColumns,
                              {hash, pgInt(now_ms)}));
    if (used->rows() != 1) {
      SG_READ(why, conn_->exec("SELECT used FROM enrollment_tokens WHERE token_hash = $1", {hash}));
      if (why->rows() == 0) return makeError(Errc::kNotFound, "unknown enrollment token");
      if (why->boolean(0, 0)) {
        return makeError(Errc::kPermissionDenied, "enrollment token already used");
      }
      return makeError(Errc::kPermissionDenied, "enrollment token expired");
    }
    e.labels = enrollmentRow(*used, 0).labels;
    // The name is free, or its endpoint revoked; else no row comes back and
    // the transaction (the token too) rolls back. A second console enrolling
    // the same name at once waits for this row, then finds it taken.
    static const std::string kSql = upsert("endpoints", kEndpointColumns, "name", 10) +
                                    " WHERE endpoints.revoked RETURNING name";
    SG_READ(put, conn_->exec(kSql, {e.name, labelsText(e.labels), e.credential_hash,
                                    pgInt(e.enrolled_at_ms), pgBool(e.revoked), pgBool(e.isolated),
                                    stringsText(e.allowed_peers), u64(e.applied_version),
                                    u64(e.last_report_seq), pgInt(e.last_heartbeat_ms)}));
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
      "UPDATE endpoints SET applied_version = $3, last_report_seq ="
      " GREATEST(last_report_seq, $4), last_heartbeat_ms ="
      " GREATEST(last_heartbeat_ms, $5) WHERE name = $1 AND"
      " credential_hash = $2 AND NOT revoked",
      {u.name, u.credential_hash, u64(l.applied_version), u64(l.last_report_seq),
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

Result<void> PgStore::putApiToken(const ApiTokenRecord& t) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("api_tokens", kApiTokenColumns, "token_hash", 5);
  SG_TRY(write({ck::kApiToken, t.token_hash, "put"},
               {{kSql,
                 {t.token_hash, t.name, std::string(roleName(t.role)), pgInt(t.created_at_ms),
                  pgBool(t.revoked)}}}));
  return Ok{};
}

Result<ApiTokenRecord> PgStore::findApiToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto rows = query<ApiTokenRecord>(
      std::string("SELECT ") + kApiTokenColumns + " FROM api_tokens WHERE token_hash = $1", {hash},
      apiTokenRow);
  SG_PG_ONE(rows, std::string("such API token"));
}

Result<void> PgStore::putFlood(const FloodRecord& f) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("floods", kFloodColumns, "id", 6);
  SG_TRY(write({ck::kFlood, std::to_string(f.id), "put"},
               {{kSql,
                 {u64(f.id), f.source, pgBool(f.active), pgInt(f.started_at_ms),
                  pgInt(f.last_seen_ms), f.body}}}));
  return Ok{};
}

Result<FloodRecord> PgStore::getFlood(uint64_t id) {
  std::lock_guard lock(mu_);
  auto rows = query<FloodRecord>(
      std::string("SELECT ") + kFloodColumns + " FROM floods WHERE id = $1", {u64(id)}, floodRow);
  SG_PG_ONE(rows, "flood " + std::to_string(id));
}

Result<std::vector<FloodRecord>> PgStore::listFloods(bool include_ended) {
  std::lock_guard lock(mu_);
  return query<FloodRecord>(std::string("SELECT ") + kFloodColumns + " FROM floods" +
                                (include_ended ? "" : " WHERE active") + " ORDER BY id",
                            {}, floodRow);
}

Result<void> PgStore::putBlock(const GlobalBlockRecord& b) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("global_blocks", kBlockColumns, "source", 6);
  SG_TRY(
      write({ck::kBlock, b.source, "put"}, {{kSql,
                                             {b.source, pgInt(b.expires_at_ms), b.added_by,
                                              b.reason, u64(b.version), pgInt(b.added_at_ms)}}}));
  return Ok{};
}

Result<bool> PgStore::deleteBlock(const std::string& source) {
  std::lock_guard lock(mu_);
  SG_READ(r, write({ck::kBlock, source, "delete"},
                   {{"DELETE FROM global_blocks WHERE source = $1", {source}}}));
  return r->front().affected() > 0;
}

Result<std::vector<GlobalBlockRecord>> PgStore::listBlocks() {
  std::lock_guard lock(mu_);
  return query<GlobalBlockRecord>(
      std::string("SELECT ") + kBlockColumns + " FROM global_blocks ORDER BY source COLLATE \"C\"",
      {}, blockRow);
}

Result<void> PgStore::putPolicy(const Policy& p) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("policies", kPolicyColumns, "name", 7);
  SG_TRY(write({ck::kPolicy, p.name, "put"},
               {{kSql,
                 {p.name, labelsText(p.selector), pgInt(int64_t{p.profile.threshold}),
                  u64(p.profile.window_ms), u64(p.profile.block_duration_ms),
                  std::string(enforcerName(p.profile.enforcer)), u64(p.revision)}}}));
  return Ok{};
}

Result<bool> PgStore::deletePolicy(const std::string& name) {
  std::lock_guard lock(mu_);
  SG_READ(r,
          write({ck::kPolicy, name, "delete"}, {{"DELETE FROM policies WHERE name = $1", {name}}}));
  return r->front().affected() > 0;
}

Result<std::vector<Policy>> PgStore::listPolicies() {
  std::lock_guard lock(mu_);
  return query<Policy>(
      std::string("SELECT ") + kPolicyColumns + " FROM policies ORDER BY name COLLATE \"C\"", {},
      policyRow);
}

Result<uint64_t> PgStore::putIncident(const IncidentRecord& i) {
  std::lock_guard lock(mu_);
  static const std::string kReplace = upsert("incidents", kIncidentColumns, "id", 6);
  if (i.id != 0) {
    // New ids continue after the largest one given explicitly.
    SG_TRY(write({ck::kIncident, std::to_string(i.id), "put"},
                 {{kReplace,
                   {u64(i.id), u64(i.flood_id), i.note, i.created_by, pgInt(i.created_at_ms),
                    i.webhook_status}},
                  {"SELECT setval(pg_get_serial_sequence('incidents', 'id'),"
                   " (SELECT MAX(id) FROM incidents))",
                   {}}}));
    return i.id;
  }
  SG_READ(
      r,
      write({ck::kIncident, std::nullopt, "put"},
            {{"INSERT INTO incidents (flood_id, note, created_by, created_at_ms,"
              " webhook_status) VALUES ($1,$2,$3,$4,$5) RETURNING id",
              {u64(i.flood_id), i.note, i.created_by, pgInt(i.created_at_ms), i.webhook_status}}}));
  return static_cast<uint64_t>(r->front().int64(0, 0));
}

Result<std::vector<IncidentRecord>> PgStore::listIncidents() {
  std::lock_guard lock(mu_);
  return query<IncidentRecord>(
      std::string("SELECT ") + kIncidentColumns + " FROM incidents ORDER BY id", {}, incidentRow);
}

Result<uint64_t> PgStore::appendAudit(const AuditRecord& a) {
  std::lock_guard lock(mu_);
  SG_READ(r, write({ck::kAudit, std::nullopt, "put"},
                   {{"INSERT INTO audit_log (at_ms, actor, action, target, details)"
                     " VALUES ($1,$2,$3,$4,$5) RETURNING id",
                     {pgInt(a.at_ms), a.actor, a.action, a.target, a.details}}}));
  return static_cast<uint64_t>(r->front().int64(0, 0));
}

Result<std::vector<AuditRecord>> PgStore::listAudit(uint64_t after_id, size_t limit) {
  std::lock_guard lock(mu_);
  return query<AuditRecord>(
      std::string("SELECT ") + kAuditColumns + " FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
      {u64(after_id), u64(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max()))},
      auditRow);
}

Result<void> PgStore::putMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("meta", "key, value", "key", 2);
  SG_TRY(write({ck::kMeta, key, "put"}, {{kSql, {key, value}}}));
  return Ok{};
}

Result<std::optional<std::string>> PgStore::getMeta(const std::string& key) {
  std::lock_guard lock(mu_);
  SG_READ(r, conn_->exec("SELECT value FROM meta WHERE key = $1", {key}, Retry::kOnLostConnection));
  if (r->rows() == 0) return std::optional<std::string>{};
  return std::optional<std::string>{r->text(0, 0)};
}

// One statement each, under the row's lock: two consoles never get one value.
Result<uint64_t> PgStore::nextCounter(const std::string& name) {
  std::lock_guard lock(mu_);
  SG_READ(results,
          write({ck::kMeta, name, "put"},
                {{"INSERT INTO meta (key, value) VALUES ($1, '1') ON CONFLICT (key) DO UPDATE"
                  " SET value = (meta.value::bigint + 1)::text RETURNING value",
                  {name}}}));
  const std::string text = (*results)[0].text(0, 0);
  return static_cast<uint64_t>(std::stoull(text));
}

Result<std::string> PgStore::claimMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  SG_READ(results, write({ck::kMeta, key, "put"},
                         {{"INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO"
                           " UPDATE SET value = CASE WHEN meta.value = '' THEN EXCLUDED.value"
                           " ELSE meta.value END RETURNING value",
                           {key, value}}}));
  return (*results)[0].text(0, 0);
}

// ---- port floods (schema migration 3)

namespace {

constexpr const char* kPortFloodColumns = "id, endpoint, active, started_at_ms, last_seen_ms, body";

PortFloodRecord portFloodRow(const PgResult& r, int row) {
  return PortFloodRecord{r.text(row, 0),  r.text(row, 1),  r.boolean(row, 2),
                         r.int64(row, 3), r.int64(row, 4), r.text(row, 5)};
}

}  // namespace

Result<void> PgStore::putPortFlood(const PortFloodRecord& f) {
  std::lock_guard lock(mu_);
  static const std::string kSql = upsert("port_floods", kPortFloodColumns, "id", 6);
  SG_TRY(write({ck::kPortFlood, f.id, "put"},
               {{kSql,
                 {f.id, f.endpoint, pgBool(f.active), pgInt(f.started_at_ms), pgInt(f.last_seen_ms),
                  f.body}}}));
  return Ok{};
}

Result<PortFloodRecord> PgStore::getPortFlood(const std::string& id) {
  std::lock_guard lock(mu_);
  auto rows = query<PortFloodRecord>(
      std::string("SELECT ") + kPortFloodColumns + " FROM port_floods WHERE id = $1", {id},
      portFloodRow);
  SG_PG_ONE(rows, "port flood '" + id + "'");
}

Result<std::vector<PortFloodRecord>> PgStore::listPortFloods(bool include_ended, size_t limit) {
  std::lock_guard lock(mu_);
  // The newest `limit`, then put in order.
  return query<PortFloodRecord>(
      std::string("SELECT * FROM (SELECT ") + kPortFloodColumns + " FROM port_floods" +
          (include_ended ? "" : " WHERE active") +
          " ORDER BY started_at_ms DESC, id DESC LIMIT $1) AS newest ORDER BY started_at_ms, id",
      {u64(std::min<size_t>(limit, INT64_MAX))}, portFloodRow);
}

}  // namespace sg::console
