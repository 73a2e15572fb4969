#include "agent/metrics.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace sg::agent {

namespace {

#define SG_COUNTER_NAME(name, metric, help) metric,
#define SG_COUNTER_HELP(name, metric, help) help,
const char* const kNames[] = {SG_COUNTERS(SG_COUNTER_NAME)};
const char* const kHelps[] = {SG_COUNTERS(SG_COUNTER_HELP)};
#undef SG_COUNTER_NAME
#undef SG_COUNTER_HELP
static_assert(sizeof(kNames) / sizeof(kNames[0]) == SG_CNT__MAX);

void metric(std::string& out, const char* name, const char* type, const char* help,
            unsigned long long value) {
  out += "# HELP syn_guard_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE syn_guard_";
  out += name;
  out += ' ';
  out += type;
  out += "\nsyn_guard_";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

const char* counterName(int index) { return kNames[index]; }
const char* counterHelp(int index) { return kHelps[index]; }

std::string renderMetrics(const sg_counters& k, const BookCounters& b, const Gauges& g) {
  std::string out;
  for (int i = 0; i < SG_CNT__MAX; i++) metric(out, kNames[i], "counter", kHelps[i], k.c[i]);
  metric(out, "agent_events_handled_total", "counter", "Kernel events handled by the agent",
         b.events_handled);
  metric(out, "agent_blocks_expired_total", "counter", "Blocks that ended by expiry",
         b.blocks_expired);
  metric(out, "agent_blocks_removed_total", "counter", "Blocks removed by an operator",
         b.blocks_removed);
  metric(out, "agent_manual_blocks_total", "counter", "Blocks added by an operator",
         b.manual_blocks);
  metric(out, "agent_prefix_blocks_total", "counter",
         "Prefix blocks made or renewed (block PREFIX, the console's Block Globally)",
         b.prefix_blocks);
  metric(out, "agent_enforcer_errors_total", "counter",
         "Blocks the enforcer failed to take or XDP failed to hand off (XDP kept dropping)",
         b.enforcer_errors);
  metric(out, "agent_enforcer_read_errors_total", "counter",
         "Failed reads of the enforcer's drop counter (dropped_total kept its last reading)",
         b.enforcer_read_errors);
  metric(out, "agent_late_blocks_total", "counter",
         "Blocks found by reconciliation (their event was over budget)", b.late_blocks);
  metric(out, "agent_challenge_errors_total", "counter",
         "Failed arming or disarming of challenged sources (source_response challenge)",
         b.challenge_errors);
  metric(out, "agent_challenge_repairs_total", "counter",
         "Times the SYNPROXY table challenges rely on was found gone (nftables flushed) and "
         "made again",
         b.challenge_repairs);
  metric(out, "agent_challenges_lifted_total", "counter",
         "Challenges lifted because they could not be armed (their sources counted afresh)",
         b.challenges_lifted);
  metric(out, "active_blocks", "gauge", "Blocks in force", g.active_blocks);
  metric(out, "block_capacity", "gauge", "Size of the kernel block table", g.block_capacity);
  metric(out, "active_prefix_blocks", "gauge", "Prefix blocks in force", g.active_prefix_blocks);
  metric(out, "prefix_block_capacity", "gauge", "Prefix blocks allowed (max_prefix_blocks)",
         g.prefix_block_capacity);
  metric(out, "sources_tracked", "gauge", "Sources with exact per-source state", g.sources);
  metric(out, "source_capacity", "gauge", "Size of the per-source LRU table", g.source_capacity);
  metric(out, "interfaces", "gauge", "Interfaces the XDP program is attached to", g.interfaces);
  metric(out, "agent_resident_bytes", "gauge", "Resident memory of the agent", g.rss_bytes);
  return out;
}

MetricsExchange::MetricsExchange() : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

MetricsExchange::~MetricsExchange() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

void MetricsExchange::publish(const MetricsValues& values) {
  uint64_t requests;
  (void)!::read(event_fd_, &requests, sizeof requests);  // clears the request
  {
    std::lock_guard<std::mutex> lock(mu_);
    values_ = values;
    generation_++;
  }
  published_.notify_all();
}

MetricsValues MetricsExchange::fresh(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t asked = generation_;
  uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
  published_.wait_for(lock, wait, [&] { return generation_ != asked; });
  return values_;
}

uint64_t MetricsExchange::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

}  // namespace sg::agent
