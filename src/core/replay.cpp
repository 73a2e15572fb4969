#include "core/replay.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include "core/allowlist.h"
#include "core/exact_tracker.h"
#include "core/handshake_match.h"
#include "core/tcp_ack.h"
#include "core/tracker.h"
#include "sg_parse.h"
#include "sg_sig.h"
#include "sg_track.h"

namespace sg {

namespace {

struct KeyHash {
  size_t operator()(const sg_addr& a) const {
    return static_cast<size_t>(sg_addr_hash(&a, &processHashKey()));
  }
};
struct KeyEq {
  bool operator()(const sg_addr& a, const sg_addr& b) const {
    return std::memcmp(a.b, b.b, sizeof(a.b)) == 0;
  }
};

Detection toDetection(const sg_event& e, uint8_t v6_prefix_len) {
  Detection d;
  Address a;
  a.raw = e.src;
  d.source = formatSource(a, v6_prefix_len);
  d.dst_port = e.dst_port;
  d.count = e.count;
  d.at_ns = e.ts_ns - kReplayStartNs;
  d.block_ns = e.block_ns;
  d.level = e.level;
  d.enforced = e.type == SG_EV_BLOCK_ADDED;
  d.reason = e.reason;
  return d;
}

// Attempts per second of the capture's own clock.
class PeakRate {
 public:
  void add(uint64_t capture_ts_ns) {
    const uint64_t sec = capture_ts_ns / 1'000'000'000u;
    if (sec != sec_ || n_ == 0) {
      sec_ = sec;
      n_ = 0;
    }
    peak_ = std::max(peak_, ++n_);
  }
  uint64_t peak() const { return peak_; }

 private:
  uint64_t sec_ = 0, n_ = 0, peak_ = 0;
};

// A frame as Ethernet, parsed; kind SG_PKT_MALFORMED when a cooked header
// is cut short. Fails on a link type that cannot be turned into Ethernet.
struct ParsedFrame {
  EthernetFrame frame;
  sg_pkt pkt{};
};
Result<ParsedFrame> parseFrame(const CapturedPacket& cp) {
  ParsedFrame out;
  auto frame = toEthernetFrame(cp.link_type, cp.bytes);
  if (!frame.ok()) {
    if (cp.link_type != kLinkLinuxSll && cp.link_type != kLinkLinuxSll2) return frame.error();
    out.pkt.kind = SG_PKT_MALFORMED;
    return out;
  }
  out.frame = std::move(*frame);
  // Never hand the parser a null pointer (an empty vector's data()): its
  // bounds checks add offsets to the pointer before comparing.
  static const uint8_t kNothing = 0;
  const uint8_t* b = out.frame.bytes.empty() ? &kNothing : out.frame.bytes.data();
  sg_parse_eth(b, b + out.frame.bytes.size(), &out.pkt);
  return out;
}

std::optional<uint32_t> ackOf(const ParsedFrame& f) {
  if (f.pkt.kind != SG_PKT_TCP || (f.pkt.tcp_flags & SG_TCP_ACK) == 0) return std::nullopt;
  return tcpAckNumber(f.frame.bytes);
}

// Whether the capture holds the host's side of its handshakes: a SYN-ACK
// answering one of its SYNs (either direction, any link type). Then replay
// checks each ACK against the SYN-ACK it must acknowledge; a one-direction
// capture (the incoming side only) cannot be checked so.
bool holdsHostAnswers(std::span<const CapturedPacket> packets) {
  HandshakeMatch syns;
  for (const CapturedPacket& cp : packets) {
    auto f = parseFrame(cp);
    if (!f.ok()) return false;                               // replayPackets reports it
    if (sg_pkt_is_attempt(&f->pkt) && !f->frame.outgoing) {  // a client's SYN
      syns.onAttempt(f->pkt, cp.timestamp_ns);
    } else if (syns.isAnswer(f->pkt, ackOf(*f))) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<sg_hash_key> parseHashKey(const std::string& hex) {
  if (hex.size() != 32) {
    return makeError(Errc::kInvalidArgument,
                     "a hash seed is 32 hex digits (128 bits), not " + std::to_string(hex.size()));
  }
  uint64_t k[2] = {0, 0};
  for (size_t i = 0; i < hex.size(); i++) {
    const char c = hex[i];
    uint64_t v = 0;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint64_t>(c - '0');
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
      v = static_cast<uint64_t>((c | 0x20) - 'a' + 10);
    } else {
      return makeError(Errc::kInvalidArgument,
                       std::string("not a hex digit in the hash seed: ") + c);
    }
    k[i / 16] = (k[i / 16] << 4) | v;
  }
  return sg_hash_key{k[0], k[1]};
}

Result<ReplayResult> replayPackets(std::span<const CapturedPacket> packets,
                                   const ReplayOptions& options) {
  TrackerOptions to;
  to.cfg = options.cfg;
  to.cfg.enabled = 1;
  // Replay lists every detection: the ring-buffer budget does not apply.
  to.cfg.events_per_sec = std::numeric_limits<uint32_t>::max();
  to.max_sources = options.max_sources;
  to.hash_key = options.hash_key;
  to.max_blocks = options.max_blocks;
  // The allowlist as the agent gives it to the kernel (IPv6 entries widened
  // to the counting prefix), so replay answers as the agent would.
  to.allow = effectiveAllowlist(options.allow, options.cfg.v6_prefix_len);
  std::optional<Tracker> tracker;
  std::optional<ExactTracker> exact;
  if (options.exact) {
    exact.emplace(ExactOptions{to.cfg, to.allow});
  } else {
    tracker.emplace(to);
  }

  ReplayResult out;
  ReplaySummary& s = out.summary;
  std::unordered_set<sg_addr, KeyHash, KeyEq> sources;
  std::vector<sg_event> events;
  PeakRate rate;
  // The clients' ACKs: per-source and per-port completions.
  HandshakeMatch handshakes(holdsHostAnswers(packets));
  PortReplay ports(options.port_flood, options.hash_key, options.cfg.v6_prefix_len, to.allow);
  ReflectionReplay reflect(options.reflection);
  const uint64_t first = packets.empty() ? 0 : packets.front().timestamp_ns;
  uint64_t now = kReplayStartNs, last_ts = first;

  for (size_t i = 0; i < packets.size(); i++) {
    const CapturedPacket& cp = packets[i];
    s.packets++;
    auto parsed = parseFrame(cp);
    if (!parsed.ok()) return parsed.error().context("packet " + std::to_string(i + 1));
    const EthernetFrame& frame = parsed->frame;
    const sg_pkt& pkt = parsed->pkt;
    const std::optional<uint32_t> ack = ackOf(*parsed);
    if (frame.outgoing) {
      s.outgoing++;
      if (!frame.bytes.empty()) {
        // The host's SYNs start handshakes (reflection); its SYN-ACKs answer
        // the clients' (what their ACKs must acknowledge).
        const uint64_t at = std::max(cp.timestamp_ns, last_ts);
        reflect.onPacket(pkt, at - first);
        (void)handshakes.onPacket(pkt, ack, at);
      }
      continue;
    }
    // The kernel's clock never goes back: a capture out of order holds still.
    if (cp.timestamp_ns > last_ts) last_ts = cp.timestamp_ns;
    now = kReplayStartNs + (last_ts - first);

    sg_sig_fp fp{};
    const bool attempt = sg_pkt_is_attempt(&pkt);
    if (attempt) {  // its fingerprint, as the XDP program takes it (sg_sig.h)
      sg_sig_fp_frame(frame.bytes.data(), frame.bytes.data() + frame.bytes.size(), &fp);
    }
    if (pkt.kind == SG_PKT_MALFORMED) s.malformed++;
    if (pkt.kind == SG_PKT_FRAGMENT) s.fragments++;
    if (pkt.kind == SG_PKT_NON_IP) s.non_ip++;
    if (attempt) {
      s.attempts++;
      rate.add(last_ts);
      sg_addr key = pkt.src;
      sg_mask_source(&key, pkt.family, options.cfg.v6_prefix_len);
      sources.insert(key);
    }
    events.clear();
    const Verdict v =
        exact ? exact->onPacket(pkt, now, &events) : tracker->onPacket(pkt, now, &events);
    if (v == Verdict::kDrop) s.dropped++;
    // A SYN the model dropped is never answered, so never completed; the
    // kernel credits a completion when the stack takes the ACK, after XDP
    // passed it (an ACK is never dropped by a block of scope "attempts").
    bool completes = false;
    if (attempt) {
      if (v == Verdict::kPass) handshakes.onAttempt(pkt, last_ts);
    } else {
      completes = handshakes.onPacket(pkt, ack, last_ts);
    }
    if (completes) s.completions++;
    ports.onPacket(pkt, last_ts - first, attempt ? &fp : nullptr, completes);
    reflect.onPacket(pkt, last_ts - first);
    if (completes && v == Verdict::kPass && tracker) tracker->onCompletion(pkt.src, now);
    for (const sg_event& e : events) {
      if (e.type == SG_EV_BLOCK_ADDED || e.type == SG_EV_FLAGGED) {
        out.detections.push_back(toDetection(e, options.cfg.v6_prefix_len));
      }
    }
    s.max_sources_used = std::max<uint64_t>(s.max_sources_used,
                                            exact ? exact->sourceCount() : tracker->sourceCount());
  }
  s.exact = options.exact;
  s.completions_verified = handshakes.verified();
  s.acks_not_completing = handshakes.refusedAcks();
  s.counters = exact ? exact->counters() : tracker->counters();
  s.distinct_sources = sources.size();
  s.peak_attempts_per_sec = rate.peak();
  s.blocks = s.counters.c[SG_CNT_BLOCKS_ADDED];
  s.block_map_full = s.counters.c[SG_CNT_BLOCK_MAP_FULL];
  s.sketch_gated_attempts = s.counters.c[SG_CNT_SKETCH_GATED];
  s.sketch_gated = s.sketch_gated_attempts > 0;
  s.duration_ns = now - kReplayStartNs;
  out.port_floods = ports.finish(s.duration_ns);
  out.reflection = reflect.finish(s.duration_ns);
  if (!out.detections.empty()) s.first_detection_ns = out.detections.front().at_ns;
  return out;
}

Result<ReplayResult> replayCapture(std::span<const uint8_t> file, const ReplayOptions& options) {
  auto packets = readCapture(file);
  if (!packets.ok()) return packets.error();
  return replayPackets(*packets, options);
}

}  // namespace sg
