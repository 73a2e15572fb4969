// SqliteStore: flood acknowledgements (schema migration 2).
#include "console/sqlite_store.h"
#include "console/sqlite_store_rows.h"

namespace sg::console {

namespace {

constexpr const char* kAckColumns = "flood_id, acknowledged_by, at_ms, note";

FloodAckRecord ackRow(const Statement& s) {
  return FloodAckRecord{static_cast<uint64_t>(s.int64(0)), s.text(1), s.int64(2), s.text(3)};
}

}  // namespace

Result<FloodAckRecord> SqliteStore::acknowledgeFlood(const FloodAckRecord& ack) {
  std::lock_guard lock(mu_);
  FloodAckRecord held;
  SG_TRY(write([&]() -> Result<void> {
    SG_READ(insert, db_->prepare(std::string("INSERT OR IGNORE INTO flood_acks (") + kAckColumns +
                                 ") VALUES (?,?,?,?)"));
    insert->bind(1, static_cast<int64_t>(ack.flood_id)).bind(2, ack.by).bind(3, ack.at_ms);
    insert->bind(4, ack.note);
    SG_TRY(insert->run());
    SG_READ(read, db_->prepare(std::string("SELECT ") + kAckColumns +
                               " FROM flood_acks WHERE flood_id = ?"));
    read->bind(1, static_cast<int64_t>(ack.flood_id));
    SG_READ(row, read->step());
    if (!*row) return makeError(Errc::kIo, "flood_acks: the row just written is missing");
    held = ackRow(*read);
    return Ok{};
  }));
  return held;
}

Result<FloodAckRecord> SqliteStore::getFloodAck(uint64_t flood_id) {
  std::lock_guard lock(mu_);
  SG_READ(read, db_->prepare(std::string("SELECT ") + kAckColumns +
                             " FROM flood_acks WHERE flood_id = ?"));
  read->bind(1, static_cast<int64_t>(flood_id));
  SG_READ(row, read->step());
  if (!*row) {
    return makeError(Errc::kNotFound, "flood " + std::to_string(flood_id) + " not acknowledged");
  }
  return ackRow(*read);
}

Result<std::vector<FloodAckRecord>> SqliteStore::listFloodAcks(uint64_t min_flood_id) {
  std::lock_guard lock(mu_);
  SG_READ(read, db_->prepare(std::string("SELECT ") + kAckColumns +
                             " FROM flood_acks WHERE flood_id >= ? ORDER BY flood_id"));
  read->bind(1, static_cast<int64_t>(min_flood_id));
  std::vector<FloodAckRecord> out;
  for (;;) {
    SG_READ(row, read->step());
    if (!*row) break;
    out.push_back(ackRow(*read));
  }
  return out;
}

Result<AuditPage> SqliteStore::searchAudit(const AuditQuery& q) {
  std::lock_guard lock(mu_);
  const bool newest_first = q.before_id.has_value();
  const uint64_t before = newest_first && *q.before_id != 0 ? *q.before_id : UINT64_MAX;
  SG_READ(read, db_->prepare(std::string("SELECT ") + kAuditColumns +
                             " FROM audit_log WHERE id > ? AND id < ? AND (? = '' OR"
                             " instr(lower(actor || char(10) || action || char(10) || target ||"
                             " char(10) || details), lower(?)) > 0) ORDER BY id " +
                             (newest_first ? "DESC" : "ASC") + " LIMIT ?"));
  read->bind(1, newest_first ? int64_t{0} : static_cast<int64_t>(q.after_id));
  read->bind(2, static_cast<int64_t>(std::min<uint64_t>(before, INT64_MAX)));
  read->bind(3, q.text).bind(4, q.text);
  read->bind(5, static_cast<int64_t>(q.limit + 1));  // one more: is there another page?
  AuditPage page;
  for (;;) {
    SG_READ(row, read->step());
    if (!*row) break;
    page.items.push_back(auditRow(*read));
  }
  if (page.items.size() > q.limit) {
    page.items.pop_back();
    page.more = true;
  }
  return page;
}

}  // namespace sg::console
