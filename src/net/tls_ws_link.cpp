#include "net/tls_ws_link.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace sg::net {

namespace {

// Plaintext decrypted per SSL_read (one TLS record at most).
constexpr size_t kPlainChunk = 16 * 1024;
// Ciphertext read per recv, into a buffer of the io thread's (the link holds
// none): four full TLS records.
constexpr size_t kReadChunk = 64 * 1024;
// At most this much is read per wake; then the link waits again behind the
// others (the socket is still readable, so at once): one busy peer cannot
// hold an io thread.
constexpr size_t kReadBudget = 4 * kReadChunk;
// A memory BIO keeps the largest size it held: the write BIO, once it grew
// past this (a snapshot), is replaced once drained, so a link's memory
// returns to its idle size.
constexpr size_t kBioKeepBytes = 64 * 1024;
// At most this much plaintext per TLS write (batched messages).
constexpr size_t kBatchBytes = 64 * 1024;
// While an async write is pending nothing more is sent; what the read path
// still encrypts meanwhile (TLS KeyUpdate answers, our close frame, a ping)
// waits in the write BIO. Past this, the peer asks for answers it does not
// read: the link ends.
constexpr size_t kMaxBackedUpBytes = 16 * 1024;

BIO* newMemBio() {
  BIO* b = BIO_new(BIO_s_mem());
  if (b != nullptr) BIO_set_mem_eof_return(b, -1);  // empty: retry, not EOF
  return b;
}

// Empties a writable memory BIO whose `len` bytes were taken. BIO_reset
// memsets the BIO's whole capacity (up to kBioKeepBytes) in OpenSSL 3; moving
// the read position past the data does not (a library without seek on memory
// BIOs falls back to the reset).
void drainMemBio(BIO* b, long len) {  // NOLINT(google-runtime-int)
  if (BIO_seek(b, len) != len) (void)BIO_reset(b);
}

size_t bioCapacity(BIO* b) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(b, &mem);
  return mem != nullptr ? mem->max : 0;
}

// The read side's BIO: it holds no bytes of its own but serves the window
// of ciphertext the link just read (TlsWsLink::ReadWindow) and says "retry"
// once that is used up. OpenSSL reads a record's header, then its body
// (read-ahead is off), so what it took of a record the window ended in waits
// in its own record buffer for the next read, and a window is always used up
// when SSL_read wants more.
int windowRead(BIO* b, char* out, int len) {
  auto* w = static_cast<TlsWsLink::ReadWindow*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (w == nullptr || w->size == 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  const size_t n = std::min(w->size, static_cast<size_t>(std::max(len, 0)));
  std::memcpy(out, w->data, n);
  w->data += n;
  w->size -= n;
  return static_cast<int>(n);
}

long windowCtrl(BIO*, int cmd, long, void*) {  // NOLINT(google-runtime-int)
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;  // pending: 0 (OpenSSL asks only to decide on read-ahead)
  }
}

int windowCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* windowMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sg read window");
    if (m != nullptr) {
      BIO_meth_set_read(m, windowRead);
      BIO_meth_set_ctrl(m, windowCtrl);
      BIO_meth_set_create(m, windowCreate);
    }
    return m;
  }();
  return method;
}

}  // namespace

Result<std::shared_ptr<TlsWsLink>> TlsWsLink::adopt(WsStream& stream, WsLinkOptions options) {
  SSL* ssl = stream.next_layer().native_handle();
  // Plaintext OpenSSL decrypted and Beast did not take: the peer's first
  // frame came in the upgrade answer's own TLS record, and its start may be
  // in Beast's read buffer, out of reach. Neither end of the link does that.
  if (SSL_pending(ssl) > 0) {
    return Error(Errc::kInvalidArgument, "the peer spoke in the upgrade's own TLS record");
  }
  const BIO_METHOD* window = windowMethod();
  BIO* r = window != nullptr ? BIO_new(window) : nullptr;
  BIO* w = newMemBio();
  if (r == nullptr || w == nullptr) {
    BIO_free(r);
    BIO_free(w);
    return Error(Errc::kResourceExhausted, "BIO_new");
  }
  // TLS records that came in the same read as the upgrade (a console that
  // closes the link at once: a revoked endpoint) wait in the engine's BIO
  // pair: the link keeps them, and start() decrypts them first.
  std::string leftover;
  if (BIO* in = SSL_get_rbio(ssl); in != nullptr) {
    char buf[4096];
    while (BIO_ctrl_pending(in) > 0) {
      const int n = BIO_read(in, buf, sizeof buf);
      if (n <= 0) {
        BIO_free(r);
        BIO_free(w);
        return Error(Errc::kIo, "the upgrade's leftover TLS bytes");
      }
      leftover.append(buf, static_cast<size_t>(n));
    }
  }
  // Asio's engine frees its reference to the SSL object with the stream; the
  // link holds its own. The engine's BIO pair is replaced (its half in the
  // SSL object freed here, the other by the engine).
  SSL_up_ref(ssl);
  SSL_set_bio(ssl, r, w);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);  // Asio set it too; the link relies on it
  // Asio set partial writes too: SSL_write would stop after one record.
  SSL_clear_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
  tcp::socket socket = beast::get_lowest_layer(stream).release_socket();
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) {
    SSL_free(ssl);
    return Error(Errc::kIo, "non-blocking socket: " + ec.message());
  }
  auto link = std::shared_ptr<TlsWsLink>(new TlsWsLink(std::move(socket), ssl, options));
  link->leftover_ = std::move(leftover);
  return link;
}

TlsWsLink::TlsWsLink(tcp::socket socket, SSL* ssl, WsLinkOptions options)
    : socket_(std::move(socket)),
      ssl_(ssl),
      rbio_(SSL_get_rbio(ssl)),
      wbio_(SSL_get_wbio(ssl)),
      options_(options),
      parser_(options.max_message_bytes, options.server),
      timer_(socket_.get_executor()),
      mask_state_(0) {
  BIO_set_data(rbio_, &window_);
  if (!options_.server) {
    // RFC 6455 5.3: the client's masking keys must be unpredictable: a
    // generator seeded from OpenSSL's CSPRNG per link.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&mask_state_), sizeof mask_state_) != 1) {
      mask_state_ = reinterpret_cast<uintptr_t>(this) ^ 0x9E3779B97F4A7C15ULL;
    }
    mask_state_ |= 1;
  }
}

TlsWsLink::~TlsWsLink() { SSL_free(ssl_); }

std::string TlsWsLink::tlsError(const char* what) const {
  const unsigned long e = ERR_get_error();  // NOLINT(google-runtime-int)
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + (e != 0 ? buf : "TLS error");
}

void TlsWsLink::start(TextFn on_text, EndFn on_end) {
  on_text_ = std::move(on_text);
  on_end_ = std::move(on_end);
  armTimer(options_.idle_timeout / 2);
  if (!leftover_.empty()) {  // records that came with the upgrade (adopt)
    const std::string bytes = std::exchange(leftover_, std::string());
    seen_ = true;
    window_ = {bytes.data(), bytes.size()};
    decrypt();
    window_ = {};
    if (ended_) return;
    flush();
    if (ended_) return;
  }
  readSome();
}

// Waits for the socket to turn readable; the bytes are read then, into the
// io thread's buffer, so an idle link holds no read buffer.
void TlsWsLink::readSome() {
  reading_ = true;
  socket_.async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](const beast::error_code& ec) { self->onReadable(ec); });
}

void TlsWsLink::onReadable(const beast::error_code& wait_ec) {
  reading_ = false;
  if (!draining_ && ended_) return;
  beast::error_code ec = wait_ec;
  thread_local std::array<char, kReadChunk> buf;
  size_t taken = 0;
  while (!ec && taken < kReadBudget) {
    const size_t n = socket_.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      break;
    }
    if (ec) break;
    taken += n;
    if (draining_) continue;  // dropped: the peer's close_notify, what it sent after its close
    seen_ = true;
    window_ = {buf.data(), n};
    decrypt();
    window_ = {};
    if (ended_) return;
    flush();  // a TLS answer (KeyUpdate), a pong, a close frame
    if (ended_) return;
    if (n < buf.size()) break;  // the socket had no more (saves a recv that says EAGAIN)
  }
  if (draining_) {
    if (ec) {
      closeSocket();
    } else {
      readSome();
    }
    return;
  }
  if (ended_) return;
  if (ec) {
    if (close_sent_) {
      finish(end_);  // the peer closed the socket instead of answering: done either way
    } else {
      finish({ec == asio::error::operation_aborted ? WsLinkEnd::Why::kAborted : WsLinkEnd::Why::kIo,
              0, ec == asio::error::eof ? "the peer closed the connection" : ec.message()});
    }
    return;
  }
  readSome();
}

void TlsWsLink::decrypt() {
  char plain[kPlainChunk];
  for (;;) {
    ERR_clear_error();
    const int r = SSL_read(ssl_, plain, sizeof plain);
    if (r <= 0) {
      const int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ) return;
      if (err == SSL_ERROR_ZERO_RETURN) {
        finish(close_sent_ ? end_ : WsLinkEnd{WsLinkEnd::Why::kIo, 0, "TLS closed by the peer"});
      } else {
        finish({WsLinkEnd::Why::kIo, 0, tlsError("TLS read")});
      }
      return;
    }
    std::string_view in(plain, static_cast<size_t>(r));
    while (!in.empty() && !parser_.failed()) {
      WsEvent ev;
      in.remove_prefix(parser_.feed(in, ev));
      if (ev.kind != WsEvent::Kind::kNone) onEvent(ev);
      if (ended_) return;
    }
    // After a close or a malformed frame the parser takes nothing more; what
    // the peer still sends is read and dropped until its close, EOF or the
    // close timeout.
  }
}

void TlsWsLink::onEvent(WsEvent& ev) {
  using Kind = WsEvent::Kind;
  switch (ev.kind) {
    case Kind::kText:
      if (!close_sent_ && on_text_) on_text_(std::move(ev.payload));
      break;
    case Kind::kBinary:
      if (!close_sent_ && options_.refuse_binary) {
        beginClose(kWsCloseBadPayload, "", {WsLinkEnd::Why::kBinary, 0, "binary message"});
      }
      break;
    case Kind::kPing:
      // Answered at the next flush; pings before that are answered by that
      // one pong (RFC 6455 5.5.3), so a peer that pings and does not read
      // has at most one pong waiting.
      if (!close_sent_) {
        pong_ = std::move(ev.payload);
        pong_due_ = true;
      }
      break;
    case Kind::kPong:
      ping_out_ = false;
      break;
    case Kind::kClose:
      if (close_sent_) {
        // The answer to ours, or the peer's own while ours still waited
        // behind the queue: ours answers it now, the rest is dropped.
        if (!close_frame_.empty()) encrypt(std::exchange(close_frame_, std::string()));
        finish(end_);
      } else {
        // Answered with the same code (none when it sent none), then done.
        const uint16_t code = ev.code;
        WsLinkEnd end{WsLinkEnd::Why::kPeerClosed, code, ev.payload};
        std::string frame;
        if (code == kWsCloseNoStatus) {
          appendFrame(frame, WsOpcode::kClose, "");
        } else {
          std::string body{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
          appendFrame(frame, WsOpcode::kClose, body);
        }
        close_sent_ = true;
        encrypt(frame);
        finish(end);
      }
      break;
    case Kind::kError:
      if (!close_sent_) {
        beginClose(
            ev.code, ev.error,
            {ev.code == kWsCloseTooBig ? WsLinkEnd::Why::kTooLarge : WsLinkEnd::Why::kProtocol, 0,
             ev.error});
      }
      break;
    case Kind::kNone:
      break;
  }
}

void TlsWsLink::appendFrame(std::string& out, WsOpcode op, std::string_view payload) {
  if (options_.server) {
    appendWsFrame(out, op, payload);
    return;
  }
  // xorshift64*: a fresh key per frame from the link's seeded state.
  mask_state_ ^= mask_state_ >> 12;
  mask_state_ ^= mask_state_ << 25;
  mask_state_ ^= mask_state_ >> 27;
  const uint64_t v = mask_state_ * 0x2545F4914F6CDD1DULL;
  const uint8_t key[4] = {static_cast<uint8_t>(v >> 32), static_cast<uint8_t>(v >> 40),
                          static_cast<uint8_t>(v >> 48), static_cast<uint8_t>(v >> 56)};
  appendWsFrame(out, op, payload, key);
}

TlsWsLink::SendResult TlsWsLink::send(std::shared_ptr<const std::string> text) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return SendResult::kClosed;
    if (queue_.size() >= options_.send_queue) return SendResult::kQueueFull;
    queue_.push_back(std::move(text));
    if (writing_) return SendResult::kQueued;
    writing_ = true;
  }
  // Posted, never run inline: the caller may hold a lock over many sends.
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->writeQueued(); });
  return SendResult::kQueued;
}

size_t TlsWsLink::pendingSends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

// On the strand: encrypts what is queued as one batch and hands it to the
// socket; runs again when an async write of a remainder completes.
void TlsWsLink::writeQueued() {
  if (ended_) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
    writing_ = false;
    return;
  }
  if (out_pending_) return;  // the async write's completion comes back here
  std::string plain;
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!queue_.empty() && plain.size() < kBatchBytes) {
      appendFrame(plain, WsOpcode::kText, *queue_.front());
      queue_.pop_front();
    }
    // After close(): its frame follows the last message queued.
    if (queue_.empty() && !close_frame_.empty())
      plain += std::exchange(close_frame_, std::string());
    if (plain.empty()) {
      writing_ = false;
      return;
    }
  }
  encrypt(plain);
  flush();
  if (!ended_ && !out_pending_) writeQueued();  // more queued meanwhile, or done
}

void TlsWsLink::sendControl(WsOpcode op, std::string_view payload) {
  std::string frame;
  appendFrame(frame, op, payload);
  encrypt(frame);
}

void TlsWsLink::encrypt(std::string_view plain) {
  // Memory BIO: the write never blocks, and without partial writes (adopt)
  // it takes everything at once; a short count is carried on all the same.
  while (!plain.empty()) {
    ERR_clear_error();
    const int r =
        SSL_write(ssl_, plain.data(), static_cast<int>(std::min<size_t>(plain.size(), 1u << 30)));
    if (r <= 0) {
      finish({WsLinkEnd::Why::kIo, 0, tlsError("TLS write")});
      return;
    }
    plain.remove_prefix(static_cast<size_t>(r));
  }
}

// Hands the ciphertext to the socket: at once when it takes it all (the
// rule), else the remainder through an async write; no message is encrypted
// until that completes (the send queue is the bound), nor a pong (one waits),
// and what the read path encrypts meanwhile is bounded (kMaxBackedUpBytes).
void TlsWsLink::flush() {
  if (!socket_.is_open()) return;
  if (out_pending_) {
    if (!ended_ && BIO_ctrl_pending(wbio_) > kMaxBackedUpBytes) {
      finish({WsLinkEnd::Why::kIo, 0, "the peer does not read"});
    }
    return;
  }
  if (pong_due_) {
    pong_due_ = false;
    const std::string payload = std::exchange(pong_, std::string());
    if (!close_sent_ && !ended_) {  // never after a close frame
      sendControl(WsOpcode::kPong, payload);
      if (ended_) return;
    }
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(wbio_, &data);  // NOLINT(google-runtime-int)
  if (len <= 0) return;
  beast::error_code ec;
  size_t n = socket_.write_some(asio::buffer(data, static_cast<size_t>(len)), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    n = 0;
  }
  if (ec) {
    drainMemBio(wbio_, len);
    if (!ended_) finish({WsLinkEnd::Why::kIo, 0, "write: " + ec.message()});
    return;
  }
  if (n < static_cast<size_t>(len)) {
    out_.assign(data + n, static_cast<size_t>(len) - n);
    out_pending_ = true;
  }
  drainMemBio(wbio_, len);
  if (bioCapacity(wbio_) > kBioKeepBytes) {
    BIO* fresh = newMemBio();
    if (fresh != nullptr) {
      SSL_set0_wbio(ssl_, fresh);
      wbio_ = fresh;
    }
  }
  if (!out_pending_) return;
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](const beast::error_code& wec, size_t) {
                      self->out_pending_ = false;
                      self->out_ = std::string();
                      if (self->ended_) {
                        if (!wec && self->draining_) self->sendFin();  // what finish() deferred
                        return;
                      }
                      if (wec) {
                        self->finish({WsLinkEnd::Why::kIo, 0, "write: " + wec.message()});
                        return;
                      }
                      self->flush();
                      if (!self->out_pending_) self->writeQueued();
                    });
}

void TlsWsLink::close(uint16_t code, std::string reason) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    if (self->ended_ || self->close_sent_) return;
    self->beginClose(code, reason, {WsLinkEnd::Why::kClosed, code, reason});
  });
}

// On the strand: what is queued goes first (all of it, through the writer),
// then the close frame; the link then waits for the peer's close frame
// (reading and dropping the rest). The close timeout bounds both.
void TlsWsLink::beginClose(uint16_t code, std::string_view reason, WsLinkEnd end) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  std::string body;
  appendWsClose(body, code, reason);  // unmasked; masked below if a client
  if (!options_.server) {
    body.clear();
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    payload.append(reason.substr(0, kWsMaxCloseReason));
    appendFrame(body, WsOpcode::kClose, payload);
  }
  close_frame_ = std::move(body);
  close_sent_ = true;
  end_ = std::move(end);
  armTimer(options_.close_timeout);
  writeQueued();  // while a write is pending, its completion runs the writer
}

void TlsWsLink::abort() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->draining_) {
      self->closeSocket();
    } else if (!self->ended_) {
      self->finish({WsLinkEnd::Why::kAborted, 0, "aborted"});
    }
  });
}

void TlsWsLink::armTimer(std::chrono::milliseconds after) {
  const uint64_t gen = ++timer_gen_;
  timer_.expires_after(after);
  timer_.async_wait([self = shared_from_this(), gen](const beast::error_code& ec) {
    if (ec || gen != self->timer_gen_) return;
    if (self->draining_) {
      self->closeSocket();
    } else if (!self->ended_) {
      self->onTimer();
    }
  });
}

// Every half idle timeout: traffic since the last run keeps the link; none
// sends a ping; none again ends it. After our close frame: the close timeout.
void TlsWsLink::onTimer() {
  if (close_sent_) {
    finish(end_);
    return;
  }
  if (seen_) {
    seen_ = false;
    ping_out_ = false;
  } else if (!ping_out_) {
    ping_out_ = true;
    sendControl(WsOpcode::kPing, "");
    flush();
    if (ended_) return;
  } else {
    finish({WsLinkEnd::Why::kTimeout, 0, "idle timeout"});
    return;
  }
  armTimer(options_.idle_timeout / 2);
}

// Ending gracefully: TLS close_notify after what is pending, then our FIN.
// While an async write is on the socket both wait for its completion (a FIN
// would cut it, and with it our close frame); the drop timer bounds that.
void TlsWsLink::sendFin() {
  if (out_pending_) return;
  ERR_clear_error();
  if ((SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN) == 0) (void)SSL_shutdown(ssl_);
  ERR_clear_error();
  flush();
  if (out_pending_ || !socket_.is_open()) return;
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void TlsWsLink::closeSocket() {
  draining_ = false;
  ++timer_gen_;
  timer_.cancel();
  beast::error_code ignored;
  socket_.close(ignored);
}

// Once: TLS close_notify (best effort), the socket closed (after a lingering
// close when the link ended by a close handshake), on_end told.
void TlsWsLink::finish(WsLinkEnd end) {
  if (ended_) return;
  ended_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    queue_.clear();
    writing_ = false;
  }
  ++timer_gen_;
  timer_.cancel();
  const bool graceful = end.why != WsLinkEnd::Why::kIo && end.why != WsLinkEnd::Why::kAborted;
  if (graceful && socket_.is_open()) {
    // A lingering close: our FIN after the close frame and close_notify,
    // then what the peer still sends (its close_notify) is read and dropped
    // until its FIN or the close timeout. Closing with those bytes unread
    // would reset the connection, and the peer could lose our close frame.
    draining_ = true;
    armTimer(options_.close_timeout);
    sendFin();
    if (!reading_) readSome();
  } else {
    closeSocket();
  }
  auto on_end = std::move(on_end_);
  on_end_ = nullptr;
  on_text_ = nullptr;
  if (on_end) on_end(end);
}

}  // namespace sg::net
