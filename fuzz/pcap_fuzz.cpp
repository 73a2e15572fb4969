// libFuzzer target for the capture readers (classic pcap, pcapng), the link
// conversion and replay: arbitrary bytes must give packets or an error,
// never a crash or a read out of bounds (ASan), and every packet's bytes
// must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/pcap.h"
#include "core/replay.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto packets = sg::readCapture(input);
  if (!packets.ok()) {
    require(packets.error().message().find("byte offset") != std::string::npos);
    return 0;
  }
  for (const sg::CapturedPacket& p : *packets) {
    require(p.bytes.size() <= sg::kMaxCapturedPacket);
    if (!p.bytes.empty())
      require(p.bytes.data() >= data && p.bytes.data() + p.bytes.size() <= data + size);
    auto frame = sg::toEthernetFrame(p.link_type, p.bytes);
    if (frame.ok() && p.link_type != sg::kLinkEthernet) require(frame->bytes.size() >= 14);
  }
  sg::ReplayOptions o;
  o.cfg.window_ns = 1'000'000'000;
  o.cfg.block_ns = 1'000'000'000;
  o.cfg.repeat_memory_ns = 5'000'000'000;
  o.cfg.threshold = 2;
  o.cfg.events_per_sec = 4;
  o.cfg.admit_per_sec = 4;
  o.cfg.admit_min = 2;
  o.cfg.enforce = SG_ENFORCE_XDP;
  o.cfg.v6_prefix_len = 64;
  o.cfg.max_level = 2;
  o.cfg.enabled = 1;
  o.max_sources = 8;
  o.max_blocks = 2;
  auto r = sg::replayPackets(*packets, o);
  if (r.ok()) {
    require(r->summary.packets == packets->size());
    require(r->summary.max_sources_used <= o.max_sources);
    require(r->summary.attempts >= r->summary.distinct_sources);
  }
  return 0;
}
