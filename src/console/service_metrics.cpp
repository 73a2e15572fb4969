// The console's own metrics in Prometheus text format (the transport's
// counters come from net::appendPrometheus beside them).
#include <algorithm>
#include <cstdio>

#include "console/service_impl.h"

namespace sg::console {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help,
            uint64_t value) {
  out += "# HELP syn_guard_console_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE syn_guard_console_";
  out += name;
  out += ' ';
  out += type;
  out += "\nsyn_guard_console_";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void counter(std::string& out, const char* name, const char* help,
             const std::atomic<uint64_t>& value) {
  metric(out, name, "counter", help, value.load(std::memory_order_relaxed));
}

}  // namespace

void MsHistogram::add(double ms) {
  for (size_t i = 0; i < kBoundsMs.size(); ++i) {
    if (ms <= kBoundsMs[i]) {
      ++buckets_[i];
      break;
    }
  }
  ++count_;
  sum_ms_ += ms;
}

void MsHistogram::render(std::string& out, const char* name, const char* help) const {
  const std::string full = std::string("syn_guard_console_") + name;
  out += "# HELP " + full + " " + help + "\n# TYPE " + full + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBoundsMs.size(); ++i) {
    cumulative += buckets_[i];
    char le[32];
    std::snprintf(le, sizeof le, "%g", kBoundsMs[i] / 1000.0);
    out += full + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += full + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f", sum_ms_ / 1000.0);
  out += full + "_sum " + sum + "\n" + full + "_count " + std::to_string(count_) + "\n";
}

std::string ConsoleServiceImpl::metricsText() {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  size_t connected = 0;
  for (const auto& [id, link] : links_) connected += link.session->active() ? 1 : 0;
  size_t enrolled = 0;
  for (const auto& [name, r] : records_) enrolled += r.revoked ? 0 : 1;
  metric(out, "agents_connected", "gauge", "Agents with an open link past hello", connected);
  metric(out, "endpoints_enrolled", "gauge", "Enrolled endpoints, not revoked", enrolled);
  metric(out, "floods_active", "gauge", "Active floods", correlator_->active().size());
  portFloodMetrics(out);
  metric(out, "global_blocks", "gauge", "Global blocks in the desired state",
         desired_->blocks().size());
  metric(out, "desired_version", "gauge", "Desired-state version", desired_->version());
  metric(out, "store_dirty_endpoints", "gauge", "Endpoint records waiting to be written back",
         dirty_.size());
  size_t queue_max = 0;
  size_t queue_sum = 0;
  for (const auto& [id, link] : links_) {
    const size_t n = link.conn->pendingSends();
    queue_max = std::max(queue_max, n);
    queue_sum += n;
  }
  metric(out, "agent_send_queue_max", "gauge",
         "Largest number of messages queued to one agent link, not yet written", queue_max);
  metric(out, "agent_send_queue_messages", "gauge",
         "Messages queued to all agent links, not yet written", queue_sum);
  const ServiceCounters& c = counters_;
  counter(out, "agent_messages_in_total", "Agent messages parsed", c.messages_in);
  counter(out, "agent_messages_out_total", "Console messages queued to agents", c.messages_out);
  counter(out, "agent_bad_messages_total", "Unparsable agent messages (link closed)",
          c.bad_messages);
  counter(out, "agent_protocol_errors_total", "Agent messages refused by the session (link closed)",
          c.protocol_errors);
  counter(out, "agents_refused_total", "Agent links refused: unknown, revoked or stale certificate",
          c.agents_refused);
  counter(out, "agent_links_replaced_total", "Links closed by a newer link of the same endpoint",
          c.links_replaced);
  counter(out, "reports_stored_total", "Reports stored and acknowledged", c.reports);
  counter(out, "store_errors_total", "Store writes that failed", c.store_errors);
  counter(out, "fanouts_total", "Desired-state changes pushed to the links", c.fanouts);
  counter(out, "fanout_sends_total", "Deltas and snapshots sent by fan-outs", c.fanout_sends);
  counter(out, "api_auth_failures_total", "API requests with a refused token", c.auth_failures);
  counter(out, "enroll_failures_total", "Refused enrollments", c.enroll_failures);
  counter(out, "report_seq_regressions_total",
          "Reports numbered at or below their link's welcome (the agent went back; dropped)",
          c.report_seq_regressions);
  counter(out, "live_block_views_total",
          "Block views rendered for the dashboard's live stream (only while one is open)",
          c.live_block_views);
  counter(out, "live_endpoint_views_total",
          "Endpoint views rendered for the dashboard's live stream (only while one is open)",
          c.live_endpoint_views);
  const CorrelatorCounters& k = correlator_->counters();
  metric(out, "report_duplicates_total", "counter", "Reports seen before (acked again)",
         k.duplicate_reports);
  metric(out, "report_events_total", "counter", "Events in accepted reports", k.events);
  metric(out, "report_events_dropped_total", "counter", "Events dropped: too many active floods",
         k.events_dropped_full);
  metric(out, "agent_queue_dropped_total", "counter",
         "Events agents dropped from their full queues", k.agent_dropped);
  metric(out, "floods_started_total", "counter", "Floods started", k.floods_started);
  metric(out, "floods_ended_total", "counter", "Floods ended", k.floods_ended);
  report_latency_.render(out, "report_latency_seconds",
                         "From an agent's detection to its report stored (clock offset measured)");
  fanout_time_.render(out, "fanout_seconds", "Time to queue one change to every link");
  fanout_acked_.render(out, "fanout_acked_seconds",
                       "From a fan-out to the last of its links acknowledging it");
  metric(out, "fanout_last_acked_version", "gauge",
         "Desired version of the newest fan-out every link acknowledged",
         last_fanout_acked_version_);
  char last[64];
  std::snprintf(last, sizeof last, "%.3f", last_fanout_acked_ms_ / 1000.0);
  out +=
      "# HELP syn_guard_console_fanout_last_acked_seconds Its time to the last ack\n"
      "# TYPE syn_guard_console_fanout_last_acked_seconds gauge\n"
      "syn_guard_console_fanout_last_acked_seconds ";
  out += last;
  out += '\n';
  if (more_metrics_) more_metrics_(out);
  return out;
}

void ConsoleServiceImpl::setMoreMetrics(MetricsRender render) {
  std::lock_guard<std::mutex> lock(mu_);
  more_metrics_ = std::move(render);
}

}  // namespace sg::console
