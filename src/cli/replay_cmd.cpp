// syn-guard replay capture.pcap [flags]: what the kernel detector would have
// done with a capture, on the capture's own clock (core/replay.h); with
// --exact, every source counted exactly instead (forensics). Both outputs
// name the mode that answered.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/config.h"
#include "core/duration.h"
#include "core/kernel_config.h"
#include "core/replay.h"
#include "core/signature.h"
#include "sg_handshake.h"

namespace sg::cli {

namespace {

struct ReplayArgs {
  std::string file;
  uint32_t threshold = AgentConfig{}.threshold;
  uint32_t connection_threshold = 0;  // 0: 10x threshold, as the agent
  std::string window = "5s", block = "60s";
  uint32_t ipv6_prefix = AgentConfig{}.ipv6_prefix;
  std::vector<std::string> allow;
  uint32_t max_sources = AgentConfig{}.max_sources;
  bool exact = false;
  std::string hash_seed;  // "": the fixed default key
  bool json = false;
  PortFloodOptions port_flood;
  std::string port_flood_end_after = "3s";
};

// Bounded so a mistaken argument (a disk image) fails cleanly.
constexpr std::streamoff kMaxCaptureBytes = std::streamoff{4} << 30;

Result<std::vector<uint8_t>> readCaptureFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return makeError(Errc::kNotFound, "cannot open " + path + ": " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) return makeError(Errc::kIo, "cannot read " + path);
  if (size > kMaxCaptureBytes) return makeError(Errc::kInvalidArgument, path + " is over 4 GiB");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    return makeError(Errc::kIo, "cannot read " + path);
  }
  return bytes;
}

Result<AgentConfig> toConfig(const ReplayArgs& a) {
  AgentConfig c;
  c.threshold = a.threshold;
  c.connection_threshold = a.connection_threshold;
  auto window = parseDuration(a.window);
  if (!window) return window.error().context("--flood-window");
  c.window = *window;
  auto block = parseDuration(a.block);
  if (!block) return block.error().context("--block-duration");
  c.block_duration = *block;
  c.ipv6_prefix = a.ipv6_prefix;
  c.max_sources = a.max_sources;
  c.port_flood = a.port_flood;
  auto end_after = parseDuration(a.port_flood_end_after);
  if (!end_after) return end_after.error().context("--port-flood-end-after");
  c.port_flood.end_after = *end_after;
  for (const std::string& text : a.allow) {
    auto p = parsePrefix(text);
    if (!p) return p.error().context("--allow " + text);
    c.allow.push_back(*p);
  }
  SG_TRY(validateConfig(c));
  return c;
}

double seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

const char* modeName(const ReplaySummary& s) { return s.exact ? "exact" : "kernel"; }

const char* modeText(const ReplaySummary& s) {
  return s.exact ? "exact (every source counted in a true sliding window; no sketch, no slot "
                   "bound; the kernel may answer differently)"
                 : "kernel (as the XDP program on one CPU: slot array, sketch gating)";
}

std::string prefixList(const std::vector<PrefixShare>& top, size_t n) {
  std::string out;
  for (size_t i = 0; i < top.size() && i < n; i++) {
    char share[32];
    std::snprintf(share, sizeof share, " %.1f%%", top[i].share * 100);
    out += (out.empty() ? "" : ", ") + top[i].prefix.str() + share;
  }
  return out.empty() ? "-" : out;
}

// The signature drop on one flood: what would have been chosen, what it drops.
void printSignature(const ReplaySignature& g) {
  if (g.signatures.empty()) {
    std::printf("         signature: none (%s)\n", g.why.c_str());
    return;
  }
  for (const sg_sig& s : g.signatures) {
    std::printf("         signature: %s\n", describe(s).c_str());
  }
  std::printf("         signature drop: chosen at +%.3fs (%s); drops %" PRIu64 " of the %" PRIu64
              " attempts after it (%.2f%%), %.2f%% of the flood's %" PRIu64 "; matches %" PRIu64
              " of the port's %" PRIu64 " attempts before the flood (%.3f%%)\n",
              seconds(g.chosen_ns.value_or(0)), g.why.c_str(), g.dropped, g.attempts_after,
              g.dropShare() * 100, g.floodShare() * 100, g.flood_attempts, g.normal_matched,
              g.normal_attempts, g.normalShare() * 100);
}

// The aggregate story: port floods (destination side).
void printPortFloods(const ReplayResult& r, const PortFloodOptions& o) {
  for (const ReplayPortFlood& p : r.port_floods) {
    const PortFlood& f = p.flood;
    char end[64];
    std::snprintf(end, sizeof end, "ended at +%.3fs", seconds(f.ended_ns));
    const std::string ended = p.ended ? end : "still on at the end of the capture";
    std::printf(
        "+%.3fs  PORT FLOOD %s (%s): first attempt +%.3fs, detected after %.0f ms; peak "
        "%.0f attempts/s, %" PRIu64 " attempts, ~%" PRIu64 " distinct sources (peak ~%" PRIu64
        " in %s), completion "
        "ratio %.3f; %s\n",
        seconds(f.detected_ns), formatTarget(f.dst, f.dst_port).c_str(), f.reason.c_str(),
        seconds(p.first_packet_ns), static_cast<double>(p.detectionDelayNs()) / 1e6, f.peak_rate,
        f.attempts, f.total_distinct_sources, f.peak_distinct_sources,
        formatDuration(o.rate_window).c_str(), f.completion_ratio, ended.c_str());
    std::printf("         top prefixes: %s (top %zu: %.1f%%)\n",
                prefixList(f.top_prefixes, o.max_prefixes).c_str(),
                static_cast<size_t>(o.max_prefixes), p.concentration * 100);
    std::string resp = p.response.kind();
    for (const Prefix& x : p.response.prefixes) resp += " " + x.str();
    std::printf("         response: %s (%s)\n", resp.c_str(), p.response.why.c_str());
    if (o.signature_drop) printSignature(p.signature);
  }
  if (r.port_floods.empty()) std::printf("no port flood\n");
}

// The aggregate story: SYN-ACK reflection (core/replay_reflect.h).
void printReflection(const ReflectionStory& s, const ReflectionOptions& o) {
  for (const ReplayReflection& x : s.reflections) {
    const Reflection& f = x.reflection;
    char end[64];
    std::snprintf(end, sizeof end, "ended at +%.3fs", seconds(f.ended_ns));
    std::string who;
    for (const SourceShare& t : f.top_sources) who += (who.empty() ? "" : ", ") + t.src;
    std::string ports;
    for (const SourceShare& t : f.top_ports) ports += (ports.empty() ? "" : ", ") + t.src;
    std::printf("+%.3fs  REFLECTION: %" PRIu64
                " SYN-ACKs for no handshake of ours, peak %.0f/s, "
                "from %" PRIu64 " reflectors; %s; response: %s\n",
                seconds(f.detected_ns), f.synacks, f.peak_rate, f.distinct_reflectors,
                x.ended ? end : "still on at the end of the capture", f.dropped ? "drop" : "none");
    std::printf("         top reflectors: %s; their ports: %s\n", who.c_str(), ports.c_str());
  }
  std::printf("SYN-ACKs: %" PRIu64 ", %" PRIu64 " for handshakes the capture never saw start%s\n",
              s.synacks, s.unmatched,
              s.reflections.empty() ? (" (no reflection over " +
                                       std::to_string(static_cast<uint64_t>(o.threshold)) + "/s)")
                                          .c_str()
                                    : "");
}

void printText(const ReplayResult& r, const AgentConfig& c) {
  const std::string window = formatDuration(c.window);
  for (const Detection& d : r.detections) {
    std::printf(
        "+%.3fs  FLOOD %s -> port %u: %u %s in %s, %s %s%s\n", seconds(d.at_ns), d.source.c_str(),
        d.dst_port, d.count,
        d.reason == SG_REASON_HALF_OPEN     ? "half-open attempts"
        : d.reason == SG_REASON_CONNECTIONS ? "attempts (over the connection threshold)"
                                            : "attempts",
        window.c_str(), d.enforced ? "blocked" : "flagged, block",
        formatDuration(Nanos(d.block_ns)).c_str(),
        d.level ? (" (repeat offence, level " + std::to_string(d.level) + ")").c_str() : "");
  }
  if (r.detections.empty()) {
    std::printf("no source crossed %u attempts in %s\n", c.threshold, window.c_str());
  }
  std::printf("\n");
  printPortFloods(r, c.port_flood);
  printReflection(r.reflection, c.reflection);
  const ReplaySummary& s = r.summary;
  std::printf("\nmode: %s\n", modeText(s));
  std::printf("summary: %.3fs of capture, %" PRIu64 " packets", seconds(s.duration_ns), s.packets);
  if (s.outgoing) std::printf(" (%" PRIu64 " outgoing, not replayed)", s.outgoing);
  std::printf("\n  attempts (SYN without ACK/RST): %" PRIu64 " from %" PRIu64
              " distinct sources, peak %" PRIu64 "/s\n",
              s.attempts, s.distinct_sources, s.peak_attempts_per_sec);
  std::printf("  malformed %" PRIu64 ", fragments %" PRIu64 ", non-IP %" PRIu64 "\n", s.malformed,
              s.fragments, s.non_ip);
  std::printf("  handshakes completed: %" PRIu64 " (%s)", s.completions,
              s.completions_verified
                  ? "verified: each ACK acknowledges the host's SYN-ACK"
                  : "completions unverified: the capture holds none of the host's SYN-ACKs");
  if (s.acks_not_completing) {
    std::printf(", %" PRIu64 " ACKs completed nothing", s.acks_not_completing);
  }
  std::printf("\n");
  std::printf("  blocks %" PRIu64 ", packets dropped %" PRIu64 "", s.blocks, s.dropped);
  if (s.first_detection_ns)
    std::printf(", first detection at +%.3fs", seconds(*s.first_detection_ns));
  if (s.block_map_full) std::printf(", block map full %" PRIu64 " times", s.block_map_full);
  if (s.exact) {
    std::printf("\n  per-source state: %" PRIu64 " sources, all counted exactly\n",
                s.max_sources_used);
    return;
  }
  std::printf("\n  exact per-source state: peak %" PRIu64 " of %u slots; sketch gating: %s\n",
              s.max_sources_used, c.max_sources,
              s.sketch_gated ? ("yes, " + std::to_string(s.sketch_gated_attempts) +
                                " attempts kept in the sketch only")
                                   .c_str()
                             : "no");
}

nlohmann::json toJson(const ReplayResult& r) {
  nlohmann::json dets = nlohmann::json::array();
  for (const Detection& d : r.detections) {
    dets.push_back({{"source", d.source},
                    {"dst_port", d.dst_port},
                    {"count", d.count},
                    {"at_ns", d.at_ns},
                    {"at_s", seconds(d.at_ns)},
                    {"block_ns", d.block_ns},
                    {"block", formatDuration(Nanos(d.block_ns))},
                    {"level", d.level},
                    {"threshold", reasonName(d.reason)},
                    {"enforced", d.enforced}});
  }
  const ReplaySummary& s = r.summary;
  nlohmann::json sum = {{"mode", modeName(s)},
                        {"packets", s.packets},
                        {"outgoing", s.outgoing},
                        {"attempts", s.attempts},
                        {"distinct_sources", s.distinct_sources},
                        {"malformed", s.malformed},
                        {"fragments", s.fragments},
                        {"non_ip", s.non_ip},
                        {"dropped", s.dropped},
                        {"peak_attempts_per_sec", s.peak_attempts_per_sec},
                        {"blocks", s.blocks},
                        {"block_map_full", s.block_map_full},
                        {"duration_ns", s.duration_ns},
                        {"first_detection_ns", nullptr},
                        {"max_sources_used", s.max_sources_used},
                        {"sketch_gated", s.sketch_gated},
                        {"sketch_gated_attempts", s.sketch_gated_attempts},
                        {"completions", s.completions},
                        {"completions_verified", s.completions_verified},
                        {"acks_not_completing", s.acks_not_completing}};
  if (s.first_detection_ns) sum["first_detection_ns"] = *s.first_detection_ns;
  nlohmann::json floods = nlohmann::json::array();
  for (const ReplayPortFlood& p : r.port_floods) {
    const PortFlood& f = p.flood;
    Address dst;
    dst.raw = f.dst;
    nlohmann::json top = nlohmann::json::array();
    for (const PrefixShare& x : f.top_prefixes) {
      top.push_back({{"prefix", x.prefix.str()}, {"attempts", x.attempts}, {"share", x.share}});
    }
    nlohmann::json blocked = nlohmann::json::array();
    for (const Prefix& x : p.response.prefixes) blocked.push_back(x.str());
    const ReplaySignature& g = p.signature;
    nlohmann::json sigs = nlohmann::json::array();
    for (const sg_sig& x : g.signatures) sigs.push_back(describe(x));
    nlohmann::json signature = {
        {"signatures", sigs},
        {"why", g.why},
        {"chosen_ns", g.chosen_ns ? nlohmann::json(*g.chosen_ns) : nlohmann::json()},
        {"sampled_coverage", g.sampled_coverage},
        {"attempts_after", g.attempts_after},
        {"dropped", g.dropped},
        {"drop_share", g.dropShare()},
        {"flood_attempts", g.flood_attempts},
        {"flood_share", g.floodShare()},
        {"normal_attempts", g.normal_attempts},
        {"normal_matched", g.normal_matched},
        {"normal_share", g.normalShare()}};
    floods.push_back({{"dst", dst.str()},
                      {"dst_port", f.dst_port},
                      {"reason", f.reason},
                      {"first_packet_ns", p.first_packet_ns},
                      {"start_s", seconds(p.first_packet_ns)},
                      {"detected_ns", f.detected_ns},
                      {"detection_delay_ms", static_cast<double>(p.detectionDelayNs()) / 1e6},
                      {"ended", p.ended},
                      {"ended_ns", p.ended ? nlohmann::json(f.ended_ns) : nlohmann::json()},
                      {"peak_rate", f.peak_rate},
                      {"attempts", f.attempts},
                      {"distinct_sources", f.total_distinct_sources},
                      {"peak_distinct_sources", f.peak_distinct_sources},
                      {"completion_ratio", f.completion_ratio},
                      {"top_prefixes", top},
                      {"concentration", p.concentration},
                      {"response", p.response.kind()},
                      {"response_prefixes", blocked},
                      {"response_why", p.response.why},
                      {"signature", signature}});
  }
  nlohmann::json refl = nlohmann::json::array();
  for (const ReplayReflection& x : r.reflection.reflections) {
    nlohmann::json j = reflectionJson(x.reflection, x.ended);
    j["start_s"] = seconds(x.reflection.first_ns);
    j["detected_s"] = seconds(x.reflection.detected_ns);
    j["ended"] = x.ended;
    refl.push_back(j);
  }
  return {{"detections", dets},
          {"port_floods", floods},
          {"reflection",
           {{"synacks", r.reflection.synacks},
            {"unmatched", r.reflection.unmatched},
            {"reflections", refl}}},
          {"summary", sum}};
}

int fail(const std::string& why) {
  std::fprintf(stderr, "syn-guard: replay: %s\n", why.c_str());
  return 2;
}

int run(const ReplayArgs& a) {
  auto config = toConfig(a);
  if (!config) return fail(config.error().message());
  auto bytes = readCaptureFile(a.file);
  if (!bytes) return fail(bytes.error().message());
  ReplayOptions o;
  o.cfg = toKernelConfig(*config);
  o.max_sources = config->max_sources;
  o.max_blocks = config->max_blocks;
  o.allow = config->allow;
  o.exact = a.exact;
  o.port_flood = config->port_flood;
  o.reflection = config->reflection;
  if (!a.hash_seed.empty()) {
    auto key = parseHashKey(a.hash_seed);
    if (!key) return fail(key.error().context("--hash-seed").message());
    o.hash_key = *key;
  }
  auto r = replayCapture(*bytes, o);
  if (!r) return fail(a.file + ": " + r.error().message());
  if (a.json) {
    std::printf("%s\n", toJson(*r).dump().c_str());
  } else {
    printText(*r, *config);
  }
  return 0;
}

}  // namespace

void registerReplay(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ReplayArgs>();
  auto* sub = app.add_subcommand(
      "replay", "Replay a pcap/pcapng capture through the detector, on the capture's clock");
  sub->add_option("capture", args->file, "pcap or pcapng file")->required();
  sub->add_option("--flood-threshold", args->threshold, "Attempts in the window that flag a source")
      ->capture_default_str();
  sub->add_option("--connection-threshold", args->connection_threshold,
                  "Attempts in the window that flag a source even when its handshakes complete "
                  "(0: 10x --flood-threshold, which then counts half-open attempts)")
      ->capture_default_str();
  sub->add_option("--flood-window", args->window, "Sliding window (e.g. 5s)")
      ->capture_default_str();
  sub->add_option("--block-duration", args->block, "Base block duration")->capture_default_str();
  sub->add_option("--ipv6-prefix", args->ipv6_prefix, "IPv6 sources counted per this prefix")
      ->capture_default_str();
  sub->add_option("--allow", args->allow, "Never block this CIDR (repeatable)");
  sub->add_option("--max-sources", args->max_sources,
                  "Slots of exact per-source state (2-way set-associative)")
      ->capture_default_str();
  sub->add_flag("--exact", args->exact,
                "Count every source exactly (true sliding window, no sketch, no slot bound) "
                "instead of as the kernel would");
  sub->add_option("--hash-seed", args->hash_seed,
                  "Key of the source hash (32 hex digits; default: a fixed key). Which sources "
                  "share a slot set or a sketch line depends on it");
  sub->add_option("--port-flood-floor", args->port_flood.floor,
                  "Attempts/s a port must reach to be flooded")
      ->capture_default_str();
  sub->add_option("--port-flood-factor", args->port_flood.factor,
                  "... and this many times its learned normal rate")
      ->capture_default_str();
  sub->add_option("--port-flood-collapse", args->port_flood.collapse,
                  "... or a completion ratio under this share of its normal one (0: off)")
      ->capture_default_str();
  sub->add_option("--port-flood-end-after", args->port_flood_end_after,
                  "A port flood ends after its test failed this long")
      ->capture_default_str();
  sub->add_option("--port-flood-concentration", args->port_flood.concentration,
                  "Share of a flood its top prefixes must hold to be blocked")
      ->capture_default_str();
  sub->add_option("--port-flood-signature-coverage", args->port_flood.signature_coverage,
                  "Share of a flood its signatures must cover to be used")
      ->capture_default_str();
  sub->add_flag("--json", args->json, "One JSON object with detections, port floods and summary");
  sub->callback([args, exit_code] { *exit_code = run(*args); });
}

}  // namespace sg::cli
