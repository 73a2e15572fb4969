#include "console/sqlite_migrations.h"

namespace sg::console {

namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE resource_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO resource_version VALUES (1, 0);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE endpoints (
  name TEXT PRIMARY KEY, labels TEXT NOT NULL, credential_hash TEXT NOT NULL,
  enrolled_at_ms INTEGER NOT NULL, revoked INTEGER NOT NULL, isolated INTEGER NOT NULL,
  allowed_peers TEXT NOT NULL, applied_version INTEGER NOT NULL,
  last_report_seq INTEGER NOT NULL, last_heartbeat_ms INTEGER NOT NULL);
CREATE TABLE enrollment_tokens (
  token_hash TEXT PRIMARY KEY, labels TEXT NOT NULL, expires_at_ms INTEGER NOT NULL,
  used INTEGER NOT NULL);
CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL, revoked INTEGER NOT NULL);
CREATE TABLE floods (
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, active INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX floods_active ON floods (active, id);
CREATE TABLE global_blocks (
  source TEXT PRIMARY KEY, expires_at_ms INTEGER, added_by TEXT NOT NULL,
  reason TEXT NOT NULL, version INTEGER NOT NULL, added_at_ms INTEGER NOT NULL);
CREATE TABLE policies (
  name TEXT PRIMARY KEY, selector TEXT NOT NULL, threshold INTEGER NOT NULL,
  window_ms INTEGER NOT NULL, block_duration_ms INTEGER NOT NULL, enforcer TEXT NOT NULL,
  revision INTEGER NOT NULL);
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY AUTOINCREMENT, flood_id INTEGER NOT NULL, note TEXT NOT NULL,
  created_by TEXT NOT NULL, created_at_ms INTEGER NOT NULL, webhook_status TEXT NOT NULL);
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,
  action TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL);
)sql";

// 2: operators' acknowledgements of floods (the dashboard).
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE flood_acks (
  flood_id INTEGER PRIMARY KEY, acknowledged_by TEXT NOT NULL, at_ms INTEGER NOT NULL,
  note TEXT NOT NULL);
)sql";

// 3: port floods, keyed by target (endpoint, local address and port).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE port_floods (
  id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, active INTEGER NOT NULL,
  started_at_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX port_floods_active ON port_floods (active, started_at_ms);
)sql";

}  // namespace

const std::vector<Migration>& sqliteMigrations() {
  static const std::vector<Migration> kAll = {{1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3}};
  return kAll;
}

Result<void> migrateSqlite(SqliteDb& db) {
  SG_TRY(
      db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)"));
  SG_READ(q, db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SG_TRY(q->step());
  const int64_t current = q->int64(0);
  const int known = sqliteMigrations().back().version;
  if (current > known) {
    return makeError(Errc::kUnavailable, "database schema version " + std::to_string(current) +
                                             " is newer than this build's " +
                                             std::to_string(known) + ": upgrade syn-guard");
  }
  for (const Migration& m : sqliteMigrations()) {
    if (m.version <= current) continue;
    SG_TRY(db.exec("BEGIN IMMEDIATE"));
    auto applied = db.exec(m.sql);
    if (applied.ok()) {
      applied = db.exec("INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) +
                        ", CAST(strftime('%s','now') AS INTEGER) * 1000)");
    }
    if (!applied.ok()) {
      (void)db.exec("ROLLBACK");
      return applied.error().context("schema migration " + std::to_string(m.version));
    }
    SG_TRY(db.exec("COMMIT"));
  }
  return Ok{};
}

}  // namespace sg::console
