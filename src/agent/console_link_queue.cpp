#include "agent/console_link_queue.h"

#include <algorithm>

namespace sg::agent {

ReportQueue::ReportQueue(ReportQueueOptions options, SeqSource next_seq)
    : options_(options), next_seq_(std::move(next_seq)) {
  options_.max_events = std::max<size_t>(options_.max_events, 1);
  options_.max_per_report = std::clamp<size_t>(options_.max_per_report, 1, proto::kMaxEvents);
}

void ReportQueue::push(const proto::Event& event) {
  if (waiting_.size() >= options_.max_events) {
    waiting_.pop_front();
    ++dropped_total_;
    ++dropped_since_report_;
  }
  waiting_.push_back(event);
}

namespace {

bool sameTarget(const proto::PortFloodReport& a, const proto::PortFloodReport& b) {
  return a.dst == b.dst && a.dst_port == b.dst_port && a.first_ns == b.first_ns;
}

}  // namespace

void ReportQueue::push(const proto::PortFloodReport& flood) {
  if (flood.kind == proto::PortFloodKind::kUpdated) {
    for (auto& waiting : waiting_floods_) {
      if (waiting.kind == proto::PortFloodKind::kUpdated && sameTarget(waiting, flood)) {
        waiting = flood;  // the newer state of the same flood
        return;
      }
    }
  }
  waiting_floods_.push_back(flood);
  boundFloods();
}

void ReportQueue::boundFloods() {
  while (waiting_floods_.size() > std::max<size_t>(options_.max_port_floods, 1)) {
    waiting_floods_.pop_front();
    ++dropped_total_;
    ++dropped_since_report_;
    ++port_floods_dropped_;
  }
}

std::optional<proto::Report> ReportQueue::next(bool port_floods) {
  if (!port_floods && unacked_ && !unacked_->port_floods.empty()) {
    // Made for a version-2 link and not stored: its events go under the same
    // seq, its port floods (older than those waiting) wait for version 2.
    waiting_floods_.insert(waiting_floods_.begin(), unacked_->port_floods.begin(),
                           unacked_->port_floods.end());
    unacked_->port_floods.clear();
    boundFloods();
  }
  if (unacked_) {
    if (in_flight_) return std::nullopt;
    in_flight_ = true;
    return unacked_;
  }
  const bool floods = port_floods && !waiting_floods_.empty();
  if (waiting_.empty() && !floods && dropped_since_report_ == 0) return std::nullopt;
  proto::Report r;
  r.seq = next_seq_();
  r.dropped = dropped_since_report_;
  const size_t n = std::min(waiting_.size(), options_.max_per_report);
  r.events.assign(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  if (floods) {
    const auto m =
        static_cast<std::ptrdiff_t>(std::min(waiting_floods_.size(), proto::kMaxPortFloods));
    r.port_floods.assign(waiting_floods_.begin(), waiting_floods_.begin() + m);
    waiting_floods_.erase(waiting_floods_.begin(), waiting_floods_.begin() + m);
  }
  dropped_since_report_ = 0;
  unacked_ = std::move(r);
  in_flight_ = true;
  return unacked_;
}

bool ReportQueue::onReportAck(uint64_t seq) {
  last_acked_ = std::max(last_acked_, seq);
  if (!unacked_ || unacked_->seq != seq) return false;
  unacked_.reset();
  in_flight_ = false;
  return true;
}

void ReportQueue::onWelcome(uint64_t last_report_seq) {
  last_acked_ = std::max(last_acked_, last_report_seq);
  if (unacked_ && unacked_->seq <= last_report_seq) unacked_.reset();
  in_flight_ = false;
}

size_t ReportQueue::depth() const {
  return waiting_.size() + waiting_floods_.size() +
         (unacked_ ? unacked_->events.size() + unacked_->port_floods.size() : 0);
}

}  // namespace sg::agent
