// The console link's transport seam: one WebSocket connection to the
// console's /v1/agent, as text messages. The Windows implementation is
// WinHTTP's WebSocket client over the system's TLS (winhttp_ws_win.cpp); the
// tests use an in-memory pair (fake_ws.h). LinkRunner drives either.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace sg::win {

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
};

class WsConnector {
 public:
  virtual ~WsConnector() = default;
  // One attempt: TCP, TLS (the console's certificate checked against the
  // pinned CA), the HTTP upgrade. The error says which step failed.
  virtual Result<std::unique_ptr<WsConnection>> connect() = 0;
};

}  // namespace sg::win
