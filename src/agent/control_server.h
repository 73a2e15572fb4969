// ControlServer: the control socket served inside the agent's event loop
// without ever blocking it. Every socket is non-blocking; the server keeps its
// own epoll set (listening socket, clients, a deadline timer) whose descriptor
// the loop polls among its others, and onReady() does whatever can be done now
// and returns. A client gets one request line and one response line, all
// within `deadline` of connecting; a silent client, one that never reads its
// answer or one that sends more than a line is cut off. At most `max_clients`
// are served at once; more are closed at accept.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "agent/control_protocol.h"
#include "agent/sockets.h"
#include "core/result.h"

namespace sg::agent {

struct ControlServerOptions {
  // Clients served at once; more are closed as soon as they are accepted.
  size_t max_clients = 16;
  // From accept to the last byte of the response.
  std::chrono::milliseconds deadline{5000};
  // Longest request line.
  size_t max_line = kMaxControlLine;
};

struct ControlServerCounters {
  uint64_t served = 0;     // responses written in full
  uint64_t timed_out = 0;  // cut off at the deadline
  uint64_t refused = 0;    // closed at accept: too many clients
};

class ControlServer {
 public:
  // Maps one request line to one response line (without the newline).
  using Handler = std::function<std::string(const std::string& line)>;

  // Listens on the unix socket at `path` (see listenUnix).
  static Result<ControlServer> open(const std::string& path, Handler handler,
                                    ControlServerOptions options = {});

  // Readable when onReady() has work.
  int fd() const { return epoll_.get(); }
  // Accepts, reads, answers, writes and expires what is ready; never blocks.
  void onReady();

  size_t clients() const { return clients_.size(); }
  const ControlServerCounters& counters() const { return counters_; }

 private:
  struct Client {
    Fd fd;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;
    std::chrono::steady_clock::time_point deadline;
  };

  ControlServer(Fd listener, Fd epoll, Fd timer, Handler handler, ControlServerOptions options);
  void acceptAll();
  // false when there is nothing to write yet, or the client is gone.
  bool readFrom(Client& c);
  bool respond(Client& c, std::string response);
  void writeTo(Client& c);
  void close(int fd);
  void expire();
  void armTimer();

  Fd listener_;
  Fd epoll_;
  Fd timer_;
  Handler handler_;
  ControlServerOptions options_;
  std::map<int, Client> clients_;
  ControlServerCounters counters_;
};

}  // namespace sg::agent
