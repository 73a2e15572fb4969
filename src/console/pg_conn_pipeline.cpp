// PgConn::pipeline: several statements in one round trip (libpq's pipeline
// mode). A write's BEGIN, version bump, changes, NOTIFY and COMMIT travel
// together, so the version row's lock is held for the server's work only,
// never for a round trip to a console.
#include "console/pg_conn.h"

namespace sg::console {

Error PgConn::abandon(const Error& why) {
  // Results may still be queued: no later statement could use this
  // connection. The next call opens a new one.
  PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
  return makeError(Errc::kUnavailable, why.message());
}

Result<std::vector<PgResult>> PgConn::pipeline(const std::vector<PgStatement>& statements) {
  SG_TRY(ensureConnected());
  std::vector<std::string> names;
  names.reserve(statements.size());
  for (const PgStatement& s : statements) {
    SG_READ(name, prepared(s.sql));
    names.push_back(std::move(*name));
  }
  if (PQenterPipelineMode(conn_) == 0) return error("pipeline mode");
  for (size_t i = 0; i < statements.size(); ++i) {
    std::vector<const char*> values;
    values.reserve(statements[i].params.size());
    for (const PgParam& p : statements[i].params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryPrepared(conn_, names[i].c_str(), static_cast<int>(values.size()), values.data(),
                            nullptr, nullptr, 0) == 0) {
      return abandon(error("send"));
    }
  }
  return readPipeline(statements.size());
}

// Reads `count` statements' results and the sync point, then leaves
// pipeline mode; the first error is returned.
Result<std::vector<PgResult>> PgConn::readPipeline(size_t count) {
  if (PQpipelineSync(conn_) == 0) return abandon(error("pipeline sync"));
  std::vector<PgResult> results;
  std::optional<Error> failed;
  for (size_t i = 0; i < count; ++i) {
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) return abandon(failed ? *failed : error("pipeline result"));  // gone
    PgResult result(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_FATAL_ERROR && !failed) failed = error("query", raw);
    if (status != PGRES_PIPELINE_ABORTED && status != PGRES_FATAL_ERROR) {
      results.push_back(std::move(result));
    }
    // Each statement's results, aborted ones included, end with a null.
    PGresult* end = PQgetResult(conn_);
    if (end != nullptr) {
      PQclear(end);
      return abandon(error("pipeline: more than one result for a statement"));
    }
    if (broken()) return abandon(failed ? *failed : error("pipeline"));
  }
  PGresult* sync = PQgetResult(conn_);
  const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
  PQclear(sync);
  if (!synced) return abandon(error("pipeline sync result"));
  if (PQexitPipelineMode(conn_) == 0) return abandon(error("leaving pipeline mode"));
  if (failed) return *failed;
  return results;
}

}  // namespace sg::console
