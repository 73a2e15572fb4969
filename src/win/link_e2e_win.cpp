// win_link_e2e.exe: the Windows agent's console link end to end, for
// tests/windows/console_link_test.sh (under Wine, against a Linux console).
// The agent's parts as syn-guard.exe wires them — WinHTTP WebSocket link with
// the pinned-CA check, ConsoleLinkCore, WinLinkApplier, AttemptPipeline, the
// WFP enforcer — with the two OS layers Wine stubs replaced: WFP by
// FakeWfpApi (every filter checked as the engine would), the ETW session by
// recorded TcpAcceptListenerComplete payloads decoded by the real decoder.
//
//   win_link_e2e --url https://HOST:PORT --ca ca.crt --name N --state DIR
//                --block A --flood-src B [--delta-block C [--cut-off-src D]] [--timeout-s 40]
//     --cut-off-src: once the link drops after the first report's ack (the
//     test stops its relay), a flood from D is detected and queued, and must
//     be acknowledged after the link is back, with the delta C applied.
//     --isolate: then the console's isolation (the test runs `ctl isolate`)
//     becomes WfpIsolation's filter set, and its release (`ctl release`)
//     removes it.
//   win_link_e2e --url ... --ca ... [--cert agent.crt --key agent.key] --connect-only
//     (one attempt; prints why it failed)
//   win_link_e2e --url ... --ca ... --receive-once   (then one message; prints why not)
//   win_link_e2e --url ... --ca ... --refusals N
//     (the link core over WinHTTP against a server that closes each hello with
//     4001: waits for N version step-downs and prints the next offer)
//
// Prints one JSON line per step; exit 0 when every step happened in time.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/console_link_core.h"
#include "files/state_file.h"
#include "win/etw_decode.h"
#include "win/etw_template.h"
#include "win/etw_test_payloads.h"
#include "win/fake_wfp_api.h"
#include "win/link_apply.h"
#include "win/link_runner.h"
#include "win/wfp_enforcer.h"
#include "win/winhttp_ws.h"

namespace sg::win {
namespace {

void out(const nlohmann::json& j) {
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

int fail(const std::string& why) {
  out({{"event", "error"}, {"message", why}});
  return 1;
}

struct Args {
  std::string url, ca, cert, key, name = "win-e2e", state, block, flood_src, delta_block,
                                  cut_off_src;
  int timeout_s = 40;
  bool connect_only = false;
  bool receive_once = false;
  bool isolate = false;
  int refusals = 0;
};

// The recorded 1017 payload with its remote address set and a distinct port
// and Tcb per connection.
std::vector<uint8_t> acceptFrom(const Address& src, uint16_t n) {
  std::vector<uint8_t> p = test::kAcceptV4;
  const auto* a = reinterpret_cast<const uint8_t*>(&src.raw) + 12;
  for (int i = 0; i < 4; i++) p[28 + i] = a[i];
  p[26] = static_cast<uint8_t>(n >> 8);
  p[27] = static_cast<uint8_t>(n);
  p[48] = static_cast<uint8_t>(n);
  p[49] = static_cast<uint8_t>(n >> 8);
  return p;
}

// The console's 4001 close frames, read by the real WinHTTP receive, reach
// the link core: each refused hello is followed by one a version older.
int stepDown(const Args& args, WsConnector& connector, Clock& clock) {
  agent::LinkCoreOptions co;
  co.name = args.name;
  co.agent_version = "0.1.0";
  co.platform = "windows";
  auto core = agent::ConsoleLinkCore::open(co, clock);
  if (!core.ok()) return fail(core.error().message());
  LinkRunnerOptions ro;
  ro.backoff_min = std::chrono::milliseconds(50);
  LinkRunner runner(core->get(), &connector, ro);
  runner.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.timeout_s);
  const auto want = static_cast<uint64_t>(args.refusals);
  // N refusals stepped down, and the link after them (the one offering the
  // stepped-down version) has ended too: the server saw every hello.
  while ((core->get()->counters().version_fallbacks < want || runner.attempts() < want + 2) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const uint64_t fallbacks = core->get()->counters().version_fallbacks;
  out({{"event", "stepped_down"}, {"fallbacks", fallbacks}, {"attempts", runner.attempts()}});
  runner.stop();
  return fallbacks >= want ? 0 : 1;
}

int run(const Args& args) {
  auto url = std::string_view(args.url);
  if (url.substr(0, 8) != "https://") return fail("--url must start with https://");
  const std::string hostport(url.substr(8));
  const size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return fail("--url: expected https://HOST:PORT");
  WinHttpWsOptions wo;
  wo.host = hostport.substr(0, colon);
  wo.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  auto ca = readSmallFile(args.ca);
  if (!ca.ok()) return fail(ca.error().message());
  wo.ca_pem = *ca;
  // Without --cert/--key, no client certificate: Wine's Schannel cannot
  // present the enrolled one (docs/windows-notes.md); the test's relay does,
  // on the Linux side. With them (--connect-only): the attempt that shows why.
  if (!args.cert.empty()) {
    auto cert = readSmallFile(args.cert);
    auto key = readSmallFile(args.key);
    if (!cert.ok() || !key.ok()) return fail("--cert / --key: unreadable");
    wo.cert_pem = *cert;
    wo.key_pem = *key;
  }
  auto connector = WinHttpWsConnector::create(wo);
  if (!connector.ok()) {
    out({{"event", "connect"}, {"ok", false}, {"error", connector.error().message()}});
    return 3;
  }
  if (args.connect_only || args.receive_once) {
    auto c = (*connector)->connect();
    out({{"event", "connect"}, {"ok", c.ok()}, {"error", c.ok() ? "" : c.error().message()}});
    if (!c.ok()) return 3;
    if (args.connect_only) return 0;
    auto m = (*c)->receive();
    out({{"event", "receive"},
         {"ok", m.ok()},
         {"bytes", m.ok() ? m->size() : 0},
         {"error", m.ok() ? "" : m.error().message()}});
    return m.ok() ? 0 : 4;
  }

  MonotonicClock clock;
  if (args.refusals > 0) return stepDown(args, **connector, clock);
  test::FakeWfpApi wfp;
  auto engine = WfpEngine::open(&wfp);
  if (!engine.ok()) return fail(engine.error().message());
  WfpEnforcer enforcer(std::move(engine).value(), &clock);
  AgentConfig config;
  config.threshold = 5;
  if (auto r = enforcer.setAllowlist(effectiveAllowlist(config)); !r.ok()) {
    return fail(r.error().message());
  }
  AttemptPipeline pipeline(config, &enforcer);
  WinLinkApplier applier(&pipeline, effectiveAllowlist(config));
  WfpIsolation isolation(enforcer.sharedEngine());
  auto console_addr = parseAddress(wo.host);
  if (!console_addr.ok()) return fail("--url: the host must be an address here");
  const Address console_address = *console_addr;
  applier.setIsolation(
      &isolation, [console_address] { return std::vector<Address>{console_address}; },
      config.allow);
  size_t filters_before_isolation = 0;

  agent::LinkCoreOptions co;
  co.name = args.name;
  co.agent_version = "0.1.0";
  co.platform = "windows";
  co.state_dir = args.state;
  auto core = agent::ConsoleLinkCore::open(co, clock);
  if (!core.ok()) return fail(core.error().message());
  LinkRunnerOptions ro;
  ro.on_state = [](bool up, const std::string& why) {
    out({{"event", up ? "console_connected" : "console_disconnected"}, {"reason", why}});
  };
  LinkRunner runner(core->get(), connector->get(), ro);
  runner.start();

  auto block = parsePrefix(args.block);
  auto flood = parseAddress(args.flood_src);
  if (!block.ok() || !flood.ok() || !flood->isV4()) return fail("--block / --flood-src");
  std::optional<Prefix> delta;
  if (!args.delta_block.empty()) {
    auto d = parsePrefix(args.delta_block);
    if (!d.ok()) return fail("--delta-block");
    delta = *d;
  }
  const TcpipDecoder decoder(builtinTcpipTemplates());
  // The replayed ETW stream: accepts from one source past the threshold,
  // through the real decoder; each block is reported to the console.
  auto replay = [&](const Address& src, const char* what) -> Result<void> {
    std::vector<sg_event> events;
    for (uint16_t i = 1; i <= 12; i++) {
      const std::vector<uint8_t> payload = acceptFrom(src, i);
      auto ev = decoder.decode(EtwRecordView{1017, 0, true, payload});
      if (!ev.ok()) return ev.error().context("decoding the replayed 1017");
      pipeline.onAttempt(ev->attempt, clock.nowNs(), &events);
    }
    for (const sg_event& e : events) {
      auto r = reportEvent(e, static_cast<uint64_t>(config.window.count()) / 1'000'000,
                           static_cast<uint8_t>(config.ipv6_prefix), clock.nowNs());
      if (r) core->get()->report(*r);
      out({{"event", what},
           {"source", Address{e.src}.str()},
           {"count", e.count},
           {"queue_depth", core->get()->queueDepth()},
           {"wfp_filters", enforcer.filterIds(keyPrefix(Address{e.src}, 64))}});
    }
    return Ok{};
  };
  std::optional<Address> cut_off;
  if (!args.cut_off_src.empty()) {
    auto c = parseAddress(args.cut_off_src);
    if (!c.ok() || !c->isV4()) return fail("--cut-off-src");
    cut_off = *c;
  }
  bool cut_off_replayed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(args.timeout_s);
  auto last_beat = std::chrono::steady_clock::now();
  int phase = 0;
  uint64_t snapshot_version = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t now = clock.nowNs();
    if (std::chrono::steady_clock::now() - last_beat > std::chrono::seconds(1)) {
      core->get()->heartbeatDue();
      last_beat = std::chrono::steady_clock::now();
    }
    serviceLink(**core, applier, pipeline, now);
    (void)enforcer.sweepExpired();
    if (phase == 0 && !enforcer.filterIds(*block).empty()) {
      snapshot_version = applier.appliedVersion();
      out({{"event", "applied"},
           {"version", snapshot_version},
           {"source", block->str()},
           {"wfp_filters", enforcer.filterIds(*block)},
           {"fake_wfp_filters_total", wfp.filters.size()}});
      if (auto r = replay(*flood, "detected"); !r.ok()) return fail(r.error().message());
      phase = 1;
    } else if (phase == 1 && core->get()->queueDepth() == 0) {
      out({{"event", "report_acked"}, {"reports_sent", core->get()->counters().reports_sent}});
      phase = 2;
      if (!delta) break;
      out({{"event", "waiting_delta"}});
    } else if (phase == 2 && cut_off && !cut_off_replayed && !core->get()->connected()) {
      // The link is down (the test stopped the relay): this detection waits
      // in the report queue until the link is back.
      if (auto r = replay(*cut_off, "detected_while_cut_off"); !r.ok()) {
        return fail(r.error().message());
      }
      cut_off_replayed = true;
    } else if (phase == 2 && !enforcer.filterIds(*delta).empty() &&
               (!cut_off ||
                (cut_off_replayed && core->get()->connected() && core->get()->queueDepth() == 0))) {
      if (cut_off) out({{"event", "queued_report_acked"}, {"source", cut_off->str()}});
      out({{"event", "delta_applied"},
           {"version", applier.appliedVersion()},
           {"source", delta->str()},
           {"wfp_filters", enforcer.filterIds(*delta)}});
      phase = 3;
      if (!args.isolate) break;
      filters_before_isolation = wfp.filters.size();
      out({{"event", "waiting_isolation"}});
    } else if (phase == 3 && isolation.isolated()) {
      std::vector<std::string> to;
      for (const Address& a : isolation.spec().console) to.push_back(a.str());
      out({{"event", "isolated"},
           {"version", applier.appliedVersion()},
           {"console", to},
           {"isolation_filters", wfp.filters.size() - filters_before_isolation}});
      out({{"event", "waiting_release"}});
      phase = 4;
    } else if (phase == 4 && !isolation.isolated()) {
      out({{"event", "released"},
           {"version", applier.appliedVersion()},
           {"isolation_filters", wfp.filters.size() - filters_before_isolation}});
      phase = 5;
      break;
    }
  }
  const bool done = args.isolate ? phase == 5 : delta ? phase == 3 : phase == 2;
  // The ack of the last version went out in serviceLink; a heartbeat says it
  // again before the link closes.
  core->get()->heartbeatDue();
  serviceLink(**core, applier, pipeline, clock.nowNs());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto c = core->get()->counters();
  out({{"event", done ? "done" : "timeout"},
       {"phase", phase},
       {"messages_in", c.messages_in},
       {"messages_out", c.messages_out},
       {"rejected", c.rejected},
       {"last_error", core->get()->lastError()}});
  runner.stop();
  return done ? 0 : 1;
}

}  // namespace
}  // namespace sg::win

int main(int argc, char** argv) {
  sg::win::Args a;
  for (int i = 1; i < argc; i++) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (k == "--url")
      a.url = next();
    else if (k == "--ca")
      a.ca = next();
    else if (k == "--cert")
      a.cert = next();
    else if (k == "--key")
      a.key = next();
    else if (k == "--name")
      a.name = next();
    else if (k == "--state")
      a.state = next();
    else if (k == "--block")
      a.block = next();
    else if (k == "--flood-src")
      a.flood_src = next();
    else if (k == "--delta-block")
      a.delta_block = next();
    else if (k == "--cut-off-src")
      a.cut_off_src = next();
    else if (k == "--timeout-s")
      a.timeout_s = std::stoi(next());
    else if (k == "--connect-only")
      a.connect_only = true;
    else if (k == "--receive-once")
      a.receive_once = true;
    else if (k == "--isolate")
      a.isolate = true;
    else if (k == "--refusals")
      a.refusals = std::stoi(next());
    else {
      std::fprintf(stderr, "unknown argument %s\n", k.c_str());
      return 2;
    }
  }
  return sg::win::run(a);
}
