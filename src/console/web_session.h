// Browser sessions (docs/dashboard.md "Session"): a cookie made at login from
// an API token. Kept in memory only (a restart ends them), at most
// max_sessions_per_token per API token (a login over it drops that token's
// least recently used, never another token's) and max_sessions in all (then
// the least recently used of all is dropped), ended after `idle` without use.
// Each is bound to the hash of the token it was made from: every use checks
// that token again in the store (ConsoleService::actorOfTokenHash), so
// revoking it ends its sessions and a changed role applies at once.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "console/api_counters.h"
#include "console/service.h"
#include "core/clock.h"
#include "core/duration.h"
#include "core/result.h"
#include "net/http_types.h"

namespace sg::console {

struct WebSessionOptions {
  size_t max_sessions = 10'000;
  size_t max_sessions_per_token = 64;
  Nanos idle = std::chrono::hours(12);  // also the cookie's Max-Age
  // Origins a browser may log in and write from besides https://<Host>: the
  // dashboard's public address when a reverse proxy in front of the console
  // rewrites Host (`console --public-url`), each as publicOrigin() makes it.
  std::vector<std::string> public_origins;
};

// "https://dash.example.com[:port][/path]" -> the origin a browser sends for
// it ("https://dash.example.com", lower case, the port only when not 443);
// kInvalidArgument for anything else (another scheme, no host, user info, a
// bad port).
Result<std::string> publicOrigin(const std::string& url);

// The request comes from this console's page: no Origin (not a browser's, or
// a browser that sends none), https://<Host>, or one of `public_origins`.
// Anything else is another site's page (CSRF): refused.
bool ownOrigin(const net::HttpRequest& req, const std::vector<std::string>& public_origins);

struct WebSession {
  std::string id;    // the cookie's value: 32 random bytes, base64url
  std::string csrf;  // X-CSRF-Token for its writes: 32 random bytes, base64url
  std::string token_hash;
  uint64_t last_used_ns = 0;  // monotonic
};

class WebSessions {
 public:
  WebSessions(Clock& clock, WallClock wall, WebSessionOptions options = {});

  // A new session for the token hash; kIo if no randomness.
  Result<WebSession> create(const std::string& token_hash);
  // The live session with this id, its idle time restarted; nullopt when
  // unknown or idle too long (then removed).
  std::optional<WebSession> use(const std::string& id);
  // Without restarting its idle time (a long stream checking it is alive).
  std::optional<WebSession> peek(const std::string& id);
  void end(const std::string& id);
  size_t size() const;
  // Unix ms at which a session used now ends when not used again.
  int64_t expiresAtMs() const;
  const WebSessionOptions& options() const { return options_; }

 private:
  std::optional<WebSession> lookup(const std::string& id, bool touch);
  void evictOldest(const std::string* token_hash);             // mu_ held
  void erase(std::map<std::string, WebSession>::iterator it);  // mu_ held

  Clock& clock_;
  WallClock wall_;
  WebSessionOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, WebSession> sessions_;
  std::map<std::string, size_t> per_token_;  // sessions per token hash
};

// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookieValue(const std::string& cookie_header, const std::string& name);
inline constexpr const char* kSessionCookie = "sg_session";

// Who sent an API request: with an Authorization header, its bearer token
// only; else the session cookie (`sessions` may be null: cookies refused),
// whose POST/PUT/DELETE must carry its CSRF token and, when the browser sent
// one, an Origin of ours (ownOrigin with the sessions' public_origins). A refusal is the response
// to send (401, or 403 "csrf"), counted in `counters` when given.
struct Authenticated {
  Actor actor;
  std::optional<WebSession> session;  // set when the cookie authenticated it
};
std::variant<Authenticated, net::HttpResponse> authenticateRequest(ConsoleService& service,
                                                                   WebSessions* sessions,
                                                                   const net::HttpRequest& req);

}  // namespace sg::console
