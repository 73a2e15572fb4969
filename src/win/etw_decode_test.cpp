#include "win/etw_decode.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/address.h"
#include "core/tracker.h"
#include "core/tracker_test_util.h"
#include "test_helpers.h"
#include "win/etw_test_payloads.h"

namespace sg::win {
namespace {

EtwRecordView view(uint16_t id, uint8_t version, const std::vector<uint8_t>& bytes,
                   bool pointer64 = true) {
  return EtwRecordView{id, version, pointer64, std::span<const uint8_t>(bytes)};
}

const EventTemplate& builtin(uint16_t id, uint8_t version) {
  static const std::vector<EventTemplate> all = builtinTcpipTemplates();
  for (const EventTemplate& t : all) {
    if (t.id == id && t.version == version) return t;
  }
  std::abort();
}

std::string src(const TcpipEvent& ev) { return Address{ev.attempt.src}.str(); }

// Both paths, which must agree on every payload.
Result<TcpipEvent> both(uint16_t id, uint8_t version, const EtwRecordView& rec) {
  const TcpipKind kind = kindOfTask(builtin(id, version).task);
  auto walked = decodeWithLayout(builtin(id, version), kind, rec);
  auto fast =
      id == 1055 || id == 1063 ? decodeRateLimitFast(kind, rec) : decodeConnectionFast(kind, rec);
  EXPECT_EQ(walked.ok(), fast.ok());
  if (walked.ok() && fast.ok()) {
    EXPECT_EQ(0, std::memcmp(&walked->attempt, &fast->attempt, sizeof(sg_pkt)));
    EXPECT_EQ(walked->status, fast->status);
    EXPECT_EQ(walked->process_id, fast->process_id);
  }
  return fast;
}

TEST(EtwDecode, AcceptOverIpv4IsAnAttemptFromTheRemoteToTheLocalPort) {
  auto ev = both(1017, 0, view(1017, 0, test::kAcceptV4));
  ASSERT_OK(ev);
  EXPECT_EQ(ev->kind, TcpipKind::kAcceptComplete);
  EXPECT_EQ(src(*ev), "198.51.100.7");
  EXPECT_EQ(ev->attempt.family, 4);
  EXPECT_EQ(ev->attempt.dst_port, 443);
  EXPECT_EQ(ev->attempt.src_port, 50000);
  EXPECT_EQ(ev->attempt.kind, SG_PKT_TCP);
  EXPECT_TRUE(sg_pkt_is_attempt(&ev->attempt));
  EXPECT_EQ(ev->process_id, 1234u);
  EXPECT_EQ(ev->status, 0u);
}

TEST(EtwDecode, AcceptVersion1OverIpv6) {
  auto ev = both(1017, 1, view(1017, 1, test::kAcceptV6V1));
  ASSERT_OK(ev);
  EXPECT_EQ(src(*ev), "2001:db8:1:2::99");
  EXPECT_EQ(ev->attempt.family, 6);
  EXPECT_EQ(ev->attempt.dst_port, 80);
  EXPECT_EQ(ev->attempt.src_port, 40000);
  EXPECT_EQ(ev->process_id, 4u);
}

TEST(EtwDecode, ThirtyTwoBitHeaderHasAFourBytePointer) {
  auto ev = both(1017, 0, view(1017, 0, test::kAcceptV4Ptr32, false));
  ASSERT_OK(ev);
  EXPECT_EQ(src(*ev), "198.51.100.7");
  // The 64-bit reading of the same bytes runs out inside Tcb.
  EXPECT_ERROR(both(1017, 0, view(1017, 0, test::kAcceptV4Ptr32, true)), Errc::kInvalidArgument);
}

TEST(EtwDecode, SynAttackEntryCarriesTcpipsCount) {
  auto ev = both(1055, 0, view(1055, 0, test::kSynAttackEntry));
  ASSERT_OK(ev);
  EXPECT_EQ(ev->kind, TcpipKind::kSynAttackEntry);
  EXPECT_EQ(ev->syn_attacks_detected, 3u);
}

TEST(EtwDecode, EveryTruncationIsAnErrorOnBothPaths) {
  for (const auto* bytes : {&test::kAcceptV4, &test::kAcceptV6V1, &test::kSynAttackEntry}) {
    const uint16_t id = bytes == &test::kSynAttackEntry ? 1055 : 1017;
    const uint8_t version = bytes == &test::kAcceptV6V1 ? 1 : 0;
    for (size_t n = 0; n < bytes->size(); n++) {
      std::vector<uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<long>(n));
      EXPECT_FALSE(both(id, version, view(id, version, cut)).ok()) << "cut at " << n;
    }
  }
}

TEST(EtwDecode, BytesAfterTheLastFieldAreIgnored) {
  std::vector<uint8_t> longer = test::kAcceptV4;
  longer.insert(longer.end(), {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_OK(both(1017, 0, view(1017, 0, longer)));
}

std::vector<uint8_t> patched(std::vector<uint8_t> b, size_t at, std::vector<uint8_t> bytes) {
  std::memcpy(b.data() + at, bytes.data(), bytes.size());
  return b;
}

TEST(EtwDecode, MalformedPayloadsAreErrors) {
  // A length past the end (and one that would wrap a 32-bit offset).
  EXPECT_FALSE(
      both(1017, 0, view(1017, 0, patched(test::kAcceptV4, 0, {0xff, 0xff, 0xff, 0xff}))).ok());
  EXPECT_FALSE(
      both(1017, 0, view(1017, 0, patched(test::kAcceptV4, 20, {0xfc, 0xff, 0xff, 0xff}))).ok());
  // Linux's AF_INET6 (10) is not Windows' (23).
  EXPECT_FALSE(both(1017, 0, view(1017, 0, patched(test::kAcceptV4, 24, {10, 0}))).ok());
  // A SOCKADDR_IN6 family in a 16-byte address.
  EXPECT_FALSE(both(1017, 0, view(1017, 0, patched(test::kAcceptV4, 24, {23, 0}))).ok());
  // Families that differ between local and remote.
  auto mixed = test::kAcceptV6V1;
  EXPECT_FALSE(both(1017, 1, view(1017, 1, patched(mixed, 36, {2, 0}))).ok());
  // A zero-length remote address.
  std::vector<uint8_t> no_remote(test::kAcceptV4.begin(), test::kAcceptV4.begin() + 20);
  no_remote.insert(no_remote.end(), {0, 0, 0, 0});
  no_remote.insert(no_remote.end(), test::kAcceptV4.begin() + 40, test::kAcceptV4.end());
  EXPECT_FALSE(both(1017, 0, view(1017, 0, no_remote)).ok());
}

TEST(EtwDecode, DecoderRoutesByTaskNameAndVersion) {
  const TcpipDecoder d(builtinTcpipTemplates());
  EXPECT_TRUE(d.problems().empty());
  ASSERT_EQ(d.routes().size(), 6u);
  for (const auto& r : d.routes()) EXPECT_TRUE(r.fast) << r.layout.task;
  // An id the decoder does not use, and a version it was not given.
  auto other = d.decode(view(1465, 0, test::kSourceConstraint));
  ASSERT_OK(other);
  EXPECT_EQ(other->kind, TcpipKind::kOther);
  auto v2 = d.decode(view(1017, 2, test::kAcceptV4));
  ASSERT_OK(v2);
  EXPECT_EQ(v2->kind, TcpipKind::kOther);
  auto ok = d.decode(view(1017, 0, test::kAcceptV4));
  ASSERT_OK(ok);
  EXPECT_EQ(ok->kind, TcpipKind::kAcceptComplete);
}

TEST(EtwDecode, ADifferentLayoutFromTdhIsWalkedNotReadAtFixedOffsets) {
  // This host's TDH says the accept event has another id and Status first.
  EventTemplate t = builtin(1017, 0);
  t.id = 1099;
  std::rotate(t.fields.begin(), t.fields.begin() + 4, t.fields.begin() + 5);
  ASSERT_EQ(t.fields[0].name, "Status");
  for (auto& f : t.fields) {
    if (f.length_field >= 0) f.length_field += 1;
  }
  const TcpipDecoder d({t});
  ASSERT_EQ(d.routes().size(), 1u);
  EXPECT_FALSE(d.routes()[0].fast);
  EXPECT_EQ(d.problems().size(), 1u);
  std::vector<uint8_t> bytes = {0x05, 0x00, 0x00, 0xc0};  // Status first
  bytes.insert(bytes.end(), test::kAcceptV4.begin(), test::kAcceptV4.begin() + 40);
  bytes.insert(bytes.end(), test::kAcceptV4.begin() + 44, test::kAcceptV4.end());
  auto ev = d.decode(view(1099, 0, bytes));
  ASSERT_OK(ev);
  EXPECT_EQ(src(*ev), "198.51.100.7");
  EXPECT_EQ(ev->status, 0xc0000005u);
  EXPECT_EQ(ev->process_id, 1234u);
}

TEST(EtwDecode, LayoutsThatCannotBeWalkedAreLeftOut) {
  EventTemplate strings = builtin(1017, 0);
  strings.fields[4].type = static_cast<InType>(1);  // a counted Unicode string
  EventTemplate forward = builtin(1016, 0);
  forward.fields[1].length_field = 3;  // a length that comes later
  const TcpipDecoder d({strings, forward});
  EXPECT_TRUE(d.routes().empty());
  EXPECT_EQ(d.problems().size(), 2u);
}

TEST(EtwDecode, TheSeedsEvent1465IsARouteLookupNotAConnection) {
  // Read at the seed's offsets, event 1465 gives the route's destination and
  // a zero port: what the article took for an inbound connection.
  EXPECT_EQ(Address{sg::test::v4(0xcb007105)}.str(), "203.0.113.5");
  EXPECT_EQ(test::kSourceConstraint[12], 0xcb);
  EXPECT_EQ(sg_be16(test::kSourceConstraint.data() + 30), 0);
}

TEST(EtwDecode, AcceptsFeedTheCoreTrackerUnchanged) {
  const TcpipDecoder d(builtinTcpipTemplates());
  Tracker tracker(sg::test::testOptions(10));
  std::vector<sg_event> events;
  uint64_t now = sg::test::kT0;
  for (uint16_t i = 0; i < 12; i++) {
    std::vector<uint8_t> bytes = test::kAcceptV4;
    bytes[26] = static_cast<uint8_t>(i >> 8);  // a new remote port, a new Tcb
    bytes[27] = static_cast<uint8_t>(i);
    bytes[52] = static_cast<uint8_t>(i);
    auto ev = d.decode(view(1017, 0, bytes));
    ASSERT_OK(ev);
    tracker.onPacket(ev->attempt, now, &events);
    now += 1'000'000;
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, static_cast<uint32_t>(SG_EV_BLOCK_ADDED));
  EXPECT_EQ(Address{events[0].src}.str(), "198.51.100.7");
  EXPECT_EQ(events[0].dst_port, 443);
}

TEST(EtwDecode, TheSameEventTwiceIsExcusedAsARepeat) {
  // Same ports and Tcb: the core's retransmission check excuses the copy
  // (within its allowance, threshold / 4).
  const TcpipDecoder d(builtinTcpipTemplates());
  Tracker tracker(sg::test::testOptions(20));
  std::vector<sg_event> events;
  for (int i = 0; i < 3; i++) {
    auto ev = d.decode(view(1017, 0, test::kAcceptV4));
    ASSERT_OK(ev);
    tracker.onPacket(ev->attempt, sg::test::kT0 + static_cast<uint64_t>(i), &events);
  }
  EXPECT_EQ(tracker.counters().c[SG_CNT_RETRANS_EXCUSED], 2u);
}

}  // namespace
}  // namespace sg::win
