#include "console/pg_conn.h"

#include <charconv>

namespace sg::console {

std::string PgResult::text(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  return std::string(v, static_cast<size_t>(PQgetlength(result_.get(), row, col)));
}

int64_t PgResult::int64(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  const char* end = v + PQgetlength(result_.get(), row, col);
  int64_t out = 0;
  std::from_chars(v, end, out);
  return out;
}

bool PgResult::boolean(int row, int col) const {
  return PQgetvalue(result_.get(), row, col)[0] == 't';
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(result_.get());
  int64_t out = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), out);
  return out;
}

PgParam pgInt(int64_t value) { return std::to_string(value); }
PgParam pgInt(std::optional<int64_t> value) {
  return value ? pgInt(*value) : PgParam(std::nullopt);
}
PgParam pgBool(bool value) { return std::string(value ? "true" : "false"); }

Result<std::unique_ptr<PgConn>> PgConn::connect(const PgUrl& url, const PgConnOptions& options) {
  std::unique_ptr<PgConn> conn(new PgConn(url, options));
  SG_TRY(conn->open());
  return conn;
}

PgConn::~PgConn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<void> PgConn::open() {
  if (conn_ != nullptr) PQfinish(conn_);
  prepared_.clear();
  // Defaults first: the URL (expanded from "dbname") overrides them. TCP
  // keepalives notice a server that vanished without closing the connection.
  const std::string timeout = std::to_string(options_.connect_timeout_s);
  const std::string server_options =
      "-c statement_timeout=" + std::to_string(options_.statement_timeout_ms);
  const char* keys[] = {"application_name", "connect_timeout", "options",
                        "keepalives",       "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname",          nullptr};
  const char* values[] = {options_.application_name.c_str(),
                          timeout.c_str(),
                          server_options.c_str(),
                          "1",
                          "10",
                          "5",
                          "3",
                          url_.url.c_str(),
                          nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr) return makeError(Errc::kUnavailable, "libpq: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    Error e = error("cannot connect");
    PQfinish(conn_);
    conn_ = nullptr;
    return Error(Errc::kUnavailable, e.message());
  }
  // Notices ("relation already exists, skipping") are not for the console's
  // output; errors come back as results.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return Ok{};
}

Error PgConn::error(const std::string& what, const PGresult* result) const {
  std::string why;
  if (result != nullptr) why = PQresultErrorMessage(result);
  if (why.empty() && conn_ != nullptr) why = PQerrorMessage(conn_);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  // libpq's messages span lines ("...failed: Connection refused\n\tIs the
  // server running..."): one line, single spaces.
  std::string line;
  for (char c : why) {
    if (c == '\n' || c == '\t') c = ' ';
    if (c != ' ' || (!line.empty() && line.back() != ' ')) line += c;
  }
  why = line;
  const Errc code = broken() ? Errc::kUnavailable : Errc::kIo;
  return makeError(
      code, "PostgreSQL " + url_.display + ": " + what + ": " + scrubPassword(why, url_.password));
}

bool PgConn::inTransaction() const {
  return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

Result<void> PgConn::ensureConnected() {
  // A session the server ended while we were idle has its goodbye (and the
  // end of the stream) waiting in the socket: read it now, not mid-write.
  if (!broken() && !inTransaction()) (void)PQconsumeInput(conn_);
  if (!broken()) return Ok{};
  return open();
}

Result<std::string> PgConn::prepared(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  const std::string name = "sg" + std::to_string(prepared_.size() + 1);
  PgResult result(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
  if (PQresultStatus(result.raw()) != PGRES_COMMAND_OK) return error("prepare", result.raw());
  prepared_.emplace(sql, name);
  return name;
}

Result<PgResult> PgConn::execOnce(const std::string& sql, const std::vector<PgParam>& params) {
  SG_READ(name, prepared(sql));
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const PgParam& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult result(PQexecPrepared(conn_, name->c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = PQresultStatus(result.raw());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return error("query", result.raw());
  }
  return result;
}

Result<PgResult> PgConn::exec(const std::string& sql, const std::vector<PgParam>& params,
                              Retry retry) {
  SG_TRY(ensureConnected());
  const bool idle = !inTransaction();
  auto result = execOnce(sql, params);
  if (result.ok() || !broken() || retry == Retry::kNo || !idle) return result;
  SG_TRY(open());
  return execOnce(sql, params);
}

Result<PgResult> PgConn::script(const std::string& sql, Retry retry) {
  SG_TRY(ensureConnected());
  const bool idle = !inTransaction();
  for (int attempt = 0;; ++attempt) {
    PgResult result(PQexec(conn_, sql.c_str()));
    const ExecStatusType status = PQresultStatus(result.raw());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    Error e = error("query", result.raw());
    if (attempt > 0 || !broken() || retry == Retry::kNo || !idle) return e;
    SG_TRY(open());
  }
}

}  // namespace sg::console
