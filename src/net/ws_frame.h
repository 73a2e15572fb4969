// RFC 6455 framing for the agent link after its upgrade (pure: no I/O, no
// Boost), used by the link's own transport (tls_ws_link.h) on both ends.
// The parser takes the bytes TLS decrypted, in any split, and yields whole
// messages and control frames; everything the RFC calls a failure is an
// error with the close code to send (1002 protocol, 1007 bad UTF-8, 1009 too
// large), after which the parser takes nothing more. A message is refused
// as too large from its frame header, before its payload is held.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::net {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline constexpr uint16_t kWsCloseNormal = 1000;
inline constexpr uint16_t kWsCloseProtocolError = 1002;
inline constexpr uint16_t kWsCloseNoStatus = 1005;    // a close frame without a code
inline constexpr uint16_t kWsCloseBadPayload = 1007;  // text not UTF-8; a binary message refused
inline constexpr uint16_t kWsCloseTooBig = 1009;
inline constexpr size_t kWsMaxControlPayload = 125;
inline constexpr size_t kWsMaxCloseReason = 123;

// Appends one final frame. `mask` (4 bytes) is the client's masking key; a
// server passes nullptr and sends unmasked (RFC 6455 5.1).
void appendWsFrame(std::string& out, WsOpcode op, std::string_view payload,
                   const uint8_t* mask = nullptr);
// A close frame's payload: the code, then the reason cut to 123 bytes.
void appendWsClose(std::string& out, uint16_t code, std::string_view reason,
                   const uint8_t* mask = nullptr);

bool validUtf8(std::string_view s);

struct WsEvent {
  enum class Kind : uint8_t { kNone, kText, kBinary, kPing, kPong, kClose, kError };
  Kind kind = Kind::kNone;
  std::string payload;  // message, ping/pong payload, or close reason
  uint16_t code = 0;    // kClose: the peer's code (1005: none); kError: the code to close with
  std::string error;    // kError: what was wrong
};

class WsFrameParser {
 public:
  // A server expects masked frames from its clients, a client unmasked ones.
  WsFrameParser(size_t max_message_bytes, bool expect_masked)
      : max_message_(max_message_bytes), expect_masked_(expect_masked) {}

  // Consumes bytes from `in` until one event is complete (then `ev` holds it)
  // or `in` is used up (ev.kind = kNone); returns how many it took. After an
  // error it takes nothing more.
  size_t feed(std::string_view in, WsEvent& ev);
  bool failed() const { return failed_; }
  // Bytes held for an incomplete message (bounded by the message limit).
  size_t held() const { return message_.size() + control_.size(); }

 private:
  size_t takeHeader(std::string_view in, WsEvent& ev);
  bool startFrame(WsEvent& ev);
  void finishFrame(WsEvent& ev);
  bool fail(WsEvent& ev, uint16_t code, const char* why);

  const size_t max_message_;
  const bool expect_masked_;
  bool failed_ = false;
  // The frame header being read (at most 2 + 8 + 4 bytes).
  std::array<uint8_t, 14> header_{};
  size_t header_have_ = 0;
  bool in_payload_ = false;
  // The frame whose payload is being read.
  uint8_t opcode_ = 0;
  bool fin_ = false;
  bool masked_ = false;
  std::array<uint8_t, 4> mask_{};
  uint64_t remaining_ = 0;
  size_t mask_at_ = 0;
  // The fragmented data message under way, if any.
  bool in_message_ = false;
  uint8_t message_opcode_ = 0;
  std::string message_;
  std::string control_;
};

}  // namespace sg::net
