#include "net/ws_frame.h"

#include <algorithm>

namespace sg::net {

namespace {

constexpr uint8_t kFin = 0x80;
constexpr uint8_t kRsvBits = 0x70;
constexpr uint8_t kOpcodeBits = 0x0F;
constexpr uint8_t kMaskBit = 0x80;
constexpr uint8_t kLen16 = 126;
constexpr uint8_t kLen64 = 127;

bool isControl(uint8_t op) { return (op & 0x08) != 0; }

bool knownOpcode(uint8_t op) {
  switch (static_cast<WsOpcode>(op)) {
    case WsOpcode::kContinuation:
    case WsOpcode::kText:
    case WsOpcode::kBinary:
    case WsOpcode::kClose:
    case WsOpcode::kPing:
    case WsOpcode::kPong:
      return true;
  }
  return false;
}

// RFC 6455 7.4: codes a peer may send in a close frame.
bool validCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

}  // namespace

void appendWsFrame(std::string& out, WsOpcode op, std::string_view payload, const uint8_t* mask) {
  const uint8_t mask_bit = mask != nullptr ? kMaskBit : 0;
  out.push_back(static_cast<char>(kFin | static_cast<uint8_t>(op)));
  const uint64_t n = payload.size();
  if (n < kLen16) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | kLen16));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | kLen64));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  if (mask == nullptr) {
    out.append(payload);
    return;
  }
  out.append(reinterpret_cast<const char*>(mask), 4);
  const size_t at = out.size();
  out.append(payload);
  for (size_t i = 0; i < payload.size(); ++i)
    out[at + i] = static_cast<char>(out[at + i] ^ mask[i & 3]);
}

void appendWsClose(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask) {
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFF));
  body.append(reason.substr(0, kWsMaxCloseReason));
  appendWsFrame(out, WsOpcode::kClose, body, mask);
}

bool validUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += len;
  }
  return true;
}

bool WsFrameParser::fail(WsEvent& ev, uint16_t code, const char* why) {
  failed_ = true;
  ev.kind = WsEvent::Kind::kError;
  ev.code = code;
  ev.error = why;
  message_.clear();
  message_.shrink_to_fit();
  control_.clear();
  return false;
}

size_t WsFrameParser::takeHeader(std::string_view in, WsEvent& ev) {
  size_t used = 0;
  // The first two bytes say how long the rest of the header is.
  while (header_have_ < 2 && used < in.size()) header_[header_have_++] = in[used++];
  if (header_have_ < 2) return used;
  const uint8_t len7 = header_[1] & 0x7F;
  const size_t ext = len7 == kLen16 ? 2 : (len7 == kLen64 ? 8 : 0);
  const size_t need = 2 + ext + ((header_[1] & kMaskBit) != 0 ? 4 : 0);
  const size_t take = std::min(need - header_have_, in.size() - used);
  std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(used), take,
              header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
  header_have_ += take;
  used += take;
  if (header_have_ == need) {
    if (startFrame(ev)) in_payload_ = true;
    header_have_ = 0;
  }
  return used;
}

// The header is complete: checks it against the RFC and the limits.
bool WsFrameParser::startFrame(WsEvent& ev) {
  const uint8_t b0 = header_[0];
  const uint8_t b1 = header_[1];
  fin_ = (b0 & kFin) != 0;
  opcode_ = b0 & kOpcodeBits;
  masked_ = (b1 & kMaskBit) != 0;
  if ((b0 & kRsvBits) != 0) return fail(ev, kWsCloseProtocolError, "reserved bits set");
  if (!knownOpcode(opcode_)) return fail(ev, kWsCloseProtocolError, "unknown opcode");
  if (masked_ != expect_masked_) {
    return fail(ev, kWsCloseProtocolError, expect_masked_ ? "unmasked frame" : "masked frame");
  }
  const uint8_t len7 = b1 & 0x7F;
  uint64_t len = len7;
  size_t at = 2;
  if (len7 == kLen16) {
    len = (uint64_t{header_[2]} << 8) | header_[3];
    at = 4;
    if (len < kLen16) return fail(ev, kWsCloseProtocolError, "length not minimally encoded");
  } else if (len7 == kLen64) {
    len = 0;
    for (size_t i = 0; i < 8; ++i) len = (len << 8) | header_[2 + i];
    at = 10;
    if ((len >> 63) != 0) return fail(ev, kWsCloseProtocolError, "length's top bit set");
    if (len <= 0xFFFF) return fail(ev, kWsCloseProtocolError, "length not minimally encoded");
  }
  if (masked_) std::copy_n(header_.begin() + static_cast<std::ptrdiff_t>(at), 4, mask_.begin());
  mask_at_ = 0;
  remaining_ = len;
  if (isControl(opcode_)) {
    if (!fin_) return fail(ev, kWsCloseProtocolError, "fragmented control frame");
    if (len > kWsMaxControlPayload)
      return fail(ev, kWsCloseProtocolError, "control frame too long");
    control_.clear();
    return true;
  }
  if (opcode_ == static_cast<uint8_t>(WsOpcode::kContinuation)) {
    if (!in_message_) return fail(ev, kWsCloseProtocolError, "continuation without a message");
  } else {
    if (in_message_) return fail(ev, kWsCloseProtocolError, "new message inside a fragmented one");
    in_message_ = true;
    message_opcode_ = opcode_;
    message_.clear();
  }
  if (len > max_message_ - message_.size()) return fail(ev, kWsCloseTooBig, "message too large");
  message_.reserve(message_.size() + static_cast<size_t>(len));
  return true;
}

// The frame's payload is complete: yields the event it ends, if any.
void WsFrameParser::finishFrame(WsEvent& ev) {
  in_payload_ = false;
  if (isControl(opcode_)) {
    switch (static_cast<WsOpcode>(opcode_)) {
      case WsOpcode::kPing:
        ev.kind = WsEvent::Kind::kPing;
        ev.payload = std::move(control_);
        break;
      case WsOpcode::kPong:
        ev.kind = WsEvent::Kind::kPong;
        ev.payload = std::move(control_);
        break;
      default: {  // close
        if (control_.size() == 1) {
          fail(ev, kWsCloseProtocolError, "close frame of one byte");
          return;
        }
        uint16_t code = kWsCloseNoStatus;
        if (control_.size() >= 2) {
          code = static_cast<uint16_t>((static_cast<uint8_t>(control_[0]) << 8) |
                                       static_cast<uint8_t>(control_[1]));
          if (!validCloseCode(code)) {
            fail(ev, kWsCloseProtocolError, "invalid close code");
            return;
          }
        }
        std::string reason = control_.size() > 2 ? control_.substr(2) : std::string();
        if (!validUtf8(reason)) {
          fail(ev, kWsCloseBadPayload, "close reason not UTF-8");
          return;
        }
        ev.kind = WsEvent::Kind::kClose;
        ev.code = code;
        ev.payload = std::move(reason);
        failed_ = true;  // nothing is read after a close frame
        break;
      }
    }
    control_.clear();
    return;
  }
  if (!fin_) return;
  in_message_ = false;
  if (message_opcode_ == static_cast<uint8_t>(WsOpcode::kText)) {
    if (!validUtf8(message_)) {
      fail(ev, kWsCloseBadPayload, "text message not UTF-8");
      return;
    }
    ev.kind = WsEvent::Kind::kText;
  } else {
    ev.kind = WsEvent::Kind::kBinary;
  }
  ev.payload = std::move(message_);
  message_ = std::string();
}

size_t WsFrameParser::feed(std::string_view in, WsEvent& ev) {
  ev.kind = WsEvent::Kind::kNone;
  size_t used = 0;
  while (!failed_ && ev.kind == WsEvent::Kind::kNone) {
    if (!in_payload_) {
      if (used == in.size()) break;
      used += takeHeader(in.substr(used), ev);
      if (failed_ || !in_payload_) continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - used));
    std::string& into = isControl(opcode_) ? control_ : message_;
    const size_t at = into.size();
    into.append(in.data() + used, take);
    if (masked_) {
      for (size_t i = 0; i < take; ++i) {
        into[at + i] = static_cast<char>(into[at + i] ^ mask_[(mask_at_ + i) & 3]);
      }
      mask_at_ += take;
    }
    used += take;
    remaining_ -= take;
    if (remaining_ == 0) {
      finishFrame(ev);
    } else {
      break;  // the rest of the payload comes with the next bytes
    }
  }
  return used;
}

}  // namespace sg::net
