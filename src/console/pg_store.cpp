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

std::string randomOrigin() {
  std::random_device rd;
  char out[17];
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) | rd();
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
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

Result<uint64_t> PgStore::resourceVersion() {
  std::lock_guard lock(mu_);
  SG_READ(r, conn_->exec("SELECT version FROM resource_version", {}, Retry::kOnLostConnection));
  return static_cast<uint64_t>(r->int64(0, 0));
}

Result<void> PgStore::putApiToken(const ApiTokenRecord& t) {
  std::lock_guard lock(mu_);
  static const std::string kSql = pgUpsert("api_tokens", kApiTokenColumns, "token_hash", 5);
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

Result<void> PgStore::putFlood(const FloodRecord& f) { return putFloods({f}); }

Result<void> PgStore::putFloods(const std::vector<FloodRecord>& floods) {
  constexpr size_t kPerTransaction = 256;
  static const std::string kSql = pgUpsert("floods", kFloodColumns, "id", 6);
  std::lock_guard lock(mu_);
  for (size_t at = 0; at < floods.size(); at += kPerTransaction) {
    const size_t end = std::min(floods.size(), at + kPerTransaction);
    std::vector<PgStatement> body;
    body.reserve(2 * (end - at));
    for (size_t i = at; i < end; ++i) {
      const FloodRecord& f = floods[i];
      body.push_back({kSql,
                      {pgU64(f.id), f.source, pgBool(f.active), pgInt(f.started_at_ms),
                       pgInt(f.last_seen_ms), f.body}});
    }
    // write() announces the first; the others are announced here.
    for (size_t i = at + 1; i < end; ++i) {
      body.push_back(notify({ck::kFlood, std::to_string(floods[i].id), "put"}));
    }
    SG_TRY(write({ck::kFlood, std::to_string(floods[at].id), "put"}, std::move(body)));
  }
  return Ok{};
}

Result<FloodRecord> PgStore::getFlood(uint64_t id) {
  std::lock_guard lock(mu_);
  auto rows = query<FloodRecord>(
      std::string("SELECT ") + kFloodColumns + " FROM floods WHERE id = $1", {pgU64(id)}, floodRow);
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
  static const std::string kSql = pgUpsert("global_blocks", kBlockColumns, "source", 6);
  SG_TRY(
      write({ck::kBlock, b.source, "put"}, {{kSql,
                                             {b.source, pgInt(b.expires_at_ms), b.added_by,
                                              b.reason, pgU64(b.version), pgInt(b.added_at_ms)}}}));
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
  static const std::string kSql = pgUpsert("policies", kPolicyColumns, "name", 7);
  SG_TRY(write({ck::kPolicy, p.name, "put"},
               {{kSql,
                 {p.name, labelsText(p.selector), pgInt(int64_t{p.profile.threshold}),
                  pgU64(p.profile.window_ms), pgU64(p.profile.block_duration_ms),
                  std::string(enforcerName(p.profile.enforcer)), pgU64(p.revision)}}}));
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
  static const std::string kReplace = pgUpsert("incidents", kIncidentColumns, "id", 6);
  if (i.id != 0) {
    // New ids continue after the largest one given explicitly.
    SG_TRY(write({ck::kIncident, std::to_string(i.id), "put"},
                 {{kReplace,
                   {pgU64(i.id), pgU64(i.flood_id), i.note, i.created_by, pgInt(i.created_at_ms),
                    i.webhook_status}},
                  {"SELECT setval(pg_get_serial_sequence('incidents', 'id'),"
                   " (SELECT MAX(id) FROM incidents))",
                   {}}}));
    return i.id;
  }
  SG_READ(r, write({ck::kIncident, std::nullopt, "put"},
                   {{"INSERT INTO incidents (flood_id, note, created_by, created_at_ms,"
                     " webhook_status) VALUES ($1,$2,$3,$4,$5) RETURNING id",
                     {pgU64(i.flood_id), i.note, i.created_by, pgInt(i.created_at_ms),
                      i.webhook_status}}}));
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
      {pgU64(after_id), pgU64(std::min<uint64_t>(limit, std::numeric_limits<int64_t>::max()))},
      auditRow);
}

Result<void> PgStore::putMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  static const std::string kSql = pgUpsert("meta", "key, value", "key", 2);
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
  static const std::string kSql = pgUpsert("port_floods", kPortFloodColumns, "id", 6);
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
      {pgU64(std::min<size_t>(limit, INT64_MAX))}, portFloodRow);
}

}  // namespace sg::console
