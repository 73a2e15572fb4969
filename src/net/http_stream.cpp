// HttpSession::streamOut: a response whose body is produced over time
// (Server-Sent Events). The header goes out with chunked transfer encoding;
// then the body's take() is called whenever it wakes the connection (or every
// pollEvery()), and what it returns is sent as one chunk. A write that stalls
// past the idle timeout, the peer closing (or sending anything), or the
// server stopping ends it; the connection is not reused afterwards.
#include <sys/socket.h>

#include <cerrno>

#include "net/http_session.h"

namespace sg::net {
namespace {

// Calls `gone` once the peer's socket is readable for real (EOF, a byte, an
// error) or the wait fails (closed, cancelled). The reactor may end a
// wait_read with nothing to read: an edge the TLS reads had consumed
// already. Under load that ended a live stream before its last chunk
// (WebLoopbackTest.DestroyingTheConsoleEndsItsStreams: a peek said EAGAIN),
// so such a wake waits again.
template <class Gone>
void watchPeer(tcp::socket& socket, Gone gone) {
  socket.async_wait(tcp::socket::wait_read,
                    [&socket, gone = std::move(gone)](const beast::error_code& ec) mutable {
                      if (!ec) {
                        char byte = 0;
                        const ssize_t n =
                            ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                          watchPeer(socket, std::move(gone));
                          return;
                        }
                      }
                      gone();
                    });
}

}  // namespace

asio::awaitable<bool> HttpSession::streamOut(const Request& req, HttpResponse resp) {
  std::shared_ptr<StreamBody> body = std::move(resp.stream);
  http::response<http::empty_body> res{static_cast<http::status>(resp.status), req.version()};
  res.set(http::field::server, "syn-guard");
  res.set(http::field::content_type, resp.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [name, value] : resp.headers) res.set(name, value);
  res.keep_alive(false);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  auto& tcp = beast::get_lowest_layer(stream_);
  tcp.expires_after(st_->options.limits.idle_timeout);
  auto [hec, hn] = co_await http::async_write_header(stream_, sr, kTuple);
  if (hec) {
    body->finished();
    co_return false;
  }
  stream_timer_.emplace(stream_.get_executor());
  // A client that goes away is noticed at once, not at the next write: it
  // sends nothing more on a stream, so the socket turning readable (EOF, a
  // reset, anything) ends it. Waits on the socket itself, outside the
  // stream's timeout, which only covers the writes.
  watchPeer(tcp.socket(), [self = shared_from_this()] {
    self->aborted_ = true;
    if (self->stream_timer_) self->stream_timer_->cancel();
  });
  std::weak_ptr<HttpSession> weak = weak_from_this();
  body->start([weak, ex = stream_.get_executor()] {
    asio::post(ex, [weak] {
      if (auto self = weak.lock(); self && self->stream_timer_) self->stream_timer_->cancel();
    });
  });
  bool ok = true;
  while (ok && !aborted_ && !st_->stopped.load()) {
    bool done = false;
    std::string data = body->take(&done);
    if (!data.empty()) {
      tcp.expires_after(st_->options.limits.idle_timeout);
      auto [ec, n] =
          co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)), kTuple);
      if (ec) {
        if (ec == beast::error::timeout) st_->counters.add(NetCounter::kTimeouts);
        ok = false;
        break;
      }
    }
    if (done) {
      tcp.expires_after(st_->options.limits.idle_timeout);
      auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), kTuple);
      (void)ec;
      break;
    }
    stream_timer_->expires_after(body->pollEvery());
    auto [wec] = co_await stream_timer_->async_wait(kTuple);
    (void)wec;  // expired, or woken (cancelled): take() again either way
  }
  body->finished();
  stream_timer_.reset();
  co_return false;
}

}  // namespace sg::net
