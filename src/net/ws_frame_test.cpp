#include "net/ws_frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace sg::net {
namespace {

using Kind = WsEvent::Kind;
constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// Feeds `bytes` in pieces of `step` and collects every event.
std::vector<WsEvent> parseAll(WsFrameParser& p, const std::string& bytes, size_t step) {
  std::vector<WsEvent> out;
  size_t at = 0;
  while (at < bytes.size() && !p.failed()) {
    const std::string_view piece(bytes.data() + at, std::min(step, bytes.size() - at));
    size_t off = 0;
    do {
      WsEvent ev;
      off += p.feed(piece.substr(off), ev);
      if (ev.kind != Kind::kNone) out.push_back(std::move(ev));
    } while (off < piece.size() && !p.failed());
    at += piece.size();
  }
  return out;
}

std::string masked(WsOpcode op, std::string_view payload) {
  std::string out;
  appendWsFrame(out, op, payload, kMask);
  return out;
}

// One frame, not final: the first byte without FIN.
std::string fragment(WsOpcode op, std::string_view payload) {
  std::string f = masked(op, payload);
  f[0] = static_cast<char>(f[0] & 0x7F);
  return f;
}

WsEvent single(const std::string& bytes, size_t max = 1 << 20, bool server = true) {
  WsFrameParser p(max, server);
  auto events = parseAll(p, bytes, bytes.size() + 1);
  return events.empty() ? WsEvent{} : events.back();
}

TEST(WsFrameTest, RoundTripsMessagesOfEveryLengthEncodingInAnySplit) {
  for (size_t len : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
    const std::string payload(len, 'a');
    const std::string bytes = masked(WsOpcode::kText, payload) + masked(WsOpcode::kText, "next");
    for (size_t step : {1u, 3u, 7u, 4096u, 1u << 20}) {
      WsFrameParser p(1 << 20, true);
      auto events = parseAll(p, bytes, step);
      ASSERT_EQ(events.size(), 2u) << "len " << len << " step " << step;
      EXPECT_EQ(events[0].kind, Kind::kText);
      EXPECT_EQ(events[0].payload, payload);
      EXPECT_EQ(events[1].payload, "next");
    }
  }
}

TEST(WsFrameTest, ServerFramesAreUnmaskedAndAClientReadsThem) {
  std::string bytes;
  appendWsFrame(bytes, WsOpcode::kText, "{\"type\":\"delta\"}");
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(bytes[1]), 16);  // no mask bit
  auto ev = single(bytes, 1 << 20, /*server=*/false);
  EXPECT_EQ(ev.kind, Kind::kText);
  EXPECT_EQ(ev.payload, "{\"type\":\"delta\"}");
  // A server refuses it (clients must mask), a client refuses a masked one.
  EXPECT_EQ(single(bytes).kind, Kind::kError);
  EXPECT_EQ(single(bytes).code, kWsCloseProtocolError);
  EXPECT_EQ(single(masked(WsOpcode::kText, "x"), 1 << 20, false).kind, Kind::kError);
}

TEST(WsFrameTest, FragmentsJoinAndControlFramesMayComeBetween) {
  const std::string bytes = fragment(WsOpcode::kText, "hel") + masked(WsOpcode::kPing, "p") +
                            fragment(WsOpcode::kContinuation, "lo ") +
                            masked(WsOpcode::kContinuation, "world");
  WsFrameParser p(1 << 20, true);
  auto events = parseAll(p, bytes, 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, Kind::kPing);
  EXPECT_EQ(events[0].payload, "p");
  EXPECT_EQ(events[1].kind, Kind::kText);
  EXPECT_EQ(events[1].payload, "hello world");
}

TEST(WsFrameTest, CloseFramesCarryCodeAndReason) {
  std::string bytes;
  appendWsClose(bytes, 4001, "unsupported protocol version 3", kMask);
  auto ev = single(bytes);
  EXPECT_EQ(ev.kind, Kind::kClose);
  EXPECT_EQ(ev.code, 4001);
  EXPECT_EQ(ev.payload, "unsupported protocol version 3");
  auto empty = single(masked(WsOpcode::kClose, ""));
  EXPECT_EQ(empty.kind, Kind::kClose);
  EXPECT_EQ(empty.code, kWsCloseNoStatus);
  // The reason is cut to 123 bytes, so the frame stays a valid control frame.
  std::string longer;
  appendWsClose(longer, 1002, std::string(300, 'r'), kMask);
  auto cut = single(longer);
  EXPECT_EQ(cut.kind, Kind::kClose);
  EXPECT_EQ(cut.payload.size(), kWsMaxCloseReason);
}

TEST(WsFrameTest, BinaryMessagesAreReportedAsSuch) {
  auto ev = single(masked(WsOpcode::kBinary, std::string("\x00\xff", 2)));
  EXPECT_EQ(ev.kind, Kind::kBinary);
  EXPECT_EQ(ev.payload.size(), 2u);
}

TEST(WsFrameTest, TooLargeIsRefusedFromTheHeaderBeforeThePayloadIsHeld) {
  // Only the header of a 1 MiB frame: refused at once with 1009.
  std::string bytes = masked(WsOpcode::kText, std::string(1 << 20, 'x')).substr(0, 14);
  WsFrameParser p(1024, true);
  WsEvent ev;
  p.feed(bytes, ev);
  EXPECT_EQ(ev.kind, Kind::kError);
  EXPECT_EQ(ev.code, kWsCloseTooBig);
  EXPECT_EQ(p.held(), 0u);
  // Fragments count together.
  const std::string frags = fragment(WsOpcode::kText, std::string(600, 'a')) +
                            masked(WsOpcode::kContinuation, std::string(600, 'b'));
  EXPECT_EQ(single(frags, 1024).code, kWsCloseTooBig);
  EXPECT_EQ(single(masked(WsOpcode::kText, std::string(1024, 'a')), 1024).kind, Kind::kText);
}

TEST(WsFrameTest, MalformedFramesFailWithTheCodeToCloseWith) {
  struct Case {
    const char* name;
    std::string bytes;
    uint16_t code;
  };
  std::string rsv = masked(WsOpcode::kText, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  std::string opcode = masked(WsOpcode::kText, "x");
  opcode[0] = static_cast<char>(0x83);
  std::string long_ping = masked(WsOpcode::kPing, std::string(126, 'p'));
  std::string frag_ping = fragment(WsOpcode::kPing, "p");
  std::string one_byte_close = masked(WsOpcode::kClose, "\x03");
  std::string bad_code;
  appendWsClose(bad_code, 1005, "", kMask);
  std::string bad_reason;
  appendWsClose(bad_reason, 1000, "\xc3\x28", kMask);
  // 16-bit length holding 5, and 64-bit length holding 200: not minimal.
  std::string non_minimal16 = {'\x81', '\xfe', '\x00', '\x05', 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
  std::string non_minimal64 = {'\x81', '\xff', 0, 0, 0, 0, 0, 0, 0, '\xc8', 0, 0, 0, 0};
  std::string top_bit = {'\x81', '\xff', '\x80', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<Case> cases = {
      {"reserved bits", rsv, kWsCloseProtocolError},
      {"unknown opcode", opcode, kWsCloseProtocolError},
      {"control frame over 125 bytes", long_ping, kWsCloseProtocolError},
      {"fragmented control frame", frag_ping, kWsCloseProtocolError},
      {"continuation first", masked(WsOpcode::kContinuation, "x"), kWsCloseProtocolError},
      {"text inside a fragmented message",
       fragment(WsOpcode::kText, "a") + masked(WsOpcode::kText, "b"), kWsCloseProtocolError},
      {"close of one byte", one_byte_close, kWsCloseProtocolError},
      {"close code 1005 sent", bad_code, kWsCloseProtocolError},
      {"close reason not UTF-8", bad_reason, kWsCloseBadPayload},
      {"text not UTF-8", masked(WsOpcode::kText, "\xed\xa0\x80"), kWsCloseBadPayload},
      {"16-bit length not minimal", non_minimal16, kWsCloseProtocolError},
      {"64-bit length not minimal", non_minimal64, kWsCloseProtocolError},
      {"64-bit length with its top bit", top_bit, kWsCloseProtocolError},
  };
  for (const auto& c : cases) {
    auto ev = single(c.bytes);
    EXPECT_EQ(ev.kind, Kind::kError) << c.name;
    EXPECT_EQ(ev.code, c.code) << c.name << ": " << ev.error;
  }
}

TEST(WsFrameTest, NothingIsTakenAfterAnErrorOrACloseFrame) {
  WsFrameParser p(1 << 20, true);
  std::string bytes;
  appendWsClose(bytes, 1000, "bye", kMask);
  bytes += masked(WsOpcode::kText, "after");
  auto events = parseAll(p, bytes, bytes.size());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kClose);
  WsEvent ev;
  EXPECT_EQ(p.feed("abc", ev), 0u);
  EXPECT_EQ(ev.kind, Kind::kNone);
}

TEST(WsFrameTest, Utf8Validation) {
  EXPECT_TRUE(validUtf8("plain ascii"));
  EXPECT_TRUE(validUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_FALSE(validUtf8("\xc0\xaf"));                             // overlong
  EXPECT_FALSE(validUtf8("\xe2\x82"));                             // cut short
  EXPECT_FALSE(validUtf8("\xf4\x90\x80\x80"));                     // past U+10FFFF
  EXPECT_FALSE(validUtf8("\xff"));
}

}  // namespace
}  // namespace sg::net
