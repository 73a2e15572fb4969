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
  Login b = login("sgA_viewer");
  clock_.advance(1000);
  Login c = login("sgA_viewer");
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

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookieValue("sg_session=abc", "sg_session"), "abc");
  EXPECT_EQ(cookieValue("a=1; sg_session=abc; b=2", "sg_session"), "abc");
  EXPECT_EQ(cookieValue("xsg_session=abc", "sg_session"), "");
  EXPECT_EQ(cookieValue("sg_sessionx=abc", "sg_session"), "");
  EXPECT_EQ(cookieValue("", "sg_session"), "");
}

}  // namespace
}  // namespace sg::console
