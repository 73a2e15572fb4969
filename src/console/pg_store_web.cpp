// PgStore: flood acknowledgements (schema migration 2). An acknowledgement is
// announced as a change of its flood, so the other consoles reload it.
#include "console/pg_feed_change.h"
#include "console/pg_store.h"
#include "console/pg_store_rows.h"

namespace sg::console {

namespace {

constexpr const char* kAckColumns = "flood_id, acknowledged_by, at_ms, note";

FloodAckRecord ackRow(const PgResult& r, int row) {
  return FloodAckRecord{static_cast<uint64_t>(r.int64(row, 0)), r.text(row, 1), r.int64(row, 2),
                        r.text(row, 3)};
}

PgParam id(uint64_t v) { return pgInt(static_cast<int64_t>(v)); }

}  // namespace

Result<FloodAckRecord> PgStore::acknowledgeFlood(const FloodAckRecord& ack) {
  std::lock_guard lock(mu_);
  SG_READ(results,
          write({change_kind::kFlood, std::to_string(ack.flood_id), "put"},
                {{std::string("INSERT INTO flood_acks (") + kAckColumns +
                      ") VALUES ($1,$2,$3,$4) ON CONFLICT (flood_id) DO NOTHING",
                  {id(ack.flood_id), ack.by, pgInt(ack.at_ms), ack.note}},
                 {std::string("SELECT ") + kAckColumns + " FROM flood_acks WHERE flood_id = $1",
                  {id(ack.flood_id)}}}));
  const PgResult& read = (*results)[1];
  if (read.rows() != 1) return makeError(Errc::kIo, "flood_acks: the row just written is missing");
  return ackRow(read, 0);
}

Result<FloodAckRecord> PgStore::getFloodAck(uint64_t flood_id) {
  std::lock_guard lock(mu_);
  SG_READ(r,
          conn_->exec(std::string("SELECT ") + kAckColumns + " FROM flood_acks WHERE flood_id = $1",
                      {id(flood_id)}, Retry::kOnLostConnection));
  if (r->rows() == 0) {
    return makeError(Errc::kNotFound, "flood " + std::to_string(flood_id) + " not acknowledged");
  }
  return ackRow(*r, 0);
}

Result<std::vector<FloodAckRecord>> PgStore::listFloodAcks(uint64_t min_flood_id) {
  std::lock_guard lock(mu_);
  SG_READ(r, conn_->exec(std::string("SELECT ") + kAckColumns +
                             " FROM flood_acks WHERE flood_id >= $1 ORDER BY flood_id",
                         {id(min_flood_id)}, Retry::kOnLostConnection));
  std::vector<FloodAckRecord> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(ackRow(*r, i));
  return out;
}

Result<AuditPage> PgStore::searchAudit(const AuditQuery& q) {
  std::lock_guard lock(mu_);
  const bool newest_first = q.before_id.has_value();
  const uint64_t before = newest_first && *q.before_id != 0 ? *q.before_id : INT64_MAX;
  SG_READ(r, conn_->exec(std::string("SELECT ") + kAuditColumns +
                             " FROM audit_log WHERE id > $1 AND id < $2 AND ($3 = '' OR"
                             " strpos(lower(actor || chr(10) || action || chr(10) || target ||"
                             " chr(10) || details), lower($3)) > 0) ORDER BY id " +
                             (newest_first ? "DESC" : "ASC") + " LIMIT $4",
                         {id(newest_first ? 0 : q.after_id),
                          id(std::min<uint64_t>(before, INT64_MAX)), q.text, id(q.limit + 1)},
                         Retry::kOnLostConnection));
  AuditPage page;
  for (int i = 0; i < r->rows(); ++i) page.items.push_back(auditRow(*r, i));
  if (page.items.size() > q.limit) {
    page.items.pop_back();
    page.more = true;
  }
  return page;
}

}  // namespace sg::console
