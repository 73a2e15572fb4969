// Replay over the real attack captures in ../shared/data/captures (skipped
// when absent; never copied into the repository).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "core/replay.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"

namespace sg {
namespace {

using test::kSec;

std::string captureDir() {
  const char* src = std::getenv("SYNGUARD_SOURCE_DIR");
  for (std::string dir : {src ? std::string(src) + "/../shared/data/captures" : std::string(),
                          std::string("/work/shared/data/captures")}) {
    if (!dir.empty() && std::ifstream(dir + "/README.md").good()) return dir;
  }
  return "";
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ReplayOptions options(uint32_t threshold, uint64_t window_s) {
  ReplayOptions o;
  o.cfg = test::testConfig(threshold);  // 60 s blocks, v6 /64, admit 4096/s, admit_min 8
  o.cfg.window_ns = window_s * kSec;
  return o;
}

struct Expected {
  const char* file;
  uint64_t packets;
  uint64_t attempts;
  uint64_t distinct_sources;
};

// Figures as a correct parser sees them (see each comment for the README's).
const Expected kCaptures[] = {
    // README: 37,841 SYNs from 37,623 distinct sources, 22,322 in one second.
    {"pkt.TCP.synflood.spoofed.pcap", 37841, 37841, 37623},
    // README: 9,639 SYN+ECE+CWR, 239 RST, 9,697 distinct sources: that figure
    // counts the RST senders too; 9,639 distinct sources send attempts.
    {"pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng", 9878, 9639, 9639},
    // README: 542 SYN-ACKs, 344 SYNs, 10 SYN+ECE+CWR: 354 attempts, from 53
    // sources (tcpdump agrees).
    {"amp.TCP.syn.optionallyACK.optionallysamePort.pcapng", 896, 354, 53},
    // README: 8,000 packets, 6,651 SYN-ACKs. Among the rest: 4 ARP frames and
    // one genuine SYN (216.223.207.13 -> port 22).
    {"amp.TCP.reflection.SYNACK.pcap", 8000, 1, 1},
};

TEST(ReplayCaptures, DefaultThresholdFlagsNobodyAndStaysBounded) {
  const std::string dir = captureDir();
  if (dir.empty()) GTEST_SKIP() << "captures not present";
  for (const Expected& e : kCaptures) {
    SCOPED_TRACE(e.file);
    ReplayOptions o = options(200, 5);
    o.max_sources = 4096;
    const auto bytes = readFile(dir + "/" + e.file);
    ASSERT_FALSE(bytes.empty());
    auto r = replayCapture(bytes, o);
    ASSERT_OK(r);
    const ReplaySummary& s = r->summary;
    std::printf(
        "%s: packets %lu attempts %lu sources %lu peak/s %lu malformed %lu non-ip %lu "
        "max-state %lu gated %lu (%.3f s)\n",
        e.file, s.packets, s.attempts, s.distinct_sources, s.peak_attempts_per_sec, s.malformed,
        s.non_ip, s.max_sources_used, s.sketch_gated_attempts,
        static_cast<double>(s.duration_ns) / 1e9);
    EXPECT_TRUE(r->detections.empty());
    EXPECT_EQ(s.blocks, 0u);
    EXPECT_EQ(s.dropped, 0u);
    EXPECT_LE(s.max_sources_used, o.max_sources);
    EXPECT_EQ(s.packets, e.packets);
    EXPECT_EQ(s.attempts, e.attempts);
    EXPECT_EQ(s.distinct_sources, e.distinct_sources);
  }
}

TEST(ReplayCaptures, SpoofedFloodPeakSecondAndSketch) {
  const std::string dir = captureDir();
  if (dir.empty()) GTEST_SKIP() << "captures not present";
  auto r = replayCapture(readFile(dir + "/pkt.TCP.synflood.spoofed.pcap"), options(200, 5));
  ASSERT_OK(r);
  EXPECT_EQ(r->summary.peak_attempts_per_sec, 22322u);
  EXPECT_TRUE(r->summary.sketch_gated);  // > 4096 new sources per epoch
  EXPECT_TRUE(r->detections.empty());
}

// 136.243.174.154 sends one SYN every 5 s from the first packet on
// (60 per 5 min); 163.158.248.5 one every ~10 s. Threshold 50 per 5 min must
// catch the first at its 51st SYN, 250 s in, and again (level 1) after its
// block: the SYNs dropped during the block do not count.
TEST(ReplayCaptures, LowThresholdCatchesTheHeavySourceOfTheReflectionCapture) {
  const std::string dir = captureDir();
  if (dir.empty()) GTEST_SKIP() << "captures not present";
  const auto bytes = readFile(dir + "/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng");
  auto r = replayCapture(bytes, options(50, 300));
  ASSERT_OK(r);
  for (const Detection& d : r->detections) {
    std::printf("+%.6fs %s -> %u: %u (level %u)\n", static_cast<double>(d.at_ns) / 1e9,
                d.source.c_str(), d.dst_port, d.count, d.level);
  }
  ASSERT_EQ(r->detections.size(), 2u);
  const Detection& d = r->detections[0];
  EXPECT_EQ(d.source, "136.243.174.154");
  EXPECT_EQ(d.dst_port, 9069);
  EXPECT_EQ(d.count, 51u);
  EXPECT_EQ(d.at_ns, 249'999'977'000ull);  // tcpdump: its 51st SYN, 1624218427.293987
  EXPECT_EQ(r->summary.first_detection_ns, d.at_ns);
  EXPECT_EQ(r->detections[1].source, "136.243.174.154");
  EXPECT_EQ(r->detections[1].level, 1);
  EXPECT_EQ(r->detections[1].block_ns, 120 * kSec);
  // Blocked 250..310 s; the SYNs from 310 s count again: the 51st at ~560 s.
  EXPECT_GT(r->detections[1].at_ns, 555 * kSec);
  EXPECT_LT(r->detections[1].at_ns, 565 * kSec);
}

// Attempt times per source read straight from the frames (Ethernet, an
// optional 802.1Q tag, IPv4 or IPv6 without extension headers, TCP SYN
// without ACK/RST): independent of the parser and of both trackers.
std::map<std::string, std::vector<uint64_t>> attemptsPerSource(const std::vector<uint8_t>& file) {
  std::map<std::string, std::vector<uint64_t>> out;
  auto packets = readCapture(file);
  if (!packets.ok()) return out;
  for (const CapturedPacket& p : *packets) {
    if (p.link_type != kLinkEthernet) continue;
    const std::span<const uint8_t> b = p.bytes;
    size_t off = 12;
    if (b.size() < off + 2) continue;
    uint16_t type = static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
    if (type == 0x8100 && b.size() >= off + 6) {
      off += 4;
      type = static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
    }
    off += 2;
    char text[64];
    size_t l4 = 0;
    if (type == 0x0800 && b.size() >= off + 20 && b[off + 9] == 6) {
      const bool fragment = ((b[off + 6] & 0x1f) | b[off + 7]) != 0;
      if (fragment) continue;
      std::snprintf(text, sizeof(text), "%u.%u.%u.%u", b[off + 12], b[off + 13], b[off + 14],
                    b[off + 15]);
      l4 = off + (b[off] & 0x0fu) * 4;
    } else if (type == 0x86dd && b.size() >= off + 40 && b[off + 6] == 6) {
      // The counting key: the /64.
      std::snprintf(text, sizeof(text), "%x:%x:%x:%x::/64", b[off + 8] << 8 | b[off + 9],
                    b[off + 10] << 8 | b[off + 11], b[off + 12] << 8 | b[off + 13],
                    b[off + 14] << 8 | b[off + 15]);
      l4 = off + 40;
    } else {
      continue;
    }
    if (b.size() < l4 + 14) continue;
    if ((b[l4 + 13] & 0x16) == 0x02) out[text].push_back(p.timestamp_ns);  // SYN, no RST/ACK
  }
  return out;
}

// replay --exact at threshold 1 flags exactly the sources that send two
// attempts or more: in a window longer than the capture, every source seen
// twice; in the default 5 s, every source with two attempts less than 5 s
// apart. Each is flagged once, on its second attempt. The kernel-faithful
// default finds fewer while the sketch gates admission.
TEST(ReplayCaptures, ExactModeFlagsEveryRepeatSourceOfTheSpoofedFlood) {
  const std::string dir = captureDir();
  if (dir.empty()) GTEST_SKIP() << "captures not present";
  const auto bytes = readFile(dir + "/pkt.TCP.synflood.spoofed.pcap");
  std::set<std::string> seen_twice, twice_in_5s;
  for (auto& [source, times] : attemptsPerSource(bytes)) {
    std::sort(times.begin(), times.end());
    if (times.size() >= 2) seen_twice.insert(source);
    for (size_t i = 1; i < times.size(); i++) {
      if (times[i] - times[i - 1] < 5 * kSec) twice_in_5s.insert(source);
    }
  }
  ASSERT_FALSE(seen_twice.empty());
  for (uint64_t window_s : {uint64_t{3600}, uint64_t{5}}) {
    SCOPED_TRACE("window " + std::to_string(window_s) + " s");
    ReplayOptions o = options(1, window_s);
    o.exact = true;
    auto exact = replayCapture(bytes, o);
    ASSERT_OK(exact);
    std::set<std::string> flagged;
    for (const Detection& d : exact->detections) {
      EXPECT_TRUE(flagged.insert(d.source).second) << d.source << " flagged twice";
      EXPECT_EQ(d.count, 2u) << d.source;
    }
    EXPECT_EQ(flagged, window_s == 5 ? twice_in_5s : seen_twice);
    EXPECT_TRUE(exact->summary.exact);
    EXPECT_EQ(exact->summary.max_sources_used, exact->summary.distinct_sources);

    auto kernel = replayCapture(bytes, options(1, window_s));
    ASSERT_OK(kernel);
    EXPECT_FALSE(kernel->summary.exact);
    std::printf("window %lu s: repeat sources %zu; flagged: exact %zu, kernel-faithful %zu\n",
                window_s, window_s == 5 ? twice_in_5s.size() : seen_twice.size(), flagged.size(),
                kernel->detections.size());
  }
}

// The README's per-source figures, read through the detector: in a 1 h window
// (the whole capture is its first window, so counts are exact) a threshold
// just under a source's total catches it on its last SYN, one equal to it never.
TEST(ReplayCaptures, HeavySourceTotalsMatchTheReadme) {
  const std::string dir = captureDir();
  if (dir.empty()) GTEST_SKIP() << "captures not present";
  const auto bytes = readFile(dir + "/amp.TCP.syn.optionallyACK.optionallysamePort.pcapng");
  auto sources = [&](uint32_t threshold) {
    auto r = replayCapture(bytes, options(threshold, 3600));
    std::vector<std::string> out;
    if (r.ok()) {
      for (const Detection& d : r->detections) out.push_back(d.source);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sources(163), V{"136.243.174.154"});
  EXPECT_EQ(sources(164), V{});
  EXPECT_EQ(sources(81), (V{"136.243.174.154", "163.158.248.5"}));
  EXPECT_EQ(sources(82), V{"136.243.174.154"});
}

}  // namespace
}  // namespace sg
