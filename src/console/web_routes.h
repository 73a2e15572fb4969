// The dashboard's server side on the console's router (docs/dashboard.md):
// the cookie session (/v1/session), the live event stream (/v1/events) and
// the page's files for every other non-API path. The REST routes take the
// same session cookie through addApiRoutes(..., &web.sessions()).
#pragma once

#include <memory>
#include <string>

#include "console/api_counters.h"
#include "console/service.h"
#include "console/web_events.h"
#include "console/web_session.h"
#include "console/web_static.h"
#include "net/rate_limiter.h"
#include "net/router.h"

namespace sg::console {

struct WebOptions {
  std::string web_root;  // "": defaultWebRoot()
  WebSessionOptions sessions;
  EventHubOptions events;
  // POST /v1/session per client address, on top of the server's own limit
  // (beyond it: 429 rate_limited): 20 at once, then one a second.
  net::RateLimit login{1, 20, 65536};
};

class WebConsole {
 public:
  // `service` and `clock` must outlive it. The stream's epoch is random.
  WebConsole(ConsoleService& service, Clock& clock, WallClock wall, WebOptions options);
  // Ends every stream: none calls back into it afterwards, whatever the
  // server still holds.
  ~WebConsole();
  WebConsole(const WebConsole&) = delete;
  WebConsole& operator=(const WebConsole&) = delete;

  // POST/GET/DELETE /v1/session, GET /v1/events, and the router's fallback
  // (the page's files). `counters` (optional) counts the session routes' answers.
  void addRoutes(net::Router& router, ApiCounters* counters = nullptr);
  // Publishes what changed since the last call; the caller runs it every 100 ms.
  void pump();
  // Ends every stream (before the server stops).
  void stop();

  WebSessions& sessions() { return sessions_; }
  EventHub& hub() { return *hub_; }
  const WebRoot& root() const { return root_; }
  // syn_guard_web_* gauges and counters, Prometheus text.
  void appendPrometheus(std::string& out) const;

 private:
  net::HttpResponse login(const net::HttpRequest& req);
  net::HttpResponse whoami(const net::HttpRequest& req);
  net::HttpResponse logout(const net::HttpRequest& req);
  net::HttpResponse events(const net::HttpRequest& req);

  ConsoleService& service_;
  WebSessions sessions_;
  net::RateLimiter login_limiter_;
  std::shared_ptr<EventHub> hub_;
  WebRoot root_;
};

}  // namespace sg::console
