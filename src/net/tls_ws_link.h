// The agent link once its TLS and WebSocket handshakes are done (internal):
// Beast does the handshakes, then the link takes the OpenSSL object and the
// socket and runs the WebSocket itself, with our own framing (ws_frame.h).
// Asio's SSL stream kept two 17 KB buffers and a 2 x 17 KB BIO pair per
// connection and went through several composed operations per message; here
// the SSL object writes to a memory BIO drained straight into the socket and
// reads what the link read, when the socket turned readable, into a buffer
// of the io thread's (until the socket has no more, 256 KB at most per wake),
// and OpenSSL's record buffers are released between records
// (SSL_MODE_RELEASE_BUFFERS), so an idle link holds no buffer: the SSL
// object and the session's state.
//
// Everything runs on the socket's executor (a strand); send(), close() and
// abort() may be called from any thread and post to it. Writes are batched:
// the messages queued when the writer runs go out as one TLS write and, as a
// rule, one sendmsg. The close handshake is the RFC's: a close frame with a
// code and reason, then the peer's close frame (or close_timeout), then TLS
// close_notify and the socket's close.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "net/beast_types.h"
#include "net/ws_frame.h"

namespace sg::net {

struct WsLinkOptions {
  bool server = true;  // a server sends unmasked frames and expects masked ones
  size_t max_message_bytes = 1024 * 1024;
  size_t send_queue = 1024;  // messages; beyond, send() refuses
  // Silent this long: the link ends (timeout); a ping goes out at half of it.
  std::chrono::milliseconds idle_timeout{60'000};
  // After our close frame, how long to wait for the peer's.
  std::chrono::milliseconds close_timeout{5'000};
  bool refuse_binary = true;  // a binary message: closed with 1007 (as Beast did); else ignored
};

// Why a link ended.
struct WsLinkEnd {
  enum class Why : uint8_t {
    kPeerClosed,  // the peer's close frame (code, reason)
    kClosed,      // our close (close()), answered or timed out
    kTooLarge,    // a message over the limit (closed with 1009)
    kProtocol,    // a malformed frame (closed with 1002 or 1007)
    kBinary,      // a binary message refused (closed with 1007)
    kTimeout,     // silent past idle_timeout
    kIo,          // the socket or TLS failed (reason says how)
    kAborted,     // abort()
  };
  Why why = Why::kIo;
  uint16_t code = 0;  // kPeerClosed: the peer's code (1005: none)
  std::string reason;
};

class TlsWsLink : public std::enable_shared_from_this<TlsWsLink> {
 public:
  using TextFn = std::function<void(std::string)>;
  using EndFn = std::function<void(const WsLinkEnd&)>;
  enum class SendResult : uint8_t { kQueued, kClosed, kQueueFull };

  // Takes the SSL object and the socket out of a stream whose handshakes are
  // done (the stream is left empty: destroy it). TLS records the peer sent
  // right after the upgrade (read with it, still encrypted) go to the link,
  // which reads them first; fails when the peer's first frame came in the
  // upgrade answer's own TLS record (Beast may hold part of it).
  static Result<std::shared_ptr<TlsWsLink>> adopt(WsStream& stream, WsLinkOptions options);
  ~TlsWsLink();

  // Starts reading; each text message goes to on_text, and on_end is called
  // once when the link ends (then neither is called again and both are
  // released). On the executor.
  void start(TextFn on_text, EndFn on_end);
  // Queues a text message (any thread).
  SendResult send(std::shared_ptr<const std::string> text);
  // Sends a close frame (code, reason cut to 123 bytes) after everything
  // queued (no send() is taken after it), and ends the link when the peer
  // answers (any thread; once). Queue and answer share close_timeout: what
  // is still queued when it runs out, or when the peer's own close frame
  // comes first, is dropped.
  void close(uint16_t code, std::string reason);
  // Ends the link at once, without a close frame (any thread).
  void abort();
  size_t pendingSends() const;
  SSL* ssl() const { return ssl_; }

  // The ciphertext just read, which the SSL object's read BIO serves
  // (internal: the BIO's callbacks need the type).
  struct ReadWindow {
    const char* data = nullptr;
    size_t size = 0;
  };

  TlsWsLink(const TlsWsLink&) = delete;
  TlsWsLink& operator=(const TlsWsLink&) = delete;

 private:
  TlsWsLink(tcp::socket socket, SSL* ssl, WsLinkOptions options);
  void readSome();
  void onReadable(const beast::error_code& ec);
  void decrypt();
  void onEvent(WsEvent& ev);
  void writeQueued();
  void sendControl(WsOpcode op, std::string_view payload);
  void beginClose(uint16_t code, std::string_view reason, WsLinkEnd end);
  void encrypt(std::string_view plain);
  void flush();
  void armTimer(std::chrono::milliseconds after);
  void onTimer();
  void finish(WsLinkEnd end);
  void sendFin();
  void closeSocket();
  void appendFrame(std::string& out, WsOpcode op, std::string_view payload);
  std::string tlsError(const char* what) const;

  tcp::socket socket_;
  SSL* ssl_;   // owned (one reference)
  BIO* rbio_;  // serves window_
  BIO* wbio_;
  const WsLinkOptions options_;
  WsFrameParser parser_;
  asio::steady_timer timer_;
  uint64_t timer_gen_ = 0;
  ReadWindow window_;     // set while decrypt() runs on bytes just read
  std::string leftover_;  // TLS records that came with the upgrade: start() reads them first
  std::string out_;       // ciphertext the socket did not take at once (an async write is on it)
  bool out_pending_ = false;
  std::string pong_;         // the latest ping's payload, answered at the next flush
  bool pong_due_ = false;    // a pong waits (one at most)
  std::string close_frame_;  // close(): our close frame, behind what was queued
  bool reading_ = false;
  bool seen_ = false;        // bytes arrived since the timer last ran
  bool ping_out_ = false;    // a keep-alive ping is unanswered
  bool close_sent_ = false;  // strand
  bool ended_ = false;       // strand
  bool draining_ = false;    // ended; reading until the peer's FIN before closing
  WsLinkEnd end_;            // why, once close_sent_
  uint64_t mask_state_;      // client: the masking keys' generator
  TextFn on_text_;
  EndFn on_end_;

  mutable std::mutex mu_;  // queue_, closed_, writing_
  std::deque<std::shared_ptr<const std::string>> queue_;
  bool closed_ = false;   // no more sends
  bool writing_ = false;  // a writer run is posted or under way
};

}  // namespace sg::net
