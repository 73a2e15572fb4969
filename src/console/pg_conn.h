// A thin RAII layer over libpq: one connection (PgConn) and its results
// (PgResult). Values travel only as parameters ($1, $2, ...), never spliced
// into SQL text; each distinct statement is prepared once per connection.
// Errors name the server as postgres://user@host:port/db, never the password.
// Not thread-safe: its owner (PgStore, PgListener) serialises access.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "console/pg_conn_url.h"
#include "core/result.h"

namespace sg::console {

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  bool isNull(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string text(int row, int col) const;
  int64_t int64(int row, int col) const;  // NULL or not a number: 0
  bool boolean(int row, int col) const;   // "t"
  int64_t affected() const;               // rows an INSERT/UPDATE/DELETE changed
  const PGresult* raw() const { return result_.get(); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

using PgParam = std::optional<std::string>;  // nullopt: SQL NULL
PgParam pgInt(int64_t value);
PgParam pgInt(std::optional<int64_t> value);
PgParam pgBool(bool value);

// Whether a statement may be sent again on a new connection when the old one
// turned out to be broken: only one run outside a transaction that changes
// nothing (a read, BEGIN).
enum class Retry { kNo, kOnLostConnection };

struct PgStatement {
  std::string sql;
  std::vector<PgParam> params;
};

struct PgConnOptions {
  std::string application_name = "syn-guard console";  // shown in pg_stat_activity
  int connect_timeout_s = 5;
  // A statement waiting longer (on a lock another console holds, a server
  // that stalls) fails instead of holding the store forever; 0: no limit.
  int statement_timeout_ms = 30000;
};

class PgConn {
 public:
  // Connects (URL settings win over `options`); kUnavailable naming the
  // server when it cannot.
  static Result<std::unique_ptr<PgConn>> connect(const PgUrl& url, const PgConnOptions& options);
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // One statement with parameters, prepared on first use. A lost connection
  // is kUnavailable; the next call reconnects first.
  Result<PgResult> exec(const std::string& sql, const std::vector<PgParam>& params = {},
                        Retry retry = Retry::kNo);
  // One or more statements without parameters (BEGIN, a migration's
  // script); the last one's result.
  Result<PgResult> script(const std::string& sql, Retry retry = Retry::kNo);

  // Sends `statements` in one pipeline (one round trip) and returns their
  // results; the first failure is returned and the server skips the rest.
  // Never retried: the connection may be lost after the server ran them.
  Result<std::vector<PgResult>> pipeline(const std::vector<PgStatement>& statements);

  // Reconnects when the connection is broken, or was closed by the server
  // while idle (a restart, a terminated session: read without blocking).
  Result<void> ensureConnected();
  bool broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }
  bool inTransaction() const;
  PGconn* raw() { return conn_; }
  int socket() const { return conn_ ? PQsocket(conn_) : -1; }
  const PgUrl& url() const { return url_; }
  // An error about this connection: `what` and libpq's message, password scrubbed.
  Error error(const std::string& what, const PGresult* result = nullptr) const;

 private:
  PgConn(PgUrl url, PgConnOptions options) : url_(std::move(url)), options_(std::move(options)) {}
  Result<void> open();
  Result<PgResult> execOnce(const std::string& sql, const std::vector<PgParam>& params);
  // The name `sql` is prepared under on this connection, preparing it first.
  Result<std::string> prepared(const std::string& sql);
  Result<std::vector<PgResult>> readPipeline(size_t count);
  // Closes a connection left in an unknown state; kUnavailable with `why`.
  Error abandon(const Error& why);

  PgUrl url_;
  PgConnOptions options_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
};

}  // namespace sg::console
