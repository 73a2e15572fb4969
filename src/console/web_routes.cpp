#include "console/web_routes.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <string_view>

#include "console/api_body.h"
#include "console/api_json.h"

namespace sg::console {

namespace {

using net::HttpRequest;
using net::HttpResponse;

constexpr const char* kLoginRefused = "the token is not valid";

HttpResponse counted(ApiCounters* counters, HttpResponse r) {
  if (counters != nullptr) counters->count(r.status);
  return r;
}

std::string cookieHeader(const std::string& value, int64_t max_age_s) {
  return std::string(kSessionCookie) + "=" + value +
         "; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
}

HttpResponse sessionAnswer(const Actor& who, const WebSession& s, int64_t expires_at_ms) {
  nlohmann::json body{{"name", who.name},
                      {"role", roleName(who.role)},
                      {"csrf_token", s.csrf},
                      {"expires_at", api::rfc3339Ms(expires_at_ms)}};
  return HttpResponse{200, api::dumpJson(body), "application/json"};
}

// "application/json", any case, parameters (charset) allowed.
bool isJson(const std::string& content_type) {
  const std::string media = content_type.substr(0, content_type.find(';'));
  const size_t b = media.find_first_not_of(" \t");
  const size_t e = media.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  const std::string_view kJson = "application/json";
  const std::string_view m(media.data() + b, e - b + 1);
  return m.size() == kJson.size() &&
         std::equal(m.begin(), m.end(), kJson.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

// The stream cap's owner for a bearer stream: its token's hash, as a session
// made from the same token has (the header itself when the service has none).
std::string bearerOwner(ConsoleService& service, const std::string& authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.rfind(kBearer, 0) == 0) {
    auto id = service.authenticateToken(authorization.substr(kBearer.size()));
    if (id) return id->token_hash;
  }
  return "bearer:" + authorization;
}

uint32_t randomEpoch() {
  std::random_device rd;
  return static_cast<uint32_t>(rd());
}

}  // namespace

WebConsole::WebConsole(ConsoleService& service, Clock& clock, WallClock wall, WebOptions options)
    : service_(service),
      sessions_(clock, std::move(wall), options.sessions),
      login_limiter_(options.login, clock),
      hub_(EventHub::create(clock, options.events, randomEpoch())),
      root_(WebRoot::open(options.web_root.empty() ? defaultWebRoot() : options.web_root)) {}

void WebConsole::addRoutes(net::Router& router, ApiCounters* counters) {
  router.add("POST", "/v1/session",
             [this, counters](const HttpRequest& r) { return counted(counters, login(r)); });
  router.add("GET", "/v1/session",
             [this, counters](const HttpRequest& r) { return counted(counters, whoami(r)); });
  router.add("DELETE", "/v1/session",
             [this, counters](const HttpRequest& r) { return counted(counters, logout(r)); });
  router.add("GET", "/v1/events", [this, counters](const HttpRequest& r) {
    HttpResponse resp = events(r);
    if (counters != nullptr && !resp.stream) counters->count(resp.status);
    if (counters != nullptr && resp.stream) counters->count(200);
    return resp;
  });
  router.setFallback([this](const HttpRequest& r) { return root_.serve(r); });
}

HttpResponse WebConsole::login(const HttpRequest& req) {
  // Login CSRF: a page elsewhere must not log the browser in with its own
  // token. A cross-site form cannot send application/json (a script that
  // does needs a CORS preflight, which the console never grants), and a
  // browser's Origin must be ours (https://<Host>, or a --public-url's when
  // a proxy in front rewrites Host).
  if (!isJson(req.content_type)) {
    return net::errorResponse(415, "unsupported_media_type",
                              "Content-Type must be application/json");
  }
  if (!ownOrigin(req, sessions_.options().public_origins)) {
    return net::errorResponse(403, "csrf", "Origin is not this console");
  }
  if (!login_limiter_.allow(req.peer.remote_ip)) {
    return net::errorResponse(429, "rate_limited", "too many logins from this address: wait");
  }
  auto token = api::parseSessionBody(req.body);
  if (!token) return net::errorResponse(400, "invalid_argument", token.error().message());
  auto id = service_.authenticateToken(*token);
  if (!id) {
    if (id.error().code() != Errc::kUnauthenticated) {
      return net::errorResponse(500, "internal", "internal error");
    }
    return net::errorResponse(401, "unauthenticated", kLoginRefused);
  }
  auto session = sessions_.create(id->token_hash);
  if (!session) return net::errorResponse(500, "internal", "internal error");
  HttpResponse r = sessionAnswer(id->actor, *session, sessions_.expiresAtMs());
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(sessions_.options().idle);
  r.headers.emplace_back("Set-Cookie", cookieHeader(session->id, max_age.count()));
  return r;
}

HttpResponse WebConsole::whoami(const HttpRequest& req) {
  if (!req.authorization.empty() || cookieValue(req.cookie, kSessionCookie).empty()) {
    return net::errorResponse(401, "unauthenticated", "no session: log in");
  }
  auto who = authenticateRequest(service_, &sessions_, req);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return std::move(*refused);
  const auto& ok = std::get<Authenticated>(who);
  return sessionAnswer(ok.actor, *ok.session, sessions_.expiresAtMs());
}

HttpResponse WebConsole::logout(const HttpRequest& req) {
  if (!req.authorization.empty() || cookieValue(req.cookie, kSessionCookie).empty()) {
    return net::errorResponse(401, "unauthenticated", "no session: log in");
  }
  auto who = authenticateRequest(service_, &sessions_, req);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return std::move(*refused);
  sessions_.end(std::get<Authenticated>(who).session->id);
  HttpResponse r{204, "", "application/json"};
  r.headers.emplace_back("Set-Cookie", cookieHeader("", 0));
  return r;
}

HttpResponse WebConsole::events(const HttpRequest& req) {
  auto q = api::parseQuery(req.query, {"last_event_id"});
  if (!q) return net::errorResponse(400, "invalid_argument", q.error().message());
  auto who = authenticateRequest(service_, &sessions_, req);
  if (auto* refused = std::get_if<HttpResponse>(&who)) return std::move(*refused);
  const auto& ok = std::get<Authenticated>(who);
  std::string last = req.last_event_id;
  if (auto it = q->find("last_event_id"); last.empty() && it != q->end()) last = it->second;
  // The stream lives as long as what let it in: the session, or the bearer token.
  std::function<bool()> alive;
  std::string owner;
  if (ok.session) {
    owner = ok.session->token_hash;
    alive = [this, id = ok.session->id, hash = ok.session->token_hash] {
      return sessions_.peek(id).has_value() && service_.actorOfTokenHash(hash).ok();
    };
  } else {
    owner = bearerOwner(service_, req.authorization);
    alive = [this, auth = req.authorization] { return service_.authenticate(auth).ok(); };
  }
  auto stream =
      hub_->open(last, std::to_string(service_.resourceVersion()), std::move(alive), owner);
  if (!stream) {
    if (stream.error().code() != Errc::kResourceExhausted) {
      return net::errorResponse(503, "unavailable", stream.error().message());
    }
    return net::errorResponse(429, "resource_exhausted", stream.error().message());
  }
  HttpResponse r{200, "", "text/event-stream"};
  r.stream = std::move(*stream);
  return r;
}

void WebConsole::pump() { hub_->publish(service_.takeLiveEvents(hub_->streams() > 0)); }

WebConsole::~WebConsole() { stop(); }

void WebConsole::stop() { hub_->closeAll(); }

void WebConsole::appendPrometheus(std::string& out) const {
  const EventHubCounters& c = hub_->counters();
  auto line = [&out](const char* name, const char* type, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  line("syn_guard_web_sessions", "gauge", "Dashboard sessions (cookie logins) alive.",
       sessions_.size());
  line("syn_guard_web_event_streams", "gauge", "Live event streams (SSE) open.", hub_->streams());
  line("syn_guard_web_event_streams_opened_total", "counter", "Live event streams opened.",
       c.streams_opened.load());
  line("syn_guard_web_events_sent_total", "counter", "Events queued on live streams.",
       c.events_sent.load());
  line("syn_guard_web_event_streams_slow_closed_total", "counter",
       "Live streams closed because the client read too slowly.", c.slow_closed.load());
  line("syn_guard_web_event_streams_ended_total", "counter",
       "Live streams closed because their session or token ended.", c.ended_closed.load());
  line("syn_guard_web_event_streams_refused_total", "counter",
       "Live streams refused: too many open in all.", c.refused.load());
  line("syn_guard_web_event_streams_refused_token_total", "counter",
       "Live streams refused: too many open for one API token.", c.refused_owner.load());
  line("syn_guard_web_event_resets_total", "counter",
       "Streams that could not resume from their Last-Event-ID (reset).", c.resets.load());
}

}  // namespace sg::console
