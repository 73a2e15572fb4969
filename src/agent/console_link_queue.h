// ReportQueue: the agent's detections and block changes on their way to the
// console. Pure logic (console_link_queue_test.cpp).
//
// Events wait in a bounded queue; when it is full the oldest waiting event is
// dropped and counted (total for the metrics, and since the last report for
// the next report's `dropped`). One report is in flight at a time: the
// waiting events go out at once when the link is idle, and pile up while a
// report waits for its report_ack, to leave together in the next one (up to
// proto::kMaxEvents) — so under load reports coalesce instead of queueing.
// A report keeps its seq until the console acknowledges it: after a
// reconnect the welcome's last_report_seq says whether it was stored (drop
// it) or must be sent again. Seqs come from a SeqSource, which keeps them
// increasing across agent restarts.
//
// Port floods (protocol version 2) wait beside the events and leave in the
// same reports (report.port_floods). A waiting `updated` of a target is
// replaced by a newer one, so a cut-off agent keeps one update per flood. A
// version-1 link (an older console) cannot carry them: they stay queued for
// the next version-2 link (bounded as ever: oldest dropped first, counted),
// and an unacknowledged report made for version 2 is sent again without
// them, which go back to the front of the queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "proto/limits.h"
#include "proto/messages.h"

namespace sg::agent {

struct ReportQueueOptions {
  size_t max_events = 16384;                  // waiting events; beyond, the oldest is dropped
  size_t max_per_report = proto::kMaxEvents;  // events in one report
  size_t max_port_floods = 1024;              // waiting port floods; beyond, the oldest is dropped
};

class ReportQueue {
 public:
  // Hands out the next report seq (persisted by the caller).
  using SeqSource = std::function<uint64_t()>;
  ReportQueue(ReportQueueOptions options, SeqSource next_seq);

  void push(const proto::Event& event);
  void push(const proto::PortFloodReport& flood);
  // The report to send now, if any: the unacknowledged one when it is not on
  // the wire (after a reconnect), else a new one from the waiting events when
  // no report is in flight. Marks it in flight. `port_floods`: the link
  // carries them (version 2); else they wait for a link that does.
  std::optional<proto::Report> next(bool port_floods = true);
  // report_ack{seq}: the console stored it. True if it was the one in flight.
  bool onReportAck(uint64_t seq);
  // welcome: reports up to `last_report_seq` are stored.
  void onWelcome(uint64_t last_report_seq);
  // The link dropped: the report in flight must be sent again.
  void onDisconnected() { in_flight_ = false; }

  size_t depth() const;  // waiting events plus those in the unacknowledged report
  uint64_t droppedTotal() const { return dropped_total_; }
  uint64_t lastAcked() const { return last_acked_; }
  // Port floods dropped from the full queue (oldest first), in droppedTotal too.
  uint64_t portFloodsDropped() const { return port_floods_dropped_; }
  // Port floods waiting (not in the unacknowledged report).
  size_t portFloodsWaiting() const { return waiting_floods_.size(); }
  bool idle() const { return !unacked_.has_value(); }

 private:
  ReportQueueOptions options_;
  SeqSource next_seq_;
  std::deque<proto::Event> waiting_;
  std::deque<proto::PortFloodReport> waiting_floods_;
  std::optional<proto::Report> unacked_;
  bool in_flight_ = false;
  uint64_t dropped_total_ = 0;
  uint64_t dropped_since_report_ = 0;
  uint64_t last_acked_ = 0;
  uint64_t port_floods_dropped_ = 0;

  // Drops the oldest waiting port floods past max_port_floods, counted.
  void boundFloods();
};

}  // namespace sg::agent
