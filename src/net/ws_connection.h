// One WebSocket peer as the application sees it: text messages in through
// WsHandler, out through send(). Thread-safe; writes are serialized by the
// transport. Handlers run on the connection's strand and must not block long.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/http_types.h"

namespace sg::net {

class WsConnection {
 public:
  virtual ~WsConnection() = default;
  // Queues one text message. False when the connection is closed or its send
  // queue is full; a full queue (a peer that does not read) also closes the
  // connection, counted as ws_send_queue_full: the peer resyncs on reconnect.
  virtual bool send(std::string text) = 0;
  // The same for a message rendered once and sent on many connections (a
  // fan-out): the connection keeps a reference, not a copy. The default
  // copies (for connections that cannot share).
  virtual bool sendShared(std::shared_ptr<const std::string> frame) { return send(*frame); }
  // Sends a close frame (normal closure, with a reason: agents read 1000
  // with none before their welcome as an older console's refusal of their
  // protocol version) and ends the connection.
  virtual void close() = 0;
  // The same with a close code and a reason (at most 123 bytes; longer is
  // cut). The default sends a normal closure.
  virtual void closeWith(uint16_t code, const std::string& reason) {
    (void)code;
    (void)reason;
    close();
  }
  virtual const PeerInfo& peer() const = 0;
  virtual uint64_t id() const = 0;  // unique per server run
  // Messages queued and not yet written (a slow reader's backlog).
  virtual size_t pendingSends() const { return 0; }
};

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void onOpen(const std::shared_ptr<WsConnection>& conn) = 0;
  virtual void onText(const std::shared_ptr<WsConnection>& conn, std::string text) = 0;
  // Once per opened connection, whatever ended it.
  virtual void onClose(const std::shared_ptr<WsConnection>& conn, const std::string& reason) = 0;
};

}  // namespace sg::net
