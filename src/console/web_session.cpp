#include "console/web_session.h"

#include <algorithm>
#include <cctype>

#include "pki/token.h"

namespace sg::console {

Result<std::string> publicOrigin(const std::string& url) {
  const std::string scheme = "https://";
  auto bad = [&url](const std::string& why) {
    return makeError(Errc::kInvalidArgument, "public URL " + url + ": " + why);
  };
  std::string lower = url;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // https only: the session cookie is Secure, a browser would not send it otherwise.
  if (lower.rfind(scheme, 0) != 0) return bad("not an https:// URL");
  const std::string authority =
      lower.substr(scheme.size(), lower.find_first_of("/?#", scheme.size()) - scheme.size());
  if (authority.find('@') != std::string::npos) return bad("user info in it");
  std::string host = authority;
  std::string port;
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    const bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    if (!digits || std::stoul(port) == 0 || std::stoul(port) > 65535) return bad("bad port");
    if (std::stoul(port) == 443) port.clear();  // a browser leaves the default out
  }
  const bool host_ok = !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '-' || c == '[' || c == ']' || c == ':';
  });
  if (!host_ok) return bad("no host, or not a host name or address");
  return scheme + host + (port.empty() ? "" : ":" + port);
}

bool ownOrigin(const net::HttpRequest& req, const std::vector<std::string>& public_origins) {
  if (req.origin.empty() || req.origin == "https://" + req.host) return true;
  return std::find(public_origins.begin(), public_origins.end(), req.origin) !=
         public_origins.end();
}

WebSessions::WebSessions(Clock& clock, WallClock wall, WebSessionOptions options)
    : clock_(clock), wall_(std::move(wall)), options_(options) {}

Result<WebSession> WebSessions::create(const std::string& token_hash) {
  // An API token's secret is 32 random bytes in base64url: the same for ids.
  SG_READ(id, pki::newApiToken());
  SG_READ(csrf, pki::newApiToken());
  WebSession s{id->secret, csrf->secret, token_hash, clock_.nowNs()};
  std::lock_guard<std::mutex> lock(mu_);
  // A token over its quota gives up its own oldest session: logging in in a
  // loop cannot push anyone else's out of the table.
  if (per_token_[token_hash] >= options_.max_sessions_per_token) evictOldest(&token_hash);
  if (sessions_.size() >= options_.max_sessions) evictOldest(nullptr);
  sessions_[s.id] = s;
  ++per_token_[token_hash];
  return s;
}

void WebSessions::evictOldest(const std::string* token_hash) {
  auto oldest = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (token_hash != nullptr && it->second.token_hash != *token_hash) continue;
    if (oldest == sessions_.end() || it->second.last_used_ns < oldest->second.last_used_ns) {
      oldest = it;
    }
  }
  if (oldest != sessions_.end()) erase(oldest);
}

void WebSessions::erase(std::map<std::string, WebSession>::iterator it) {
  auto count = per_token_.find(it->second.token_hash);
  if (count != per_token_.end() && --count->second == 0) per_token_.erase(count);
  sessions_.erase(it);
}

std::optional<WebSession> WebSessions::lookup(const std::string& id, bool touch) {
  if (id.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  const uint64_t now = clock_.nowNs();
  if (now - it->second.last_used_ns >= static_cast<uint64_t>(options_.idle.count())) {
    erase(it);
    return std::nullopt;
  }
  if (touch) it->second.last_used_ns = now;
  return it->second;
}

std::optional<WebSession> WebSessions::use(const std::string& id) { return lookup(id, true); }
std::optional<WebSession> WebSessions::peek(const std::string& id) { return lookup(id, false); }

void WebSessions::end(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = sessions_.find(id); it != sessions_.end()) erase(it);
}

size_t WebSessions::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

int64_t WebSessions::expiresAtMs() const {
  return wall_() + std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle).count();
}

std::string cookieValue(const std::string& header, const std::string& name) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    size_t b = start;
    while (b < end && (header[b] == ' ' || header[b] == '\t')) ++b;
    const size_t eq = header.find('=', b);
    if (eq != std::string::npos && eq < end && header.compare(b, eq - b, name) == 0 &&
        eq - b == name.size()) {
      size_t e = end;
      while (e > eq + 1 && (header[e - 1] == ' ' || header[e - 1] == '\t')) --e;
      return header.substr(eq + 1, e - eq - 1);
    }
    start = end + 1;
  }
  return "";
}

namespace {

net::HttpResponse unauthenticated(const std::string& message) {
  return net::errorResponse(401, "unauthenticated", message);
}

bool isWrite(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "DELETE" || method == "PATCH";
}

}  // namespace

std::variant<Authenticated, net::HttpResponse> authenticateRequest(ConsoleService& service,
                                                                   WebSessions* sessions,
                                                                   const net::HttpRequest& req) {
  const std::string cookie = cookieValue(req.cookie, kSessionCookie);
  if (!req.authorization.empty() || cookie.empty() || sessions == nullptr) {
    auto who = service.authenticate(req.authorization);
    if (!who) {
      if (who.error().code() == Errc::kUnauthenticated)
        return unauthenticated(who.error().message());
      return net::errorResponse(500, "internal", "internal error");
    }
    return Authenticated{*who, std::nullopt};
  }
  auto session = sessions->use(cookie);
  if (!session) return unauthenticated("the session ended: log in again");
  auto who = service.actorOfTokenHash(session->token_hash);
  if (!who) {
    if (who.error().code() != Errc::kUnauthenticated) {
      return net::errorResponse(500, "internal", "internal error");
    }
    sessions->end(session->id);  // its token was revoked
    return unauthenticated("the session ended: log in again");
  }
  if (isWrite(req.method)) {
    if (req.csrf_token.empty() || !pki::constantTimeEqual(req.csrf_token, session->csrf)) {
      return net::errorResponse(403, "csrf", "X-CSRF-Token is missing or wrong");
    }
    if (!ownOrigin(req, sessions->options().public_origins)) {
      return net::errorResponse(403, "csrf", "Origin is not this console");
    }
  }
  return Authenticated{*who, std::move(session)};
}

}  // namespace sg::console
