// Cookie sessions over the REST API's router and a fake service: login,
// cookie auth, CSRF and Origin checks on writes, bearer precedence, revoked
// tokens, idle expiry, the table's bound, logout (docs/dashboard.md).
#include "console/web_session.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "console/api.h"
#include "console/api_fake_service.h"
#include "console/web_routes.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

using nlohmann::json;

std::string header(const net::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class WebSessionTest : public ::testing::Test {
 protected:
  WebSessionTest() {
    WebOptions o;
    o.web_root = "/nonexistent-web-root";
    o.sessions.max_sessions = 3;
    o.sessions.max_sessions_per_token = 2;
    o.events.max_streams = 3;
    o.events.max_streams_per_owner = 2;
    web_ = std::make_unique<WebConsole>(
        fake_, clock_, [this] { return wall_ms_; }, o);
    addApiRoutes(router_, fake_, &counters_, &web_->sessions());
    web_->addRoutes(router_, &counters_);
  }

  net::HttpResponse call(const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& cookie = "",
                         const std::string& csrf = "", const std::string& origin = "",
                         const std::string& bearer = "") {
    net::HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.host = "console.example:8443";
    if (!body.empty()) r.content_type = "application/json";
    if (!cookie.empty()) r.cookie = "theme=dark; sg_session=" + cookie;
    r.csrf_token = csrf;
    r.origin = origin;
    if (!bearer.empty()) r.authorization = "Bearer " + bearer;
    return router_.route(r);
  }

  struct Login {
    std::string cookie;
    std::string csrf;
  };
  Login login(const std::string& token) {
    auto r = call("POST", "/v1/session", json{{"token", token}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string set = header(r, "Set-Cookie");
    const size_t eq = set.find('=');
    const size_t semi = set.find(';');
    return Login{set.substr(eq + 1, semi - eq - 1), json::parse(r.body).value("csrf_token", "")};
  }
  std::string errorCode(const net::HttpResponse& r) {
    return json::parse(r.body, nullptr, false).value("error", "");
  }

  FakeClock clock_;
  int64_t wall_ms_ = 1'800'000'000'000;
  test::FakeConsoleService fake_;
  ApiCounters counters_;
  net::Router router_;
  std::unique_ptr<WebConsole> web_;
  const std::string block_ = R"({"source": "203.0.113.7"})";
  const std::string origin_ = "https://console.example:8443";
};

TEST_F(WebSessionTest, LoginSetsASecureCookieAndAnswersWhoAndCsrf) {
  auto r = call("POST", "/v1/session", R"({"token": "sgA_operator"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["name"], "tok-operator");
  EXPECT_EQ(j["role"], "operator");
  EXPECT_EQ(j["csrf_token"].get<std::string>().size(), 43u);
  EXPECT_EQ(j["expires_at"], "2027-01-15T20:00:00.000Z");  // wall + 12 h
  const std::string cookie = header(r, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("sg_session=", 0), 0u);
  EXPECT_EQ(cookie.substr(11, cookie.find(';') - 11).size(), 43u);
  EXPECT_NE(cookie.find("; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200"),
            std::string::npos)
      << cookie;
  Login l{cookie.substr(11, cookie.find(';') - 11), j["csrf_token"]};
  auto who = call("GET", "/v1/session", "", l.cookie);
  EXPECT_EQ(who.status, 200);
  EXPECT_EQ(json::parse(who.body)["csrf_token"], l.csrf);
}

TEST_F(WebSessionTest, BadTokensAreOne401AndCounted) {
  const uint64_t before = counters_.get(ApiCounter::kUnauthenticated);
  for (const char* body :
       {R"({"token": "sgA_nobody"})", R"({"token": "sgE_x"})", R"({"token": ""})"}) {
    auto r = call("POST", "/v1/session", body);
    EXPECT_EQ(r.status, 401) << body;
    EXPECT_EQ(json::parse(r.body)["message"], "the token is not valid");
    EXPECT_EQ(header(r, "Set-Cookie"), "");
  }
  EXPECT_EQ(counters_.get(ApiCounter::kUnauthenticated), before + 3);
  EXPECT_EQ(call("POST", "/v1/session", R"({"tok": 1})").status, 400);
  EXPECT_EQ(call("GET", "/v1/session").status, 401);
  EXPECT_EQ(call("GET", "/v1/session", "", "not-a-session").status, 401);
}

TEST_F(WebSessionTest, CookieReadsEveryRouteWithTheTokensRole) {
  Login viewer = login("sgA_viewer");
  EXPECT_EQ(call("GET", "/v1/endpoints", "", viewer.cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/floods", "", viewer.cookie).status, 200);
  auto denied = call("POST", "/v1/blocks", block_, viewer.cookie, viewer.csrf);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(errorCode(denied), "permission_denied");
}

TEST_F(WebSessionTest, CookieWritesNeedTheCsrfTokenAndOurOrigin) {
  Login op = login("sgA_operator");
  auto none = call("POST", "/v1/blocks", block_, op.cookie);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(errorCode(none), "csrf");
  auto wrong = call("POST", "/v1/blocks", block_, op.cookie, op.csrf + "x");
  EXPECT_EQ(errorCode(wrong), "csrf");
  Login other = login("sgA_operator");  // another session's token does not do
  EXPECT_EQ(errorCode(call("POST", "/v1/blocks", block_, op.cookie, other.csrf)), "csrf");
  auto foreign = call("POST", "/v1/blocks", block_, op.cookie, op.csrf, "https://evil.example");
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(errorCode(foreign), "csrf");
  EXPECT_EQ(errorCode(call("POST", "/v1/blocks", block_, op.cookie, op.csrf,
                           "http://console.example:8443")),
            "csrf");
  EXPECT_EQ(errorCode(call("DELETE", "/v1/blocks/203.0.113.7", "", op.cookie)), "csrf");
  EXPECT_TRUE(fake_.calls_.empty() || fake_.calls_.back() != "block");
  EXPECT_EQ(call("POST", "/v1/blocks", block_, op.cookie, op.csrf, origin_).status, 200);
  EXPECT_EQ(fake_.actor_.name, "tok-operator");
  EXPECT_EQ(call("POST", "/v1/blocks", block_, op.cookie, op.csrf).status, 200);  // no Origin
  // Reads need no CSRF token.
  EXPECT_EQ(call("GET", "/v1/blocks", "", op.cookie).status, 200);
}

TEST_F(WebSessionTest, BearerWinsOverTheCookieAndNeedsNoCsrf) {
  Login viewer = login("sgA_viewer");
  EXPECT_EQ(call("POST", "/v1/blocks", block_, viewer.cookie, "", "", "sgA_operator").status, 200);
  EXPECT_EQ(call("POST", "/v1/blocks", block_, "", "", "", "sgA_operator").status, 200);
  // A bad bearer token is refused even with a good cookie.
  EXPECT_EQ(call("GET", "/v1/endpoints", "", viewer.cookie, "", "", "sgA_nobody").status, 401);
}

TEST_F(WebSessionTest, RevokingTheTokenEndsItsSessions) {
  Login op = login("sgA_operator");
  Login admin = login("sgA_admin");
  fake_.revoke("hash-operator");
  auto r = call("GET", "/v1/endpoints", "", op.cookie);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(errorCode(r), "unauthenticated");
  fake_.revoked_.clear();  // the session is gone, not just refused
  EXPECT_EQ(call("GET", "/v1/endpoints", "", op.cookie).status, 401);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", admin.cookie).status, 200);
}

TEST_F(WebSessionTest, IdleSessionsEnd) {
  Login op = login("sgA_operator");
  clock_.advance(11ULL * 3600 * 1'000'000'000);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", op.cookie).status, 200);  // restarts its idle time
  clock_.advance(11ULL * 3600 * 1'000'000'000);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", op.cookie).status, 200);
  clock_.advance(12ULL * 3600 * 1'000'000'000);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", op.cookie).status, 401);
  EXPECT_EQ(web_->sessions().size(), 0u);
}

TEST_F(WebSessionTest, TheTableIsBoundedDroppingTheLeastRecentlyUsed) {
  Login a = login("sgA_viewer");
  clock_.advance(1000);
  Login b = login("sgA_operator");
  clock_.advance(1000);
  Login c = login("sgA_admin");
  clock_.advance(1000);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", a.cookie).status, 200);  // a is now the newest
  clock_.advance(1000);
  Login d = login("sgA_viewer");
  EXPECT_EQ(web_->sessions().size(), 3u);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", b.cookie).status, 401);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", a.cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", c.cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", d.cookie).status, 200);
}

// A token holder logging in in a loop gives up its own oldest sessions only
// (review finding: it used to log everyone else out).
TEST_F(WebSessionTest, ATokenLoggingInInALoopDropsOnlyItsOwnSessions) {
  Login admin = login("sgA_admin");
  std::vector<Login> mine;
  for (int i = 0; i < 6; ++i) {
    clock_.advance(1000);
    mine.push_back(login("sgA_viewer"));
  }
  EXPECT_EQ(web_->sessions().size(), 3u);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", admin.cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", mine[5].cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", mine[4].cookie).status, 200);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(call("GET", "/v1/endpoints", "", mine[i].cookie).status, 401) << i;
  }
  // Ended sessions leave the token's quota: logging out frees a place.
  EXPECT_EQ(call("DELETE", "/v1/session", "", mine[5].cookie, mine[5].csrf).status, 204);
  Login again = login("sgA_viewer");
  EXPECT_EQ(call("GET", "/v1/endpoints", "", mine[4].cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", again.cookie).status, 200);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", admin.cookie).status, 200);
}

// Login CSRF (review finding): only a JSON body, and only from our own
// origin when the browser names one.
TEST_F(WebSessionTest, LoginNeedsJsonAndOurOrigin) {
  auto attempt = [this](const std::string& type, const std::string& origin) {
    net::HttpRequest r;
    r.method = "POST";
    r.path = "/v1/session";
    r.body = R"({"token": "sgA_operator"})";
    r.host = "console.example:8443";
    r.content_type = type;
    r.origin = origin;
    return router_.route(r);
  };
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded",
                           "multipart/form-data; boundary=x", "application/jsonx"}) {
    auto r = attempt(type, "");
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_EQ(header(r, "Set-Cookie"), "") << type;
  }
  for (const char* origin : {"https://evil.example", "http://console.example:8443", "null"}) {
    auto r = attempt("application/json", origin);
    EXPECT_EQ(r.status, 403) << origin;
    EXPECT_EQ(errorCode(r), "csrf") << origin;
    EXPECT_EQ(header(r, "Set-Cookie"), "") << origin;
  }
  EXPECT_EQ(attempt("application/json", origin_).status, 200);
  EXPECT_EQ(attempt("Application/JSON; charset=utf-8", origin_).status, 200);
  EXPECT_EQ(attempt("application/json", "").status, 200);  // no Origin: not a browser's
}

// Behind a reverse proxy that rewrites Host (to the console's own address),
// a browser's Origin (the proxy's public address) never equals https://<Host>:
// every login failed. The public address is configured (--public-url); a
// foreign Origin is still refused, with or without it.
TEST_F(WebSessionTest, BehindAHostRewritingProxyThePublicUrlIsOurOrigin) {
  const std::string proxy_origin = "https://dash.example.com";
  auto run = [&](const std::vector<std::string>& public_origins) {
    WebOptions o;
    o.web_root = "/nonexistent-web-root";
    o.sessions.public_origins = public_origins;
    WebConsole web(
        fake_, clock_, [this] { return wall_ms_; }, o);
    net::Router router;
    addApiRoutes(router, fake_, &counters_, &web.sessions());
    web.addRoutes(router, &counters_);
    auto send = [&router](const std::string& method, const std::string& path,
                          const std::string& body, const std::string& origin,
                          const std::string& cookie = "", const std::string& csrf = "") {
      net::HttpRequest r;
      r.method = method;
      r.path = path;
      r.body = body;
      r.host = "10.0.0.5:8443";  // what the proxy forwards to
      if (!body.empty()) r.content_type = "application/json";
      r.origin = origin;
      if (!cookie.empty()) r.cookie = "sg_session=" + cookie;
      r.csrf_token = csrf;
      return router.route(r);
    };
    std::vector<int> out;
    for (const std::string& origin : {proxy_origin, std::string("https://evil.example"),
                                      std::string("http://dash.example.com")}) {
      out.push_back(send("POST", "/v1/session", R"({"token": "sgA_operator"})", origin).status);
    }
    // A cookie write from the public address and from elsewhere.
    auto l = send("POST", "/v1/session", R"({"token": "sgA_operator"})", "");
    EXPECT_EQ(l.status, 200);
    const std::string set = header(l, "Set-Cookie");
    const std::string cookie = set.substr(11, set.find(';') - 11);
    const std::string csrf = json::parse(l.body).value("csrf_token", "");
    out.push_back(send("POST", "/v1/blocks", block_, proxy_origin, cookie, csrf).status);
    out.push_back(send("POST", "/v1/blocks", block_, "https://evil.example", cookie, csrf).status);
    return out;
  };
  // Not configured: the proxy's origin is someone else's.
  EXPECT_EQ(run({}), (std::vector<int>{403, 403, 403, 403, 403}));
  // Configured: it logs in and writes; others still do not.
  EXPECT_EQ(run({proxy_origin}), (std::vector<int>{200, 403, 403, 200, 403}));
}

TEST(PublicOrigin, IsTheOriginABrowserSends) {
  EXPECT_EQ(*publicOrigin("https://dash.example.com"), "https://dash.example.com");
  EXPECT_EQ(*publicOrigin("HTTPS://Dash.Example.COM/"), "https://dash.example.com");
  EXPECT_EQ(*publicOrigin("https://dash.example.com:443/syn-guard/"), "https://dash.example.com");
  EXPECT_EQ(*publicOrigin("https://dash.example.com:8443"), "https://dash.example.com:8443");
  EXPECT_EQ(*publicOrigin("https://[2001:db8::1]:9443/x?y#z"), "https://[2001:db8::1]:9443");
  EXPECT_EQ(*publicOrigin("https://192.0.2.1"), "https://192.0.2.1");
  for (const char* bad : {"http://dash.example.com", "dash.example.com", "https://", "https:///x",
                          "https://user@dash.example.com", "https://dash.example.com:0",
                          "https://dash.example.com:99999", "https://dash.example.com:x",
                          "https://da sh.example", "https://dash.example.com:"}) {
    auto r = publicOrigin(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::kInvalidArgument) << bad;
    }
  }
}

// One token cannot take every live stream (review finding): its own cap
// refuses it with a reason while another token still gets one.
TEST_F(WebSessionTest, OneTokenCannotTakeEveryEventStream) {
  std::vector<net::HttpResponse> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(call("GET", "/v1/events", "", "", "", "", "sgA_viewer"));
    ASSERT_NE(held.back().stream, nullptr) << held.back().body;
  }
  Login viewer = login("sgA_viewer");  // the same token through a cookie
  auto over = call("GET", "/v1/events", "", viewer.cookie);
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(errorCode(over), "resource_exhausted");
  EXPECT_NE(over.body.find("for this token"), std::string::npos) << over.body;
  Login op = login("sgA_operator");
  auto other = call("GET", "/v1/events", "", op.cookie);
  ASSERT_NE(other.stream, nullptr) << other.body;
  auto full = call("GET", "/v1/events", "", "", "", "", "sgA_admin");
  EXPECT_EQ(full.status, 429);  // max_streams (3) in all
  std::string metrics;
  web_->appendPrometheus(metrics);
  EXPECT_NE(metrics.find("syn_guard_web_event_streams_refused_token_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("syn_guard_web_event_streams_refused_total 1\n"), std::string::npos);
  held[0].stream->finished();  // one of the viewer's ends: the viewer may open one again
  EXPECT_NE(call("GET", "/v1/events", "", viewer.cookie).stream, nullptr);
}

TEST_F(WebSessionTest, LogoutNeedsCsrfAndClearsTheCookie) {
  Login op = login("sgA_operator");
  EXPECT_EQ(errorCode(call("DELETE", "/v1/session", "", op.cookie)), "csrf");
  auto r = call("DELETE", "/v1/session", "", op.cookie, op.csrf, origin_);
  EXPECT_EQ(r.status, 204);
  EXPECT_NE(header(r, "Set-Cookie").find("sg_session=; "), std::string::npos);
  EXPECT_NE(header(r, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(call("GET", "/v1/session", "", op.cookie).status, 401);
  EXPECT_EQ(call("GET", "/v1/endpoints", "", op.cookie).status, 401);
}

TEST_F(WebSessionTest, LoginsAreRateLimitedPerAddress) {
  auto attempt = [this](const char* ip) {
    net::HttpRequest r;
    r.method = "POST";
    r.path = "/v1/session";
    r.body = R"({"token": "sgA_nobody"})";
    r.content_type = "application/json";
    r.peer.remote_ip = ip;
    return router_.route(r).status;
  };
  for (int i = 0; i < 20; ++i) EXPECT_EQ(attempt("192.0.2.1"), 401);
  EXPECT_EQ(attempt("192.0.2.1"), 429);
  EXPECT_EQ(attempt("192.0.2.2"), 401);  // another address has its own budget
  clock_.advance(1'000'000'000);         // one more every second
  EXPECT_EQ(attempt("192.0.2.1"), 401);
  EXPECT_EQ(attempt("192.0.2.1"), 429);
}

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookieValue("sg_session=abc", "sg_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; sg_session=abc; b=2", "sg_session"), "abc");
  EXPECT_EQ(cookieValue("xsg_session=abc", "sg_session"), "");
  EXPECT_EQ(cookieValue("sg_sessionx=abc", "sg_session"), "");
  EXPECT_EQ(cookieValue("", "sg_session"), "");
}

}  // namespace
}  // namespace sg::console
