#include "console/pg_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sg::console {

namespace {

PgConnOptions listenerOptions() {
  PgConnOptions o;
  o.application_name = "syn-guard change feed";
  return o;
}

}  // namespace

Result<std::unique_ptr<PgListener>> PgListener::open(const std::string& url) {
  SG_READ(parsed, parsePgUrl(url));
  SG_READ(conn, PgConn::connect(*parsed, listenerOptions()));
  std::unique_ptr<PgListener> listener(new PgListener(std::move(*conn)));
  SG_TRY(listener->listen());
  return listener;
}

Result<void> PgListener::listen() {
  // The channel is an identifier: quoted as one, no value is spliced.
  SG_TRY(conn_->script(std::string("LISTEN \"") + kPgChangeChannel + "\""));
  return Ok{};
}

Result<void> PgListener::reconnect() {
  SG_TRY(conn_->ensureConnected());
  return listen();
}

Result<void> PgListener::drain(const std::function<void(const StoreChange&)>& on_change) {
  PGconn* raw = conn_->raw();
  if (conn_->broken()) return conn_->error("change feed connection lost");
  if (PQconsumeInput(raw) == 0 || conn_->broken()) {
    return conn_->error("change feed connection lost");
  }
  // Results of nothing we sent (an error the server reports before closing).
  while (!PQisBusy(raw)) {
    PGresult* stray = PQgetResult(raw);
    if (stray == nullptr) break;
    PQclear(stray);
  }
  while (PGnotify* n = PQnotifies(raw)) {
    auto change = parseChange(n->extra != nullptr ? n->extra : "");
    PQfreemem(n);
    if (change.ok()) {
      on_change(*change);
    } else {
      ++malformed_;
    }
  }
  if (conn_->broken()) return conn_->error("change feed connection lost");
  return Ok{};
}

Result<std::unique_ptr<PgChangeFeed>> PgChangeFeed::start(const std::string& url,
                                                          PgFeedCallbacks callbacks,
                                                          PgFeedOptions options) {
  SG_READ(listener, PgListener::open(url));
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return makeError(Errc::kIo, std::string("eventfd: ") + std::strerror(errno));
  return std::unique_ptr<PgChangeFeed>(
      new PgChangeFeed(std::move(*listener), std::move(callbacks), options, wake));
}

PgChangeFeed::PgChangeFeed(std::unique_ptr<PgListener> listener, PgFeedCallbacks callbacks,
                           PgFeedOptions options, int wake_fd)
    : listener_(std::move(listener)),
      callbacks_(std::move(callbacks)),
      options_(options),
      wake_fd_(wake_fd) {
  thread_ = std::thread([this] { run(); });
}

PgChangeFeed::~PgChangeFeed() {
  stop_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
}

PgFeedStats PgChangeFeed::stats() const {
  return PgFeedStats{changes_.load(), malformed_.load(), reconnects_.load()};
}

bool PgChangeFeed::wait(int fd, int ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {fd, POLLIN, 0}};
  const int n = poll(fds, fd >= 0 ? 2 : 1, ms);
  if (n < 0 && errno != EINTR) return !stop_;  // poll cannot fail on valid fds: try again
  return !stop_ && (fds[0].revents & POLLIN) == 0;
}

void PgChangeFeed::reconnectUntilStopped() {
  int backoff = options_.min_backoff_ms;
  while (!stop_) {
    if (!wait(-1, backoff)) return;
    auto again = listener_->reconnect();
    if (again.ok()) {
      reconnects_.fetch_add(1);
      if (callbacks_.on_resync) callbacks_.on_resync();
      return;
    }
    if (callbacks_.on_error) callbacks_.on_error(again.error());
    backoff = std::min(backoff * 2, options_.max_backoff_ms);
  }
}

void PgChangeFeed::run() {
  auto deliver = [this](const StoreChange& change) {
    changes_.fetch_add(1);
    if (callbacks_.on_change) callbacks_.on_change(change);
  };
  while (!stop_) {
    // Wake at least every second, so a stop or a silently dead socket is seen.
    if (!wait(listener_->fd(), 1000)) return;
    auto drained = listener_->drain(deliver);
    malformed_.store(listener_->malformed());
    if (drained.ok()) continue;
    if (callbacks_.on_error) callbacks_.on_error(drained.error());
    reconnectUntilStopped();
  }
}

}  // namespace sg::console
