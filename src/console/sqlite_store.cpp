#include "console/sqlite_store.h"

#include "console/sqlite_migrations.h"
#include "console/sqlite_store_rows.h"

namespace sg::console {

namespace {

int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }
int64_t flag(bool b) { return b ? 1 : 0; }
void noBind(Statement&) {}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  SG_READ(db, SqliteDb::open(path));
  SG_TRY((*db)->exec("PRAGMA busy_timeout = 5000"));
  SG_TRY((*db)->exec("PRAGMA journal_mode = WAL"));
  SG_TRY((*db)->exec("PRAGMA synchronous = NORMAL"));
  SG_TRY((*db)->exec("PRAGMA foreign_keys = ON"));
  auto migrated = migrateSqlite(**db);
  if (!migrated.ok()) return migrated.error().context(path);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db)));
}

Result<void> SqliteStore::write(const std::function<Result<void>()>& body) {
  SG_TRY(db_->exec("BEGIN IMMEDIATE"));
  auto done = body();
  if (done.ok()) done = db_->exec("UPDATE resource_version SET version = version + 1");
  if (done.ok()) done = db_->exec("COMMIT");
  if (!done.ok()) (void)db_->exec("ROLLBACK");
  return done;
}

Result<bool> SqliteStore::changesRow(const char* sql, const std::function<void(Statement&)>& bind) {
  bool changed = false;
  SG_TRY(write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(sql));
    bind(*stmt);
    SG_TRY(stmt->run());
    changed = db_->changes() > 0;
    return Ok{};
  }));
  return changed;
}

template <typename T>
Result<std::vector<T>> SqliteStore::query(const std::string& sql,
                                          const std::function<void(Statement&)>& bind,
                                          T (*row)(const Statement&)) {
  SG_READ(stmt, db_->prepare(sql));
  bind(*stmt);
  std::vector<T> out;
  for (;;) {
    SG_READ(more, stmt->step());
    if (!*more) return out;
    out.push_back(row(*stmt));
  }
}

// One record by key, or kNotFound naming it.
#define SG_ONE(rows, what)                                                  \
  do {                                                                      \
    if (!(rows).ok()) return (rows).error();                                \
    if ((rows)->empty()) return makeError(Errc::kNotFound, "no " + (what)); \
    return std::move((rows)->front());                                      \
  } while (0)

Result<uint64_t> SqliteStore::resourceVersion() {
  std::lock_guard lock(mu_);
  SG_READ(stmt, db_->prepare("SELECT version FROM resource_version"));
  SG_TRY(stmt->step());
  return static_cast<uint64_t>(stmt->int64(0));
}

Result<void> SqliteStore::putEndpoint(const EndpointRecord& e) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO endpoints (") +
                               kEndpointColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?)"));
    stmt->bind(1, e.name).bind(2, labelsText(e.labels)).bind(3, e.credential_hash);
    stmt->bind(4, e.enrolled_at_ms).bind(5, flag(e.revoked)).bind(6, flag(e.isolated));
    stmt->bind(7, stringsText(e.allowed_peers)).bind(8, i64(e.applied_version));
    stmt->bind(9, i64(e.last_report_seq)).bind(10, e.last_heartbeat_ms);
    return stmt->run();
  });
}

Result<EndpointRecord> SqliteStore::getEndpoint(const std::string& name) {
  std::lock_guard lock(mu_);
  auto rows = query<EndpointRecord>(
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = ?",
      [&](Statement& s) { s.bind(1, name); }, endpointRow);
  SG_ONE(rows, "endpoint '" + name + "'");
}

Result<std::vector<EndpointRecord>> SqliteStore::listEndpoints() {
  std::lock_guard lock(mu_);
  return query<EndpointRecord>(
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name", noBind,
      endpointRow);
}

Result<void> SqliteStore::putEnrollmentToken(const EnrollmentTokenRecord& t) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO enrollment_tokens (") +
                               kEnrollmentColumns + ") VALUES (?,?,?,?)"));
    stmt->bind(1, t.token_hash).bind(2, labelsText(t.labels)).bind(3, t.expires_at_ms);
    stmt->bind(4, flag(t.used));
    return stmt->run();
  });
}

Result<EnrollmentTokenRecord> SqliteStore::consumeEnrollmentToken(const std::string& hash,
                                                                  int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::optional<EnrollmentTokenRecord> found;
  std::optional<Error> refused;
  auto done = write([&]() -> Result<void> {
    auto rows = query<EnrollmentTokenRecord>(
        std::string("SELECT ") + kEnrollmentColumns +
            " FROM enrollment_tokens WHERE token_hash = ?",
        [&](Statement& s) { s.bind(1, hash); }, enrollmentRow);
    if (!rows.ok()) return rows.error();
    if (rows->empty()) return makeError(Errc::kNotFound, "unknown enrollment token");
    EnrollmentTokenRecord t = rows->front();
    if (t.used) return makeError(Errc::kPermissionDenied, "enrollment token already used");
    if (t.expires_at_ms <= now_ms) {
      return makeError(Errc::kPermissionDenied, "enrollment token expired");
    }
    SG_READ(stmt, db_->prepare("UPDATE enrollment_tokens SET used = 1 WHERE token_hash = ?"));
    stmt->bind(1, hash);
    SG_TRY(stmt->run());
    t.used = true;
    found = std::move(t);
    return Ok{};
  });
  if (!done.ok()) return done.error();
  return std::move(*found);
}

Result<EndpointRecord> SqliteStore::enrollEndpoint(const std::string& hash, int64_t now_ms,
                                                   EndpointRecord e) {
  std::lock_guard lock(mu_);
  SG_TRY(write([&]() -> Result<void> {
    auto rows = query<EnrollmentTokenRecord>(
        std::string("SELECT ") + kEnrollmentColumns +
            " FROM enrollment_tokens WHERE token_hash = ?",
        [&](Statement& s) { s.bind(1, hash); }, enrollmentRow);
    if (!rows.ok()) return rows.error();
    if (rows->empty()) return makeError(Errc::kNotFound, "unknown enrollment token");
    const EnrollmentTokenRecord& t = rows->front();
    if (t.used) return makeError(Errc::kPermissionDenied, "enrollment token already used");
    if (t.expires_at_ms <= now_ms) {
      return makeError(Errc::kPermissionDenied, "enrollment token expired");
    }
    e.labels = t.labels;
    // The name is free, or its endpoint revoked: else nothing changes and
    // the whole transaction (the token too) rolls back.
    SG_READ(put, db_->prepare(std::string("INSERT INTO endpoints (") + kEndpointColumns +
                              ") VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (name) DO UPDATE SET"
                              " labels = excluded.labels, credential_hash ="
                              " excluded.credential_hash, enrolled_at_ms = excluded.enrolled_at_ms,"
                              " revoked = excluded.revoked, isolated = excluded.isolated,"
                              " allowed_peers = excluded.allowed_peers, applied_version ="
                              " excluded.applied_version, last_report_seq ="
                              " excluded.last_report_seq, last_heartbeat_ms ="
                              " excluded.last_heartbeat_ms WHERE endpoints.revoked = 1"));
    put->bind(1, e.name).bind(2, labelsText(e.labels)).bind(3, e.credential_hash);
    put->bind(4, e.enrolled_at_ms).bind(5, flag(e.revoked)).bind(6, flag(e.isolated));
    put->bind(7, stringsText(e.allowed_peers)).bind(8, i64(e.applied_version));
    put->bind(9, i64(e.last_report_seq)).bind(10, e.last_heartbeat_ms);
    SG_TRY(put->run());
    if (db_->changes() == 0) {
      return makeError(Errc::kAlreadyExists,
                       "endpoint '" + e.name + "' is enrolled (revoke it first to re-enroll)");
    }
    SG_READ(used, db_->prepare("UPDATE enrollment_tokens SET used = 1 WHERE token_hash = ?"));
    used->bind(1, hash);
    return used->run();
  }));
  return e;
}

Result<bool> SqliteStore::updateEndpointLink(const std::string& name,
                                             const std::string& credential_hash,
                                             const EndpointLinkState& l) {
  SG_READ(matched, updateEndpointLinks({EndpointLinkUpdate{name, credential_hash, l}}));
  return static_cast<bool>(matched->front());
}

Result<std::vector<bool>> SqliteStore::updateEndpointLinks(
    const std::vector<EndpointLinkUpdate>& updates) {
  if (updates.empty()) return std::vector<bool>{};
  std::lock_guard lock(mu_);
  std::vector<bool> matched;
  matched.reserve(updates.size());
  SG_TRY(write([&]() -> Result<void> {
    SG_READ(stmt,
            db_->prepare("UPDATE endpoints SET applied_version = MAX(applied_version, ?),"
                         " last_report_seq ="
                         " MAX(last_report_seq, ?), last_heartbeat_ms = MAX(last_heartbeat_ms, ?)"
                         " WHERE name = ? AND credential_hash = ? AND revoked = 0"));
    for (const EndpointLinkUpdate& u : updates) {
      const EndpointLinkState& l = u.state;
      stmt->reset();
      stmt->bind(1, i64(l.applied_version)).bind(2, i64(l.last_report_seq));
      stmt->bind(3, l.last_heartbeat_ms).bind(4, u.name).bind(5, u.credential_hash);
      SG_TRY(stmt->run());
      matched.push_back(db_->changes() > 0);
    }
    return Ok{};
  }));
  return matched;
}

Result<bool> SqliteStore::setEndpointIsolation(const std::string& name, bool isolated,
                                               const std::vector<std::string>& peers) {
  std::lock_guard lock(mu_);
  return changesRow(
      "UPDATE endpoints SET isolated = ?, allowed_peers = ? WHERE name = ? AND revoked = 0",
      [&](Statement& stmt) {
        stmt.bind(1, flag(isolated)).bind(2, stringsText(peers)).bind(3, name);
      });
}

Result<bool> SqliteStore::revokeEndpoint(const std::string& name) {
  std::lock_guard lock(mu_);
  return changesRow("UPDATE endpoints SET revoked = 1 WHERE name = ?",
                    [&](Statement& stmt) { stmt.bind(1, name); });
}

Result<void> SqliteStore::putApiToken(const ApiTokenRecord& t) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO api_tokens (") +
                               kApiTokenColumns + ") VALUES (?,?,?,?,?)"));
    stmt->bind(1, t.token_hash).bind(2, t.name).bind(3, std::string(roleName(t.role)));
    stmt->bind(4, t.created_at_ms).bind(5, flag(t.revoked));
    return stmt->run();
  });
}

Result<ApiTokenRecord> SqliteStore::findApiToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto rows = query<ApiTokenRecord>(
      std::string("SELECT ") + kApiTokenColumns + " FROM api_tokens WHERE token_hash = ?",
      [&](Statement& s) { s.bind(1, hash); }, apiTokenRow);
  SG_ONE(rows, std::string("such API token"));
}

Result<void> SqliteStore::putFlood(const FloodRecord& f) { return putFloods({f}); }

Result<void> SqliteStore::putFloods(const std::vector<FloodRecord>& floods) {
  if (floods.empty()) return Ok{};
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO floods (") + kFloodColumns +
                               ") VALUES (?,?,?,?,?,?)"));
    for (const FloodRecord& f : floods) {
      stmt->reset();
      stmt->bind(1, i64(f.id)).bind(2, f.source).bind(3, flag(f.active));
      stmt->bind(4, f.started_at_ms).bind(5, f.last_seen_ms).bind(6, f.body);
      SG_TRY(stmt->run());
    }
    return Ok{};
  });
}

Result<FloodRecord> SqliteStore::getFlood(uint64_t id) {
  std::lock_guard lock(mu_);
  auto rows = query<FloodRecord>(
      std::string("SELECT ") + kFloodColumns + " FROM floods WHERE id = ?",
      [&](Statement& s) { s.bind(1, i64(id)); }, floodRow);
  SG_ONE(rows, "flood " + std::to_string(id));
}

Result<std::vector<FloodRecord>> SqliteStore::listFloods(bool include_ended) {
  std::lock_guard lock(mu_);
  return query<FloodRecord>(std::string("SELECT ") + kFloodColumns + " FROM floods" +
                                (include_ended ? "" : " WHERE active = 1") + " ORDER BY id",
                            noBind, floodRow);
}

Result<void> SqliteStore::putBlock(const GlobalBlockRecord& b) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO global_blocks (") +
                               kBlockColumns + ") VALUES (?,?,?,?,?,?)"));
    stmt->bind(1, b.source).bind(2, b.expires_at_ms).bind(3, b.added_by).bind(4, b.reason);
    stmt->bind(5, i64(b.version)).bind(6, b.added_at_ms);
    return stmt->run();
  });
}

Result<bool> SqliteStore::deleteBlock(const std::string& source) {
  std::lock_guard lock(mu_);
  return changesRow("DELETE FROM global_blocks WHERE source = ?",
                    [&](Statement& stmt) { stmt.bind(1, source); });
}

Result<std::vector<GlobalBlockRecord>> SqliteStore::listBlocks() {
  std::lock_guard lock(mu_);
  return query<GlobalBlockRecord>(
      std::string("SELECT ") + kBlockColumns + " FROM global_blocks ORDER BY source", noBind,
      blockRow);
}

Result<void> SqliteStore::putPolicy(const Policy& p) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO policies (") + kPolicyColumns +
                               ") VALUES (?,?,?,?,?,?,?)"));
    stmt->bind(1, p.name).bind(2, labelsText(p.selector)).bind(3, int64_t{p.profile.threshold});
    stmt->bind(4, i64(p.profile.window_ms)).bind(5, i64(p.profile.block_duration_ms));
    stmt->bind(6, std::string(enforcerName(p.profile.enforcer))).bind(7, i64(p.revision));
    return stmt->run();
  });
}

Result<bool> SqliteStore::deletePolicy(const std::string& name) {
  std::lock_guard lock(mu_);
  return changesRow("DELETE FROM policies WHERE name = ?",
                    [&](Statement& stmt) { stmt.bind(1, name); });
}

Result<std::vector<Policy>> SqliteStore::listPolicies() {
  std::lock_guard lock(mu_);
  return query<Policy>(std::string("SELECT ") + kPolicyColumns + " FROM policies ORDER BY name",
                       noBind, policyRow);
}

Result<uint64_t> SqliteStore::putIncident(const IncidentRecord& i) {
  std::lock_guard lock(mu_);
  uint64_t id = i.id;
  SG_TRY(write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO incidents (") +
                               kIncidentColumns + ") VALUES (?,?,?,?,?,?)"));
    stmt->bind(1, i.id == 0 ? std::nullopt : std::optional<int64_t>(i64(i.id)));
    stmt->bind(2, i64(i.flood_id)).bind(3, i.note).bind(4, i.created_by);
    stmt->bind(5, i.created_at_ms).bind(6, i.webhook_status);
    SG_TRY(stmt->run());
    if (id == 0) id = static_cast<uint64_t>(db_->lastInsertId());
    return Ok{};
  }));
  return id;
}

Result<std::vector<IncidentRecord>> SqliteStore::listIncidents() {
  std::lock_guard lock(mu_);
  return query<IncidentRecord>(
      std::string("SELECT ") + kIncidentColumns + " FROM incidents ORDER BY id", noBind,
      incidentRow);
}

Result<uint64_t> SqliteStore::appendAudit(const AuditRecord& a) {
  std::lock_guard lock(mu_);
  uint64_t id = 0;
  SG_TRY(write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare("INSERT INTO audit_log (at_ms, actor, action, target, details)"
                               " VALUES (?,?,?,?,?)"));
    stmt->bind(1, a.at_ms).bind(2, a.actor).bind(3, a.action).bind(4, a.target);
    stmt->bind(5, a.details);
    SG_TRY(stmt->run());
    id = static_cast<uint64_t>(db_->lastInsertId());
    return Ok{};
  }));
  return id;
}

Result<std::vector<AuditRecord>> SqliteStore::listAudit(uint64_t after_id, size_t limit) {
  std::lock_guard lock(mu_);
  return query<AuditRecord>(
      std::string("SELECT ") + kAuditColumns + " FROM audit_log WHERE id > ? ORDER BY id LIMIT ?",
      [&](Statement& s) { s.bind(1, i64(after_id)).bind(2, static_cast<int64_t>(limit)); },
      auditRow);
}

Result<void> SqliteStore::putMeta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"));
    stmt->bind(1, key).bind(2, value);
    return stmt->run();
  });
}

Result<std::optional<std::string>> SqliteStore::getMeta(const std::string& key) {
  std::lock_guard lock(mu_);
  SG_READ(stmt, db_->prepare("SELECT value FROM meta WHERE key = ?"));
  stmt->bind(1, key);
  SG_READ(row, stmt->step());
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>{stmt->text(0)};
}

// ---- port floods (schema migration 3)

namespace {

constexpr const char* kPortFloodColumns = "id, endpoint, active, started_at_ms, last_seen_ms, body";

PortFloodRecord portFloodRow(const Statement& s) {
  return PortFloodRecord{s.text(0), s.text(1), s.int64(2) != 0, s.int64(3), s.int64(4), s.text(5)};
}

}  // namespace

Result<void> SqliteStore::putPortFlood(const PortFloodRecord& f) {
  std::lock_guard lock(mu_);
  return write([&]() -> Result<void> {
    SG_READ(stmt, db_->prepare(std::string("INSERT OR REPLACE INTO port_floods (") +
                               kPortFloodColumns + ") VALUES (?,?,?,?,?,?)"));
    stmt->bind(1, f.id).bind(2, f.endpoint).bind(3, flag(f.active));
    stmt->bind(4, f.started_at_ms).bind(5, f.last_seen_ms).bind(6, f.body);
    return stmt->run();
  });
}

Result<PortFloodRecord> SqliteStore::getPortFlood(const std::string& id) {
  std::lock_guard lock(mu_);
  auto rows = query<PortFloodRecord>(
      std::string("SELECT ") + kPortFloodColumns + " FROM port_floods WHERE id = ?",
      [&](Statement& s) { s.bind(1, id); }, portFloodRow);
  SG_ONE(rows, "port flood '" + id + "'");
}

Result<std::vector<PortFloodRecord>> SqliteStore::listPortFloods(bool include_ended, size_t limit) {
  std::lock_guard lock(mu_);
  // The newest `limit`, then put in order.
  return query<PortFloodRecord>(
      std::string("SELECT * FROM (SELECT ") + kPortFloodColumns + " FROM port_floods" +
          (include_ended ? "" : " WHERE active = 1") +
          " ORDER BY started_at_ms DESC, id DESC LIMIT ?) ORDER BY started_at_ms, id",
      [&](Statement& s) { s.bind(1, i64(std::min<size_t>(limit, INT64_MAX))); }, portFloodRow);
}

}  // namespace sg::console
