// libFuzzer target for the agent link's WebSocket framing (src/net/ws_frame.h):
// the bytes after the first two are fed to a server's parser (masked frames
// expected) and a client's (unmasked), split where the first byte says, under
// the message limit the second byte picks. Nothing may crash; what it holds
// stays within the limit; every text message it yields is UTF-8; and every
// message survives a round trip through the encoder in both directions (a
// broken invariant aborts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/ws_frame.h"

namespace {

using sg::net::WsEvent;

void require(bool ok) {
  if (!ok) std::abort();
}

std::vector<WsEvent> run(std::string_view bytes, size_t step, size_t max, bool server) {
  sg::net::WsFrameParser p(max, server);
  std::vector<WsEvent> out;
  size_t at = 0;
  while (at < bytes.size() && !p.failed()) {
    WsEvent ev;
    const size_t n = p.feed(bytes.substr(at, step), ev);
    require(n <= step);
    at += n;
    require(p.held() <= max + sg::net::kWsMaxControlPayload);
    if (ev.kind == WsEvent::Kind::kNone) {
      require(n == std::min(step, bytes.size() - (at - n)));  // all taken, no event
      continue;
    }
    if (ev.kind == WsEvent::Kind::kText) require(sg::net::validUtf8(ev.payload));
    if (ev.kind == WsEvent::Kind::kText || ev.kind == WsEvent::Kind::kBinary) {
      require(ev.payload.size() <= max);
    }
    out.push_back(std::move(ev));
  }
  return out;
}

void roundTrip(const WsEvent& ev, size_t max) {
  if (ev.kind != WsEvent::Kind::kText && ev.kind != WsEvent::Kind::kBinary) return;
  const auto op =
      ev.kind == WsEvent::Kind::kText ? sg::net::WsOpcode::kText : sg::net::WsOpcode::kBinary;
  static constexpr uint8_t kMask[4] = {1, 2, 3, 4};
  for (bool server : {true, false}) {
    std::string frame;
    sg::net::appendWsFrame(frame, op, ev.payload, server ? kMask : nullptr);
    auto back = run(frame, frame.size(), max, server);
    require(back.size() == 1 && back[0].kind == ev.kind && back[0].payload == ev.payload);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t step = 1 + data[0] % 64;
  const size_t max = 1 + size_t{data[1]} * 16;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  for (bool server : {true, false}) {
    for (const WsEvent& ev : run(bytes, step, max, server)) roundTrip(ev, max);
  }
  return 0;
}
