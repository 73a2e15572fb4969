#include "win/agent_win.h"

#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "win/agent_console_win.h"
#include "win/attempt_pipeline.h"
#include "win/control_handler.h"
#include "win/control_pipe.h"
#include "win/etw_session.h"
#include "win/etw_tdh.h"
#include "win/half_open.h"
#include "win/tcp_table_win.h"
#include "win/wfp_enforcer.h"
#include "win/wfp_net_events.h"

namespace sg::win {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr DWORD kTickMs = 50;  // expiry and half-open polling cadence

void logLine(std::FILE* log, const nlohmann::json& j) {
  std::fprintf(log, "%s\n", j.dump().c_str());
  std::fflush(log);
}

void logEvent(std::FILE* log, const sg_event& ev, const char* via) {
  const char* type = ev.type == SG_EV_BLOCK_ADDED ? "block"
                     : ev.type == SG_EV_FLAGGED   ? "flagged"
                                                  : "pressure";
  logLine(log, {{"event", type},
                {"src", Address{ev.src}.str()},
                {"count", ev.count},
                {"dst_port", ev.dst_port},
                {"block_ms", ev.block_ns / kMs},
                {"level", ev.level},
                {"via", via}});
}

}  // namespace

Result<void> runAgent(const WinAgentOptions& options, HANDLE stop) {
  const AgentConfig& config = options.config;
  MonotonicClock clock;
  RealWfpApi wfp_api;
  auto engine = WfpEngine::open(&wfp_api);
  if (!engine.ok()) return engine.error().context("opening the filtering engine");
  WfpEnforcer enforcer(std::move(engine).value(), &clock);
  // The host's own addresses are always allowed, as on Linux (read at start:
  // an address added later is not; docs/windows-notes.md).
  auto own = readHostAddresses();
  if (!own.ok()) {
    logLine(options.log, {{"event", "notice"},
                          {"message", own.error().message() +
                                          ": the host's own addresses are not on the allowlist"}});
  }
  std::mutex mu;  // the pipeline, the half-open counter and the schedule
  AttemptPipeline pipeline(config, &enforcer, own.ok() ? *own : std::vector<Address>{});
  if (auto r = enforcer.setAllowlist(pipeline.allowlist()); !r.ok()) return r;
  ControlHandler handler(&pipeline, config, &clock, clock.nowNs(), GetCurrentProcessId());
  // The engine's net events: drops by our filters and by others (counts in
  // `status`). Without them the agent runs as before.
  NetEventCounts net_counts;
  auto net_events = WfpNetEvents::subscribe(enforcer.engine(), &net_counts);
  if (net_events.ok()) {
    handler.setNetEvents(&net_counts);
  } else {
    logLine(options.log, {{"event", "notice"},
                          {"message", net_events.error().message() +
                                          ": no WFP net event counts (status.wfp_net_events)"}});
  }
  ControlPipeServer pipe(options.pipe_name, [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    return handler.handle(line);
  });
  if (auto r = pipe.start(); !r.ok()) return r;
  WfpIsolation isolation(enforcer.sharedEngine());  // the console's isolate/release
  std::unique_ptr<WinAgentConsole> console;
  if (options.console) {
    auto c = WinAgentConsole::open(*options.console, options.state_dir, config, &pipeline,
                                   &isolation, &clock, options.log);
    if (!c.ok()) return c.error();
    console = std::move(c).value();
  }

  std::string note;
  const TcpipDecoder decoder(resolveTcpipTemplates(&note));
  if (!note.empty()) logLine(options.log, {{"event", "notice"}, {"message", note}});
  for (const std::string& p : decoder.problems())
    logLine(options.log, {{"event", "notice"}, {"message", p}});

  PollSchedule schedule(kTickMs * kMs, 5'000 * kMs);
  std::random_device entropy;
  const sg_hash_key hash_key{(uint64_t{entropy()} << 32) | entropy(),
                             (uint64_t{entropy()} << 32) | entropy()};
  HalfOpenCounter half_open(hash_key);
  uint64_t malformed = 0;
  std::vector<sg_event> events;
  auto session = EtwSession::start(EtwSessionOptions{}, [&](const EtwRecordView& rec) {
    auto ev = decoder.decode(rec);
    std::lock_guard<std::mutex> lock(mu);
    if (!ev.ok()) {
      if (malformed++ == 0)
        logLine(options.log, {{"event", "notice"}, {"message", ev.error().message()}});
      return;
    }
    const uint64_t now = clock.nowNs();
    if (ev->kind == TcpipKind::kSynAttackEntry || ev->kind == TcpipKind::kSynAttackExit) {
      schedule.onActivity(now);
      logLine(options.log, {{"event", ev->kind == TcpipKind::kSynAttackEntry ? "syn_attack_entry"
                                                                             : "syn_attack_exit"},
                            {"syn_attacks_detected", ev->syn_attacks_detected}});
      return;
    }
    if (ev->kind == TcpipKind::kOther) return;
    schedule.onActivity(now);
    events.clear();
    pipeline.onAttempt(ev->attempt, now, &events);
    for (const sg_event& e : events) logEvent(options.log, e, "etw");
    if (console) console->report(events, now);
  });
  if (!session.ok()) return session.error().context("starting the ETW session");
  std::thread consumer([&] {
    if (auto r = (*session)->run(); !r.ok())
      logLine(options.log, {{"event", "error"}, {"message", r.error().message()}});
  });
  logLine(options.log, {{"event", "started"},
                        {"threshold", config.threshold},
                        {"window_ms", static_cast<uint64_t>(config.window.count()) / kMs},
                        {"block_ms", static_cast<uint64_t>(config.block_duration.count()) / kMs}});

  uint64_t last_poll = 0;
  while (WaitForSingleObject(stop, kTickMs) == WAIT_TIMEOUT) {
    const uint64_t now = clock.nowNs();
    std::lock_guard<std::mutex> lock(mu);
    if (schedule.due(now, last_poll)) {
      last_poll = now;
      auto rows = readTcpTables();
      if (rows.ok()) {
        std::vector<sg_pkt> attempts;
        if (half_open.onPoll(*rows, &attempts) > 0) schedule.onActivity(now);
        for (const sg_pkt& a : attempts) {
          std::vector<sg_event> evs;
          pipeline.onAttempt(a, now, &evs);
          for (const sg_event& e : evs) logEvent(options.log, e, "tcp_table");
          if (console) console->report(evs, now);
        }
      }
    }
    auto gone = enforcer.sweepExpired();
    if (!gone.ok()) logLine(options.log, {{"event", "error"}, {"message", gone.error().message()}});
    pipeline.expire(now);
    if (console) console->tick(now);
  }
  (*session)->stop();
  consumer.join();
  if (console) console->stop();
  pipe.stop();
  logLine(options.log, {{"event", "stopped"}});
  return Ok{};  // the engine's handle closes with `enforcer`: the dynamic session's filters go
}

}  // namespace sg::win
