// The console link's transport seam: one WebSocket connection to the
// console's /v1/agent, as text messages. The Windows implementation is
// WinHTTP's WebSocket client over the system's TLS (winhttp_ws_win.cpp); the
// tests use an in-memory pair (fake_ws.h). LinkRunner drives either.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"

namespace sg::win {

// The console's close frame: RFC 6455 status code and reason.
struct WsClose {
  uint16_t code = 0;
  std::string reason;
};

class WsConnection {
 public:
  virtual ~WsConnection() = default;
  // Blocks for the next whole text message. kUnavailable when the link
  // closed or broke; kInvalidArgument for a frame the protocol never sends
  // (binary, past proto::kMaxMessageBytes): the caller drops the link.
  virtual Result<std::string> receive() = 0;
  // May run on another thread than receive(); one sender at a time.
  virtual Result<void> sendText(const std::string& text) = 0;
  // Closes the link; a receive() in progress returns kUnavailable.
  virtual void close() = 0;
  // After receive() failed, on its thread: the console's close frame when
  // that is what ended the link (the link core reads a version refusal from
  // it); nullopt when the link broke or this side closed it.
  virtual std::optional<WsClose> peerClose() const = 0;
};

class WsConnector {
 public:
  virtual ~WsConnector() = default;
  // One attempt: TCP, TLS (the console's certificate checked against the
  // pinned CA), the HTTP upgrade. The error says which step failed.
  virtual Result<std::unique_ptr<WsConnection>> connect() = 0;
};

}  // namespace sg::win
