// Protocol version 2: report.port_floods, and what versions 1 and 2 accept.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/proto_test_util.h"
#include "test_helpers.h"

namespace sg::proto {
namespace {

using test::pfx;

Report reportWithFloods() {
  Report r{7, 0, {test::sampleEvent()}, {test::samplePortFlood()}};
  PortFloodReport ended = test::samplePortFlood();
  ended.kind = PortFloodKind::kEnded;
  ended.dst = pfx("2001:db8::10");
  ended.top_prefixes.clear();
  ended.response = "none";
  ended.reason = "completion_ratio";
  r.port_floods.push_back(ended);
  return r;
}

void rejected(const std::string& bytes, const std::string& needle) {
  auto a = parseAgentMessage(bytes);
  ASSERT_FALSE(a.ok()) << bytes;
  EXPECT_EQ(a.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(a.error().message().find(needle), std::string::npos) << a.error().message();
}

TEST(PortFloodCodec, ReportRoundTripsAtVersion2) {
  const Report r = reportWithFloods();
  auto parsed = parseAgentMessage(encode(AgentMessage{r}));
  ASSERT_OK(parsed);
  EXPECT_EQ(std::get<Report>(*parsed), r);
  for (auto kind : {PortFloodKind::kDetected, PortFloodKind::kUpdated, PortFloodKind::kEnded}) {
    Report one{1, 0, {}, {test::samplePortFlood()}};
    one.port_floods[0].kind = kind;
    auto again = parseAgentMessage(encode(AgentMessage{one}));
    ASSERT_OK(again);
    EXPECT_EQ(std::get<Report>(*again), one) << portFloodKindName(kind);
  }
}

TEST(PortFloodCodec, Version1HasNoPortFloods) {
  // A version-1 report leaves the field out, and a version-1 parser (what an
  // older console runs) would find it unknown: this one refuses it at v1 too.
  Report r{7, 0, {test::sampleEvent()}, {}};
  const std::string v1 = encode(AgentMessage{r}, 1);
  EXPECT_EQ(v1.find("port_floods"), std::string::npos);
  ASSERT_OK(parseAgentMessage(v1));
  nlohmann::json j = nlohmann::json::parse(encode(AgentMessage{reportWithFloods()}));
  for (auto& e : j["events"]) e.erase("rate");  // version 3's
  j["v"] = 1;
  rejected(j.dump(), "report: unknown field 'port_floods'");
  // Version 2 requires it (an empty list when there is none).
  j["v"] = 2;
  j.erase("port_floods");
  rejected(j.dump(), "report.port_floods: missing");
}

TEST(PortFloodCodec, HelloCarriesItsVersion) {
  Hello h{"web-1", "0.1.0", "linux", 3, 4};
  EXPECT_EQ(h.protocol, kProtocolVersion);
  for (uint32_t v : {1u, 2u, 3u}) {
    h.protocol = v;
    const std::string text = encode(AgentMessage{h});
    EXPECT_EQ(nlohmann::json::parse(text)["v"], v);
    auto parsed = parseAgentMessage(text);
    ASSERT_OK(parsed);
    EXPECT_EQ(std::get<Hello>(*parsed), h);
  }
}

TEST(PortFloodCodec, ConsoleMessagesParseAtBothVersions) {
  for (uint32_t v : {1u, 2u, 3u}) {
    auto parsed = parseConsoleMessage(encode(ConsoleMessage{Welcome{5, 6}}, v));
    ASSERT_OK(parsed);
    EXPECT_EQ(std::get<Welcome>(*parsed), (Welcome{5, 6}));
  }
}

TEST(PortFloodCodec, RejectsEveryBadField) {
  nlohmann::json good =
      nlohmann::json::parse(encode(AgentMessage{Report{1, 0, {}, {test::samplePortFlood()}}}));
  ASSERT_OK(parseAgentMessage(good.dump()));
  auto mutate = [&](const char* key, nlohmann::json value) {
    auto j = good;
    if (value.is_discarded()) {
      j["port_floods"][0].erase(key);
    } else {
      j["port_floods"][0][key] = std::move(value);
    }
    return j.dump();
  };
  const nlohmann::json gone = nlohmann::json::value_t::discarded;
  const std::string at = "report.port_floods[0]";
  rejected(mutate("kind", "started"), at + ".kind: not detected, updated or ended");
  rejected(mutate("kind", 1), at + ".kind: not a string");
  rejected(mutate("dst", "192.0.2.0/24"), at + ".dst: a prefix, not one address");
  rejected(mutate("dst", "192.0.2.300"), at + ".dst");
  rejected(mutate("dst_port", 0), at + ".dst_port: 0");
  rejected(mutate("dst_port", 70000), at + ".dst_port: 70000 is above 65535");
  rejected(mutate("reason", "vibes"), at + ".reason: not rate or completion_ratio");
  rejected(mutate("rate", -1), at + ".rate: not an unsigned integer");
  rejected(mutate("rate", 1.5), at + ".rate: not an unsigned integer");
  rejected(mutate("rate", 30000), at + ".peak_rate: below rate");
  rejected(mutate("rate", 2'000'000'000), at + ".rate: 2000000000 is above");
  rejected(mutate("normal_rate", "many"), at + ".normal_rate: not an unsigned integer");
  rejected(mutate("distinct_sources", gone), at + ".distinct_sources: missing");
  rejected(mutate("completion_permille", 1001), at + ".completion_permille: 1001 is above 1000");
  rejected(mutate("top_prefixes", nlohmann::json::array({1})), at + ".top_prefixes[0]");
  rejected(mutate("top_prefixes",
                  nlohmann::json::parse(R"([{"prefix":"10.0.0.1/8","share_permille":1}])")),
           at + ".top_prefixes[0].prefix");
  rejected(mutate("top_prefixes",
                  nlohmann::json::parse(R"([{"prefix":"10.0.0.0/8","share_permille":1001}])")),
           at + ".top_prefixes[0].share_permille: 1001 is above 1000");
  rejected(mutate("top_prefixes",
                  nlohmann::json::parse(R"([{"prefix":"10.0.0.0/8","share_permille":1,"x":1}])")),
           "unknown field 'x'");
  nlohmann::json nine = nlohmann::json::array();
  for (int i = 0; i < 9; ++i) nine.push_back({{"prefix", "10.0.0.0/8"}, {"share_permille", 1}});
  rejected(mutate("top_prefixes", nine), at + ".top_prefixes: more than 8 items");
  rejected(mutate("response", ""), at + ".response: not lower-case words");
  rejected(mutate("response", "DROP ALL"), at + ".response: not lower-case words");
  rejected(mutate("response", "syncookies+"), at + ".response: not lower-case words");
  rejected(mutate("response", std::string(kMaxResponseBytes + 1, 'a')),
           at + ".response: longer than 64");
  rejected(mutate("attempts", gone), at + ".attempts: missing");
  rejected(mutate("first_ns", 20'000'000'000ull), at + ".at_ns: before first_ns");
  rejected(mutate("at_ns", gone), at + ".at_ns: missing");
  // Review finding L1: times are the agent's monotonic clock, bounded.
  rejected(mutate("at_ns", 1ull << 63), at + ".at_ns: 9223372036854775808 is above");
  rejected(mutate("first_ns", kMaxAgentTimeNs + 1), at + ".first_ns: 4611686018427387905 is above");
  rejected(mutate("at_ns", UINT64_MAX), at + ".at_ns: 18446744073709551615 is above");
  rejected(mutate("extra", true), at + ": unknown field 'extra'");
  auto many = good;
  many["port_floods"] = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxPortFloods; ++i)
    many["port_floods"].push_back(good["port_floods"][0]);
  rejected(many.dump(), "report.port_floods: more than 256 items");
}

TEST(PortFloodCodec, LargestReportFitsTheByteLimit) {
  Event e = test::sampleEvent();
  e.source = pfx("ffff:ffff:ffff:ffff::/64");
  e.first_attempt_ns = e.detected_ns = UINT64_MAX;
  e.count = UINT32_MAX;
  PortFloodReport p = test::samplePortFlood();
  p.dst = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  p.rate = p.peak_rate = p.normal_rate = 1'000'000'000;
  p.distinct_sources = p.attempts = UINT64_MAX;
  p.first_ns = p.at_ns = kMaxAgentTimeNs;
  p.reason = "completion_ratio";
  p.response = std::string(kMaxResponseBytes, 'r');
  p.top_prefixes.assign(kMaxTopPrefixes, {pfx("ffff:ffff:ffff::/48"), 1000});
  Report r{UINT64_MAX, UINT64_MAX, std::vector<Event>(kMaxEvents, e),
           std::vector<PortFloodReport>(kMaxPortFloods, p)};
  EXPECT_LE(encode(AgentMessage{r}).size(), kMaxMessageBytes);
}

}  // namespace
}  // namespace sg::proto
