#include "agent/agent.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent/config_apply.h"
#include "agent/control_protocol.h"
#include "agent/control_server.h"
#include "agent/isolation_control.h"
#include "agent/metrics_server.h"

namespace sg::agent {

namespace {

constexpr uint64_t kMinTimerNs = 1'000'000;  // a due sweep runs after at most 1 ms

long residentBytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, rss = 0;
  f >> pages >> rss;
  return rss * sysconf(_SC_PAGESIZE);
}

Error sysError(const std::string& what) {
  return Error(Errc::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

Agent::Agent(AgentConfig config, AgentParts parts, EventLog& log, Clock& clock)
    : config_(std::move(config)), parts_(std::move(parts)), log_(log), clock_(clock) {
  book_ = std::make_unique<BlockBook>(*parts_.sensor, parts_.enforcer.get(), log_, clock_, config_,
                                      parts_.ifname);
  book_->setStore(parts_.store.get());
  book_->setChallenges(parts_.challenges.get());
  local_ = std::make_unique<LocalAddresses>(*parts_.sensor, log_, parts_.local_addresses);
  responder_ =
      std::make_unique<BookPrefixResponder>(*book_, [this] { return config_.block_duration; });
  if (parts_.cookies) {
    cookie_responder_ = std::make_unique<CookieResponder>(*parts_.cookies, log_);
  }
  sig_responder_ = std::make_unique<SignatureResponder>(*parts_.sensor, log_, config_.port_flood);
  ports_ = std::make_unique<PortFloodWatch>(
      config_.port_flood, parts_.sensor->handshakesVisible(), log_,
      std::vector<PortFloodResponder*>{responder_.get(), cookie_responder_.get(),
                                       sig_responder_.get()});
  ports_->setListenerProbe(parts_.listeners.get());
  reflect_ = std::make_unique<ReflectionWatch>(*parts_.sensor, log_, config_.reflection);
}

Agent::~Agent() = default;

Result<void> Agent::applyConfig(const AgentConfig& config) {
  std::vector<Prefix> allow = kernelAllowlist(config, parts_.implicit_allow);
  std::lock_guard<std::mutex> lock(mu_);
  SG_TRY(parts_.sensor->setAllowlist(allow));
  // Challenges that cannot be armed would leave the sources unblocked: the
  // kernel blocks instead (the start says why, describeConfig shows it; the
  // book falls back so while arming fails).
  SG_TRY(parts_.sensor->setConfig(book_->kernelConfig(config)));
  AgentConfig with_implicit = config;
  with_implicit.allow = allow;
  book_->setConfig(with_implicit);
  ports_->setOptions(config.port_flood);
  ports_->setAllowlist(allow);
  sig_responder_->setOptions(config.port_flood);
  reflect_->apply(config.reflection, config.verified, config.enforcer == EnforcerKind::kNone);
  return Ok{};
}

void Agent::reload() {
  if (!parts_.reload) return;
  auto next = parts_.reload();
  if (!next) {
    log_.emit("config_rejected", {{"error", next.error().message()},
                                  {"note", "the running configuration is unchanged"}});
    return;
  }
  AgentConfig cfg = *next;
  // Keep what only a restart can change; apply the rest live.
  std::vector<std::string> restart = keepRestartOnly(config_, &cfg);
  if (parts_.link) parts_.link->overlay(cfg);  // a console policy stays in force
  if (auto r = applyConfig(cfg); !r) {
    log_.emit("config_rejected", {{"error", r.error().message()}});
    return;
  }
  config_ = cfg;
  nlohmann::json f{{"threshold", cfg.threshold},
                   {"window_ms", cfg.window.count() / 1'000'000},
                   {"block_ms", cfg.block_duration.count() / 1'000'000},
                   {"allow", cfg.allow.size()}};
  if (!restart.empty()) f["needs_restart"] = restart;
  log_.emit("config_reloaded", f);
}

// The host's addresses changed (rtnetlink): a new address is allowed at
// once, a removed one is no longer.
void Agent::refreshHostAddresses() {
  if (!parts_.refresh_implicit_allow) return;
  auto next = parts_.refresh_implicit_allow();
  if (!next) {
    log_.emit("error", {{"message", "re-reading the host's addresses: " + next.error().message()}});
    return;
  }
  if (!next->has_value()) return;
  local_->sync();
  if (**next == parts_.implicit_allow) return;
  parts_.implicit_allow = std::move(**next);
  if (auto r = applyConfig(config_); !r) {
    log_.emit("error", {{"message", "allowlisting the host's addresses: " + r.error().message()}});
    return;
  }
  log_.emit("host_addresses", {{"allowed", parts_.implicit_allow.size()}});
}

// What the agent runs with: shared by the "ready" event and `status`.
void Agent::describeConfig(nlohmann::json& j) const {
  j["pid"] = getpid();
  j["interfaces"] = parts_.interfaces;
  j["enforcer"] = enforcerName(config_.enforcer);
  j["threshold"] = config_.threshold;
  // Handshake-aware counting (bpf/sg_handshake.h): threshold then counts
  // half-open attempts; connection_threshold all of them.
  j["connection_threshold"] = connectionThreshold(config_);
  j["half_open_counting"] = connectionThreshold(config_) > config_.threshold;
  j["handshakes_visible"] = parts_.sensor != nullptr && parts_.sensor->handshakesVisible();
  j["window_ms"] = config_.window.count() / 1'000'000;
  j["block_ms"] = config_.block_duration.count() / 1'000'000;
  j["ipv6_prefix"] = config_.ipv6_prefix;
  j["isolation"] = isolationStatusJson(parts_.isolation.get());
  j["syncookies"] = parts_.cookies ? parts_.cookies->mode() : "off";
  // What a source over the half-open threshold gets (bpf/sg_challenge.h).
  const bool challenge =
      config_.source_response == SourceResponse::kChallenge && book_->challengesUsable();
  j["source_response"] = challenge ? "challenge" : "block";
  if (config_.source_response == SourceResponse::kChallenge && !challenge) {
    // Its SYNPROXY table is made at start: a reload cannot turn it on.
    j["source_response_note"] =
        parts_.challenges != nullptr
            ? "arming challenges fails (see the log): blocked instead until it works again"
        : parts_.challenge_note.empty() ? "the agent started with source_response block: restart it"
                                        : parts_.challenge_note;
  }
}

nlohmann::json Agent::statusJson() {
  nlohmann::json j;
  j["ok"] = true;
  describeConfig(j);
  j["uptime_s"] = (clock_.nowNs() - started_ns_) / 1'000'000'000;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto c = parts_.sensor->readCounters(); c.ok()) {
    c->c[SG_CNT_DROPPED] += book_->enforcerDrops();  // drops after the nftables hand-off
    nlohmann::json counters;
    for (int i = 0; i < SG_CNT__MAX; i++) counters[counterName(i)] = c->c[i];
    j["counters"] = counters;
  }
  if (auto n = parts_.sensor->sourceCount(); n.ok()) j["sources"] = *n;
  j["source_capacity"] = parts_.sensor->sourceCapacity();
  j["blocks"] = book_->knownBlocks();
  j["challenges_armed"] = book_->armedChallenges();
  j["block_capacity"] = parts_.sensor->blockCapacity();
  j["prefix_blocks"] = book_->knownPrefixBlocks();
  j["prefix_block_capacity"] = parts_.sensor->prefixBlockCapacity();
  j["port_floods"] = ports_->statusJson();
  j["port_floods"]["signatures"] = sig_responder_->statusJson();
  j.update(reflect_->statusJson());  // "reflection", "verified_sources"
  j["dst_capacity"] = parts_.sensor->dstCapacity();
  j["rss_bytes"] = residentBytes();
  if (parts_.link) j["console"] = parts_.link->statusJson();
  return j;
}

MetricsValues Agent::metricsValues() {
  std::lock_guard<std::mutex> lock(mu_);
  MetricsValues v;
  if (auto c = parts_.sensor->readCounters(); c.ok()) v.kernel = *c;
  v.kernel.c[SG_CNT_DROPPED] += book_->enforcerDrops();  // drops after the nftables hand-off
  v.book = book_->counters();
  Gauges& g = v.gauges;
  g.active_blocks = book_->knownBlocks();
  g.block_capacity = parts_.sensor->blockCapacity();
  g.active_prefix_blocks = book_->knownPrefixBlocks();
  g.prefix_block_capacity = parts_.sensor->prefixBlockCapacity();
  if (auto n = parts_.sensor->sourceCount(); n.ok()) g.sources = *n;
  g.source_capacity = parts_.sensor->sourceCapacity();
  g.interfaces = parts_.interfaces.size();
  g.rss_bytes = residentBytes();
  v.extra = portFloodMetrics(ports_->counters(), ports_->activeCount());
  v.extra += reflect_->metricsText();
  if (cookie_responder_) v.extra += cookie_responder_->metricsText();
  if (parts_.link) v.extra += parts_.link->metricsText();
  return v;
}

LinkApplyHost Agent::linkHost() {
  LinkApplyHost h;
  h.book = book_.get();
  h.isolation = parts_.isolation.get();
  h.config = [this] { return config_; };
  h.allowlist = [this] { return kernelAllowlist(config_, parts_.implicit_allow); };
  h.apply_config = [this](const AgentConfig& cfg) -> Result<void> {
    SG_TRY(applyConfig(cfg));
    config_ = cfg;
    log_.emit("config_applied", {{"from", "console"},
                                 {"threshold", cfg.threshold},
                                 {"window_ms", cfg.window.count() / 1'000'000},
                                 {"block_ms", cfg.block_duration.count() / 1'000'000}});
    return Ok{};
  };
  return h;
}

std::map<std::string, uint64_t> Agent::heartbeatCounters() {
  std::map<std::string, uint64_t> out;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto c = parts_.sensor->readCounters(); c.ok()) {
    c->c[SG_CNT_DROPPED] += book_->enforcerDrops();
    for (int i = 0; i < SG_CNT__MAX; i++) out[counterName(i)] = c->c[i];
  }
  return out;
}

nlohmann::json Agent::handleRequest(const std::string& line) {
  // isolate/release first: their fields are not the ControlRequest's.
  if (auto answer = handleIsolationCommand(parts_.isolation.get(), line, config_.allow)) {
    if (answer->value("ok", false)) {
      log_.emit("isolation", (*answer)["isolation"]);
    }
    return *answer;
  }
  auto req = parseControlRequest(line);
  if (!req) return {{"ok", false}, {"error", req.error().message()}};
  switch (req->cmd) {
    case ControlCmd::kStatus:
      return statusJson();
    case ControlCmd::kBlocks: {
      std::lock_guard<std::mutex> lock(mu_);
      auto b = book_->blocksJson();
      if (!b) return {{"ok", false}, {"error", b.error().message()}};
      return {{"ok", true}, {"blocks", *b}};
    }
    case ControlCmd::kBlock: {
      Nanos d = req->for_ms ? Nanos(req->for_ms * 1'000'000) : config_.block_duration;
      std::lock_guard<std::mutex> lock(mu_);
      auto r = req->prefix
                   ? book_->blockPrefix(*req->prefix,
                                        req->permanent ? std::nullopt : std::optional<Nanos>(d))
                   : book_->block(req->src, d, req->permanent);
      if (!r) return {{"ok", false}, {"error", r.error().message()}};
      return {{"ok", true}, {"block", *r}};
    }
    case ControlCmd::kUnblock: {
      std::lock_guard<std::mutex> lock(mu_);
      auto r = req->prefix ? book_->unblockPrefix(*req->prefix) : book_->unblock(req->src);
      if (!r) return {{"ok", false}, {"error", r.error().message()}};
      return {{"ok", true}, {"removed", *r}};
    }
    case ControlCmd::kReload:
      reload();
      return {{"ok", true}};
  }
  return {{"ok", false}, {"error", "unhandled"}};
}

// The sweep's deadline comes from the book (last sweep, known expiries), so
// wake-ups for events or control requests never postpone it.
void Agent::armTimer(int timer_fd) {
  uint64_t next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next = book_->nextSweepNs();
  }
  const uint64_t now = clock_.nowNs();
  const uint64_t delay = next > now + kMinTimerNs ? next - now : kMinTimerNs;
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(delay / 1'000'000'000);
  its.it_value.tv_nsec = static_cast<long>(delay % 1'000'000'000);
  timerfd_settime(timer_fd, 0, &its, nullptr);
}

// One-shot: every kDstSampleInterval while connection attempts arrive (or a
// port flood lasts), every kDstIdleInterval while none do, so an idle agent
// wakes twice a second, not ten times.
void Agent::armSampler(int timer_fd, bool busy) {
  const auto ns = static_cast<uint64_t>((busy ? kDstSampleInterval : kDstIdleInterval).count());
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  its.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  timerfd_settime(timer_fd, 0, &its, nullptr);
}

bool Agent::sampleDsts() {
  std::lock_guard<std::mutex> lock(mu_);
  bool busy = reflect_->onTick(clock_.nowNs());
  if (!config_.port_flood.enabled) return busy;
  const std::vector<DstSample> samples = parts_.sensor->harvestDsts();
  const uint64_t now = clock_.nowNs();
  sig_responder_->onSamples(now, samples);  // first: a flood detected now has its samples
  ports_->onSamples(now, samples);
  busy = busy || ports_->activeCount() > 0;
  for (const DstSample& d : samples) busy = busy || d.bank_attempts > 0;
  return busy;
}

Result<void> Agent::run() {
  started_ns_ = clock_.nowNs();
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return sysError("sigprocmask");
  Fd sig(signalfd(-1, &mask, SFD_CLOEXEC));
  if (!sig.valid()) return sysError("signalfd");

  SG_TRY(applyConfig(config_));
  local_->sync();
  {
    // Blocks an earlier agent left pinned and the saved permanent ones; then
    // the first sweep, so that no block outlives its expiry across a restart.
    std::lock_guard<std::mutex> lock(mu_);
    book_->restore();
    book_->sweep();
  }
  if (parts_.link) {
    SG_TRY(parts_.link->attach(linkHost(), log_, [this] { return heartbeatCounters(); }));
    parts_.link->setPortFloodStatus([this] {
      std::lock_guard<std::mutex> lock(mu_);
      return ports_->statusJson();
    });
  }
  auto control = ControlServer::open(config_.control_socket, [this](const std::string& line) {
    return handleRequest(line).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  if (!control) return control.error().context("control socket");

  // The metrics thread asks, the loop publishes (see MetricsExchange).
  MetricsExchange exchange;
  exchange.publish(metricsValues());
  std::unique_ptr<MetricsServer> metrics;
  if (!config_.metrics_listen.empty()) {
    auto m = MetricsServer::start(config_.metrics_listen, [&exchange] {
      return renderMetrics(exchange.fresh(std::chrono::milliseconds(250)));
    });
    if (!m) return m.error().context("metrics endpoint");
    metrics = std::move(*m);
  }

  Fd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  Fd sampler(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  auto add = [&](int fd) {
    epoll_event e{EPOLLIN, {.fd = fd}};
    return epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &e);
  };
  int events_fd = parts_.sensor->eventsFd();
  if (add(sig.get()) || add(control->fd()) || add(exchange.requestFd()) || add(timer.get()) ||
      add(sampler.get()) || (events_fd >= 0 && add(events_fd)) ||
      (parts_.host_changes_fd >= 0 && add(parts_.host_changes_fd)) ||
      (parts_.link && add(parts_.link->wakeFd()))) {
    return sysError("epoll_ctl");
  }
  armTimer(timer.get());
  if (sampling()) armSampler(sampler.get(), true);

  nlohmann::json ready = parts_.ready_fields;
  describeConfig(ready);
  ready["control_socket"] = config_.control_socket;
  if (metrics) ready["metrics"] = metrics->bound();
  log_.emit("ready", ready);

  bool running = true;
  while (running) {
    epoll_event evs[8];
    int n = epoll_wait(ep.get(), evs, 8, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sysError("epoll_wait");
    bool rearm = false;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == events_fd) {
        std::lock_guard<std::mutex> lock(mu_);
        (void)book_->pollEvents();  // challenges armed once for the batch
        rearm = true;
      } else if (fd == sig.get()) {
        signalfd_siginfo si{};
        if (read(sig.get(), &si, sizeof si) != sizeof si) continue;
        if (si.ssi_signo == SIGHUP) {
          reload();
        } else {
          running = false;
        }
      } else if (fd == control->fd()) {
        control->onReady();
        rearm = true;
      } else if (fd == exchange.requestFd()) {
        exchange.publish(metricsValues());
      } else if (fd == parts_.host_changes_fd) {
        refreshHostAddresses();
      } else if (parts_.link && fd == parts_.link->wakeFd()) {
        parts_.link->onWake();  // blocks and policy: re-arm for their expiries
        rearm = true;
      } else if (fd == sampler.get()) {
        uint64_t ticks;
        (void)!read(sampler.get(), &ticks, sizeof ticks);
        const bool busy = sampleDsts();
        if (sampling()) armSampler(sampler.get(), busy);
        rearm = true;  // a response may have added prefix blocks
      } else if (fd == timer.get()) {
        uint64_t ticks;
        (void)!read(timer.get(), &ticks, sizeof ticks);
        std::lock_guard<std::mutex> lock(mu_);
        book_->sweep();
        rearm = true;
      }
    }
    if (rearm) armTimer(timer.get());
  }
  if (parts_.link) parts_.link->stop();
  metrics.reset();  // before `exchange`, which its thread uses
  ::unlink(config_.control_socket.c_str());
  return Ok{};
}

}  // namespace sg::agent
