#include "proto/codec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proto/limits.h"
#include "proto/proto_test_util.h"
#include "test_helpers.h"

namespace sg::proto {
namespace {

using test::pfx;

template <typename M>
M roundTrip(const AgentMessage& m) {
  auto parsed = parseAgentMessage(encode(m));
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  return std::get<M>(*parsed);
}

template <typename M>
M roundTrip(const ConsoleMessage& m) {
  auto parsed = parseConsoleMessage(encode(m));
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message());
  return std::get<M>(*parsed);
}

TEST(Codec, AgentMessagesRoundTrip) {
  Hello h{"web-1", "0.1.0", "linux", 7, 41};
  EXPECT_EQ(roundTrip<Hello>(h), h);
  Report r{42, 3, {test::sampleEvent()}};
  r.events.push_back(test::sampleEvent());
  r.events[1].kind = EventKind::kFloodDetected;
  r.events[1].source = pfx("2001:db8:1:2::/64");
  EXPECT_EQ(roundTrip<Report>(r), r);
  EXPECT_EQ(roundTrip<Ack>(Ack{7}), Ack{7});
  Nack n{8, {{"block_add", "10.0.0.0/8", "source on allowlist"}}};
  EXPECT_EQ(roundTrip<Nack>(n), n);
  Heartbeat hb{123, 8, 2, {{"syn_seen", 1000}, {"dropped", 5}}};
  EXPECT_EQ(roundTrip<Heartbeat>(hb), hb);
  EXPECT_EQ(roundTrip<Ping>(AgentMessage{Ping{1, 2}}), (Ping{1, 2}));
  EXPECT_EQ(roundTrip<Pong>(AgentMessage{Pong{1, 2, 3}}), (Pong{1, 2, 3}));
}

TEST(Codec, ConsoleMessagesRoundTrip) {
  EXPECT_EQ(roundTrip<Welcome>(Welcome{5, 41}), (Welcome{5, 41}));
  EXPECT_EQ(roundTrip<Snapshot>(test::sampleSnapshot()), test::sampleSnapshot());
  Delta d{7, 9, {}};
  DeltaOp add;
  add.kind = OpKind::kBlockAdd;
  add.block = {pfx("203.0.113.9"), std::nullopt};
  DeltaOp rm;
  rm.kind = OpKind::kBlockRemove;
  rm.block.source = pfx("198.51.100.0/24");
  DeltaOp iso;
  iso.kind = OpKind::kIsolate;
  iso.allowed_peers = {pfx("10.0.0.0/8")};
  DeltaOp rel;
  rel.kind = OpKind::kRelease;
  DeltaOp pol;
  pol.kind = OpKind::kPolicySet;
  pol.policy = test::samplePolicy();
  d.ops = {add, rm, iso, rel, pol};
  EXPECT_EQ(roundTrip<Delta>(d), d);
  EXPECT_EQ(roundTrip<ReportAck>(ReportAck{4}), ReportAck{4});
}

TEST(Codec, WireShapeIsStable) {
  EXPECT_EQ(encode(AgentMessage{Ack{7}}), R"({"type":"ack","v":3,"version":7})");
  EXPECT_EQ(encode(AgentMessage{Ack{7}}, 1), R"({"type":"ack","v":1,"version":7})");
  EXPECT_EQ(encode(ConsoleMessage{ReportAck{3}}), R"({"seq":3,"type":"report_ack","v":3})");
  EXPECT_EQ(encode(ConsoleMessage{ReportAck{3}}, 1), R"({"seq":3,"type":"report_ack","v":1})");
}

void expectRejected(std::string_view bytes, const std::string& needle) {
  auto a = parseAgentMessage(bytes);
  ASSERT_FALSE(a.ok()) << bytes;
  EXPECT_EQ(a.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(a.error().message().find(needle), std::string::npos) << a.error().message();
}

TEST(Codec, RejectsEveryBadInputWithAReason) {
  expectRejected("", "not valid JSON");
  expectRejected("{\"v\":1,", "not valid JSON");
  expectRejected("[1]", "not a JSON object");
  expectRejected(R"({"type":"ack","version":1})", "message.v: missing");
  expectRejected(R"({"v":4,"type":"ack","version":1})", "unsupported protocol version 4");
  expectRejected(R"({"v":0,"type":"ack","version":1})", "unsupported protocol version 0");
  expectRejected(R"({"v":"1","type":"ack","version":1})", "message.v: not an unsigned integer");
  expectRejected(R"({"v":1,"type":"launch","version":1})", "unknown message type 'launch'");
  expectRejected(R"({"v":1,"type":"snapshot","version":1})", "unknown message type 'snapshot'");
  expectRejected(R"({"v":1,"type":"ack"})", "ack.version: missing");
  expectRejected(R"({"v":1,"type":"ack","version":-1})", "not an unsigned integer");
  expectRejected(R"({"v":1,"type":"ack","version":1.5})", "not an unsigned integer");
  expectRejected(R"({"v":1,"type":"ack","version":0})", "starts at 1");
  expectRejected(R"({"v":1,"type":"ack","version":1,"extra":true})", "unknown field 'extra'");
  expectRejected(R"({"v":1,"type":"hello","name":"a b","agent_version":"1","platform":"linux",)"
                 R"("applied_version":0,"acked_report_seq":0})",
                 "hello.name");
  expectRejected(R"({"v":1,"type":"hello","name":"a","agent_version":"1","platform":"beos",)"
                 R"("applied_version":0,"acked_report_seq":0})",
                 "hello.platform");
  expectRejected(R"({"v":1,"type":"nack","version":3,"items":[]})", "empty (send an ack)");
  expectRejected(R"({"v":1,"type":"heartbeat","agent_time_ns":1,"applied_version":1,)"
                 R"("active_blocks":1,"counters":{"x":-1}})",
                 "heartbeat.counters.x");
}

// Acks as encode() writes them are read without a JSON tree; every other
// spelling goes to the full parser. Both must agree on every input.
TEST(Codec, AcksTakeTheShortPathAndAgreeWithTheFullParser) {
  for (uint32_t v = kMinProtocolVersion; v <= kProtocolVersion; ++v) {
    for (uint64_t n : {uint64_t{1}, uint64_t{9}, uint64_t{10}, uint64_t{123456789}, UINT64_MAX - 1,
                       UINT64_MAX}) {
      const std::string bytes = encode(AgentMessage{Ack{n}}, v);
      auto parsed = parseAgentMessage(bytes);
      ASSERT_TRUE(parsed.ok()) << bytes;
      EXPECT_EQ(std::get<Ack>(*parsed), Ack{n}) << bytes;
    }
  }
  // The encoder's exact shape, which the short path reads.
  EXPECT_EQ(encode(AgentMessage{Ack{7}}, 3), R"({"type":"ack","v":3,"version":7})");
  // Equivalent spellings the short path leaves alone: the full parser takes them.
  for (const char* ok :
       {R"({"v":3,"type":"ack","version":7})", R"({"type":"ack","v":3,"version":7} )",
        R"({"type":"ack", "v":3,"version":7})", R"({"type":"ac\u006b","v":3,"version":7})",
        R"({"type":"ack","v":3,"version":7.0e0})"}) {
    auto parsed = parseAgentMessage(ok);
    if (parsed.ok()) {
      EXPECT_EQ(std::get<Ack>(*parsed), Ack{7}) << ok;
    }
  }
  // What the full parser refuses stays refused, with its reason.
  expectRejected(R"({"type":"ack","v":3,"version":0})", "starts at 1");
  expectRejected(R"({"type":"ack","v":3,"version":07})", "not valid JSON");
  expectRejected(R"({"type":"ack","v":4,"version":7})", "unsupported protocol version 4");
  expectRejected(R"({"type":"ack","v":0,"version":7})", "unsupported protocol version 0");
  expectRejected(R"({"type":"ack","v":3,"version":18446744073709551616})",
                 "not an unsigned integer");
  expectRejected(R"({"type":"ack","v":3,"version":-7})", "not an unsigned integer");
  expectRejected(R"({"type":"ack","v":3,"version":7}})", "not valid JSON");
  expectRejected(R"({"type":"ack","v":3,"version":})", "not valid JSON");
}

TEST(Codec, RejectsBadEvents) {
  auto withEvent = [](const std::string& event) {
    return R"({"v":3,"type":"report","seq":1,"dropped":0,"port_floods":[],"events":[)" + event +
           "]}";
  };
  nlohmann::json good =
      nlohmann::json::parse(encode(AgentMessage{Report{1, 0, {test::sampleEvent()}}}));
  const std::string ev = good["events"][0].dump();
  EXPECT_OK(parseAgentMessage(withEvent(ev)));
  auto mutate = [&](const char* key, nlohmann::json value) {
    auto e = good["events"][0];
    e[key] = std::move(value);
    return withEvent(e.dump());
  };
  expectRejected(mutate("kind", "port_flood"), "unknown event kind");
  expectRejected(mutate("source", "192.0.2.1/24"), "report.events[0].source");
  expectRejected(mutate("source", 7), "report.events[0].source: not a string");
  expectRejected(mutate("dst_port", 65536), "dst_port: 65536 is above 65535");
  expectRejected(mutate("first_attempt_ns", 20'000'000'000ull),
                 "first_attempt_ns after detected_ns");
  expectRejected(mutate("rate", 1'000'000'001), "rate: 1000000001 is above 1000000000");
  expectRejected(mutate("rate", 1.5), "rate: not an unsigned integer");
  auto e = good["events"][0];
  e.erase("count");
  expectRejected(withEvent(e.dump()), "report.events[0].count: missing");
}

// Version 3 adds an event's observed rate: it round-trips there, a version-2
// report leaves it out (and a version-2 parser, an older console's, refuses
// it), and version 3 requires it (0: not observed).
TEST(Codec, Version3EventsCarryTheirObservedRate) {
  const Report r{1, 0, {test::sampleEvent()}, {}};
  ASSERT_NE(r.events[0].rate, 0u);
  auto v3 = parseAgentMessage(encode(AgentMessage{r}, 3));
  ASSERT_OK(v3);
  EXPECT_EQ(std::get<Report>(*v3), r);
  const std::string v2 = encode(AgentMessage{r}, 2);
  EXPECT_EQ(v2.find("\"rate\""), std::string::npos) << v2;
  auto parsed = parseAgentMessage(v2);
  ASSERT_OK(parsed);
  EXPECT_EQ(std::get<Report>(*parsed).events[0].rate, 0u);
  nlohmann::json j = nlohmann::json::parse(encode(AgentMessage{r}, 3));
  j["v"] = 2;
  expectRejected(j.dump(), "report.events[0]: unknown field 'rate'");
  j["v"] = 3;
  j["events"][0].erase("rate");
  expectRejected(j.dump(), "report.events[0].rate: missing");
}

TEST(Codec, RejectsOversizedInput) {
  std::string big(kMaxMessageBytes + 1, ' ');
  expectRejected(big, "over the limit");
  expectRejected(std::string(kMaxDepth + 1, '[') + std::string(kMaxDepth + 1, ']'),
                 "nested deeper");
  // Brackets inside strings do not count as nesting.
  nlohmann::json n =
      nlohmann::json::parse(encode(AgentMessage{Nack{3, {{"x", "y", "[[[[[[[[[[[[[["}}}}));
  EXPECT_OK(parseAgentMessage(n.dump()));
  Report r{1, 0, std::vector<Event>(kMaxEvents + 1, test::sampleEvent())};
  expectRejected(encode(AgentMessage{r}), "report.events: more than 1024 items");
  Nack long_reason{3, {{"block_add", "x", std::string(kMaxStringBytes + 1, 'r')}}};
  expectRejected(encode(AgentMessage{long_reason}), "nack.items[0].reason: longer than 256");
}

TEST(Codec, ConsoleParserRejectsBadInput) {
  auto bad = [](std::string_view bytes, const std::string& needle) {
    auto c = parseConsoleMessage(bytes);
    ASSERT_FALSE(c.ok()) << bytes;
    EXPECT_NE(c.error().message().find(needle), std::string::npos) << c.error().message();
  };
  bad(R"({"v":1,"type":"hello"})", "unknown message type 'hello' from the console");
  bad(R"({"v":1,"type":"delta","from_version":5,"version":5,"ops":[]})", "above from_version");
  bad(R"({"v":1,"type":"delta","from_version":1,"version":2,"ops":[{"op":"nuke"}]})",
      "delta.ops[0].op: unknown op 'nuke'");
  bad(R"({"v":1,"type":"delta","from_version":1,"version":2,"ops":[{"op":"release","source":"1.2.3.4"}]})",
      "unknown field 'source'");
  bad(R"({"v":1,"type":"delta","from_version":1,"version":2,"ops":[{"op":"block_add","source":"1.2.3.4"}]})",
      "expires_in_ms: missing");
  nlohmann::json s = nlohmann::json::parse(encode(ConsoleMessage{test::sampleSnapshot()}));
  s["policy"]["enforcer"] = "wfp";
  bad(s.dump(), "snapshot.policy.enforcer");
  s["policy"]["enforcer"] = "xdp";
  s["policy"]["threshold"] = 0;
  bad(s.dump(), "must be above 0");
}

// The largest list of each kind, with long values, fits kMaxMessageBytes: a
// sender within limits.h never builds a message the peer must refuse.
TEST(Limits, LargestMessagesFitTheByteLimit) {
  Event e = test::sampleEvent();
  e.source = pfx("ffff:ffff:ffff:ffff::/64");
  e.first_attempt_ns = e.detected_ns = UINT64_MAX;
  e.count = UINT32_MAX;
  e.rate = kMaxRate;
  Report r{UINT64_MAX, UINT64_MAX, std::vector<Event>(kMaxEvents, e)};
  EXPECT_LE(encode(AgentMessage{r}).size(), kMaxMessageBytes);
  Snapshot s = test::sampleSnapshot();
  s.blocks.assign(kMaxBlocks,
                  BlockEntry{pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"), kMaxDurationMs});
  s.isolation.allowed_peers.assign(kMaxPeers, pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120"));
  EXPECT_LE(encode(ConsoleMessage{s}).size(), kMaxMessageBytes);
  DeltaOp op;
  op.kind = OpKind::kPolicySet;
  op.policy = PolicyParams{std::string(kMaxPolicyNameBytes, 'p'), kMaxThreshold, kMaxDurationMs,
                           kMaxDurationMs, EnforcerKind::kNftables};
  Delta d{1, 2, std::vector<DeltaOp>(kMaxOps, op)};
  EXPECT_LE(encode(ConsoleMessage{d}).size(), kMaxMessageBytes);
  Nack n{1, std::vector<NackItem>(
                kMaxNackItems, NackItem{"block_add", std::string(64, 't'), std::string(128, 'r')})};
  EXPECT_LE(encode(AgentMessage{n}).size(), kMaxMessageBytes);
}

}  // namespace
}  // namespace sg::proto
