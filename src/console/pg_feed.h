// The change feed of several consoles on one PostgreSQL: PgStore NOTIFYs
// kPgChangeChannel with every write (pg_feed_change.h); a listener on its
// own connection hears them all, whichever console wrote.
//
// PgListener is the connection alone: put fd() in an event loop and call
// drain() when it is readable (the fd changes after a reconnect). PgChangeFeed
// runs one on a thread of its own and calls back from that thread.
//
// Notifications sent while a listener is disconnected are lost: after a
// reconnect PgChangeFeed calls on_resync, and the caller reloads its state.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "console/pg_conn.h"
#include "console/pg_feed_change.h"

namespace sg::console {

class PgListener {
 public:
  // Connects and LISTENs before returning: every write committed afterwards
  // is heard.
  static Result<std::unique_ptr<PgListener>> open(const std::string& url);

  int fd() const { return conn_->socket(); }
  // Reads what arrived and calls `on_change` per notification; payloads that
  // are not changes are counted (malformed) and skipped. kUnavailable when
  // the connection is lost: reconnect() then.
  Result<void> drain(const std::function<void(const StoreChange&)>& on_change);
  // A new connection, LISTENing again.
  Result<void> reconnect();
  uint64_t malformed() const { return malformed_; }

 private:
  explicit PgListener(std::unique_ptr<PgConn> conn) : conn_(std::move(conn)) {}
  Result<void> listen();

  std::unique_ptr<PgConn> conn_;
  uint64_t malformed_ = 0;
};

struct PgFeedCallbacks {
  std::function<void(const StoreChange&)> on_change;
  // The connection was lost and is back: changes made meanwhile were missed.
  std::function<void()> on_resync;
  // The connection was lost, or a reconnect attempt failed (for the log).
  std::function<void(const Error&)> on_error;
};

struct PgFeedOptions {
  int min_backoff_ms = 100;   // first wait before reconnecting, doubled per failure
  int max_backoff_ms = 5000;  // the longest wait
};

struct PgFeedStats {
  uint64_t changes = 0;     // notifications delivered to on_change
  uint64_t malformed = 0;   // payloads that were not changes
  uint64_t reconnects = 0;  // connections re-established (on_resync calls)
};

class PgChangeFeed {
 public:
  // Opens the listener (so the caller may load its state once this returns
  // without missing a change), then delivers on a thread of its own.
  static Result<std::unique_ptr<PgChangeFeed>> start(const std::string& url,
                                                     PgFeedCallbacks callbacks,
                                                     PgFeedOptions options = {});
  PgChangeFeed(const PgChangeFeed&) = delete;
  PgChangeFeed& operator=(const PgChangeFeed&) = delete;
  ~PgChangeFeed();  // stops and joins the thread

  PgFeedStats stats() const;

 private:
  PgChangeFeed(std::unique_ptr<PgListener> listener, PgFeedCallbacks callbacks,
               PgFeedOptions options, int wake_fd);
  void run();
  // Waits up to `ms` for `fd` (-1: none) to be readable; false when woken to stop.
  bool wait(int fd, int ms);
  void reconnectUntilStopped();

  std::unique_ptr<PgListener> listener_;
  PgFeedCallbacks callbacks_;
  PgFeedOptions options_;
  int wake_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> changes_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::thread thread_;
};

}  // namespace sg::console
