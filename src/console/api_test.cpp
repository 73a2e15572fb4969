// The REST API through the Router over a fake ConsoleService: every route's
// happy path and JSON shape, the Errc -> HTTP mapping, roles, tokens and bad
// requests (docs/api.md).
#include "console/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "console/api_fake_service.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

using nlohmann::json;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() { addApiRoutes(router_, fake_, &counters_); }

  // `target` may carry a query ("/v1/floods?all=true"); `token` "" sends none.
  net::HttpResponse call(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "admin") {
    net::HttpRequest req;
    req.method = method;
    size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = body;
    if (!token.empty()) req.authorization = "Bearer sgA_" + token;
    return router_.route(req);
  }

  json callJson(const std::string& method, const std::string& target, int want_status,
                const std::string& body = "", const std::string& token = "admin") {
    auto resp = call(method, target, body, token);
    EXPECT_EQ(resp.status, want_status) << method << " " << target << ": " << resp.body;
    EXPECT_EQ(resp.content_type, "application/json");
    auto j = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << resp.body;
    return j;
  }

  // A 4xx/5xx with the errorResponse shape; returns its message.
  std::string errorOf(const std::string& method, const std::string& target, int want_status,
                      const std::string& body = "", const std::string& token = "admin") {
    json j = callJson(method, target, want_status, body, token);
    EXPECT_TRUE(j.is_object() && j.size() == 2 && j["error"].is_string() &&
                j["message"].is_string())
        << j.dump();
    return j.value("message", "");
  }

  test::FakeConsoleService fake_;
  ApiCounters counters_;
  net::Router router_;
};

Prefix pfx(const char* text) { return *parsePrefix(text); }

FloodView sampleFlood() {
  FloodView v;
  v.flood.id = 3;
  v.flood.source = pfx("203.0.113.7");
  v.flood.state = FloodState::kBlock;
  v.flood.severity = Severity::kHigh;
  v.flood.started_ns = 10'000'000'000;
  v.flood.last_seen_ns = 12'000'000'000;
  v.flood.peak_rate = 512.5;
  Sighting a;
  a.ports = {80, 443};
  a.max_count = 2050;
  a.peak_rate = 512.5;
  a.attempts = true;
  a.first_attempt_ns = 10'000'000'000;
  a.last_detected_ns = 11'500'000'000;
  a.action = EndpointAction::kBlocked;
  Sighting b;
  b.ports = {22};
  b.last_detected_ns = 12'000'000'000;
  v.flood.endpoints = {{"web-1", a}, {"web-2", b}};
  v.started_at_ms = 1'796'000'000'000;  // 2026-11-30T00:53:20Z
  v.last_seen_ms = v.started_at_ms + 2000;
  return v;
}

// ---- reads ------------------------------------------------------------------

TEST_F(ApiTest, EndpointsListHasTheIssuesFields) {
  EndpointView e;
  e.name = "web-1";
  e.labels = {{"dept", "payments"}, {"org", "acme"}};
  e.online = true;
  e.policy = "payments";
  e.policy_version = 9;
  e.applied_version = 8;
  e.isolated = true;
  e.active_blocks = 4;
  e.last_heartbeat_ms = 1'796'000'000'123;
  e.rejected = {"block_add 10.0.0.1: source on allowlist"};
  EndpointView never;
  never.name = "db-1";
  fake_.endpoints_ = {e, never};
  json j = callJson("GET", "/v1/endpoints", 200, "", "viewer");
  EXPECT_EQ(j["kind"], "EndpointList");
  EXPECT_EQ(j["resourceVersion"], "42");
  ASSERT_EQ(j["items"].size(), 2u);
  const json& it = j["items"][0];
  EXPECT_EQ(it["name"], "web-1");
  EXPECT_EQ(it["labels"], (json{{"dept", "payments"}, {"org", "acme"}}));
  EXPECT_EQ(it["online"], true);
  EXPECT_EQ(it["revoked"], false);
  EXPECT_EQ(it["policy"], "payments");
  EXPECT_EQ(it["policy_version"], 9);
  EXPECT_EQ(it["applied_version"], 8);
  EXPECT_EQ(it["lagging"], true);
  EXPECT_EQ(it["isolated"], true);
  EXPECT_EQ(it["active_blocks"], 4);
  EXPECT_EQ(it["last_heartbeat"], "2026-11-30T00:53:20.123Z");
  EXPECT_EQ(it["rejected"].size(), 1u);
  EXPECT_TRUE(j["items"][1]["last_heartbeat"].is_null());
  EXPECT_EQ(j["items"][1]["labels"], json::object());
}

TEST_F(ApiTest, FloodsListActiveByDefaultAndAllOnRequest) {
  fake_.floods_ = {sampleFlood()};
  json j = callJson("GET", "/v1/floods", 200, "", "viewer");
  EXPECT_FALSE(fake_.include_ended_);
  EXPECT_EQ(j["kind"], "FloodList");
  const json& f = j["items"][0];
  EXPECT_EQ(f["id"], 3);
  EXPECT_EQ(f["source"], "203.0.113.7");
  EXPECT_EQ(f["ports"], (json{22, 80, 443}));
  EXPECT_EQ(f["state"], "BLOCK");
  EXPECT_EQ(f["severity"], "HIGH");
  EXPECT_EQ(f["endpoints"], (json{"web-1", "web-2"}));
  EXPECT_EQ(f["started_at"], "2026-11-30T00:53:20.000Z");
  EXPECT_EQ(f["last_seen"], "2026-11-30T00:53:22.000Z");
  EXPECT_TRUE(f["ended_at"].is_null());
  EXPECT_EQ(f["peak_rate"], 512.5);
  EXPECT_EQ(f["active"], true);
  ASSERT_EQ(f["sightings"].size(), 2u);
  const json& s = f["sightings"][0];
  EXPECT_EQ(s["endpoint"], "web-1");
  EXPECT_EQ(s["ports"], (json{80, 443}));
  EXPECT_EQ(s["max_count"], 2050);
  EXPECT_EQ(s["peak_rate"], 512.5);
  EXPECT_EQ(s["first_attempt_at"], "2026-11-30T00:53:20.000Z");
  EXPECT_EQ(s["last_seen"], "2026-11-30T00:53:21.500Z");
  EXPECT_EQ(s["action"], "BLOCK");
  EXPECT_TRUE(f["sightings"][1]["first_attempt_at"].is_null());

  callJson("GET", "/v1/floods?all=true", 200);
  EXPECT_TRUE(fake_.include_ended_);
  callJson("GET", "/v1/floods?all=false", 200);
  EXPECT_FALSE(fake_.include_ended_);
  EXPECT_NE(errorOf("GET", "/v1/floods?all=yes", 400).find("all"), std::string::npos);
  EXPECT_NE(errorOf("GET", "/v1/floods?al=true", 400).find("'al'"), std::string::npos);
  EXPECT_NE(errorOf("GET", "/v1/floods?all=true&all=false", 400).find("twice"), std::string::npos);
}

TEST_F(ApiTest, EndedFloodShowsWhenItEnded) {
  FloodView f = sampleFlood();
  f.flood.active = false;
  f.ended_at_ms = f.last_seen_ms + 60'000;
  fake_.floods_ = {f};
  json j = callJson("GET", "/v1/floods/3", 200);
  EXPECT_EQ(j["id"], 3);
  EXPECT_EQ(j["active"], false);
  EXPECT_EQ(j["ended_at"], "2026-11-30T00:54:22.000Z");
}

TEST_F(ApiTest, OneFloodByIdOrNotFound) {
  fake_.floods_ = {sampleFlood()};
  EXPECT_EQ(callJson("GET", "/v1/floods/3", 200)["source"], "203.0.113.7");
  EXPECT_NE(errorOf("GET", "/v1/floods/4", 404).find("4"), std::string::npos);
  EXPECT_NE(errorOf("GET", "/v1/floods/x3", 400).find("id"), std::string::npos);
  errorOf("GET", "/v1/floods/-1", 400);
  errorOf("GET", "/v1/floods/99999999999999999999999", 400);
}

TEST_F(ApiTest, BlocksShowExpiryAckedAndPending) {
  BlockView perm;
  perm.block.source = pfx("198.51.100.0/24");
  perm.block.added_by = "alice";
  perm.block.reason = "botnet";
  perm.block.version = 4;
  perm.added_at_ms = 1'796'000'000'000;
  perm.status = BlockStatus{3, 1, 0};
  BlockView ttl;
  ttl.block.source = pfx("2001:db8::7");
  ttl.expires_at_ms = 1'796'000'600'000;
  fake_.blocks_ = {perm, ttl};
  json j = callJson("GET", "/v1/blocks", 200, "", "viewer");
  EXPECT_EQ(j["kind"], "BlockList");
  const json& b = j["items"][0];
  EXPECT_EQ(b["source"], "198.51.100.0/24");
  EXPECT_TRUE(b["expires_at"].is_null());
  EXPECT_EQ(b["added_by"], "alice");
  EXPECT_EQ(b["reason"], "botnet");
  EXPECT_EQ(b["acked"], 3);
  EXPECT_EQ(b["pending"], 1);
  EXPECT_EQ(b["rejected"], 0);
  EXPECT_EQ(b["version"], 4);
  EXPECT_EQ(b["added_at"], "2026-11-30T00:53:20.000Z");
  EXPECT_EQ(j["items"][1]["source"], "2001:db8::7");
  EXPECT_EQ(j["items"][1]["expires_at"], "2026-11-30T01:03:20.000Z");
}

TEST_F(ApiTest, IncidentsPoliciesAndAudit) {
  fake_.incidents_ = {IncidentRecord{1, 3, "call the ISP", "bob", 1'796'000'000'000, "posted 200"}};
  Policy p;
  p.name = "payments";
  p.selector = {{"dept", "payments"}};
  p.profile = proto::PolicyParams{"payments", 50, 2000, 600000, EnforcerKind::kNftables};
  p.revision = 11;
  fake_.policies_ = {p};
  fake_.audit_ = {AuditRecord{8, 1'796'000'000'000, "alice", "block", "10.0.0.0/8", "botnet"}};

  json inc = callJson("GET", "/v1/incidents", 200, "", "viewer");
  EXPECT_EQ(inc["kind"], "IncidentList");
  EXPECT_EQ(inc["items"][0], (json{{"id", 1},
                                   {"flood_id", 3},
                                   {"note", "call the ISP"},
                                   {"created_by", "bob"},
                                   {"created_at", "2026-11-30T00:53:20.000Z"},
                                   {"webhook_status", "posted 200"}}));

  json pol = callJson("GET", "/v1/policies", 200, "", "viewer");
  EXPECT_EQ(pol["kind"], "PolicyList");
  EXPECT_EQ(pol["items"][0], (json{{"name", "payments"},
                                   {"selector", {{"dept", "payments"}}},
                                   {"flood_threshold", 50},
                                   {"flood_window", "2s"},
                                   {"block_duration", "10m"},
                                   {"enforcer", "nftables"},
                                   {"revision", 11}}));

  json aud = callJson("GET", "/v1/audit", 200, "", "viewer");
  EXPECT_EQ(aud["kind"], "AuditList");
  EXPECT_EQ(fake_.after_, 0u);
  EXPECT_EQ(fake_.limit_, 100u);
  EXPECT_EQ(aud["items"][0], (json{{"id", 8},
                                   {"at", "2026-11-30T00:53:20.000Z"},
                                   {"actor", "alice"},
                                   {"action", "block"},
                                   {"target", "10.0.0.0/8"},
                                   {"details", "botnet"}}));
  callJson("GET", "/v1/audit?after=8&limit=1000", 200);
  EXPECT_EQ(fake_.after_, 8u);
  EXPECT_EQ(fake_.limit_, 1000u);
  EXPECT_NE(errorOf("GET", "/v1/audit?limit=1001", 400).find("limit"), std::string::npos);
  EXPECT_NE(errorOf("GET", "/v1/audit?limit=0", 400).find("limit"), std::string::npos);
  EXPECT_NE(errorOf("GET", "/v1/audit?after=x", 400).find("after"), std::string::npos);
  errorOf("GET", "/v1/audit?after=%zz", 400);
}

TEST_F(ApiTest, ReadsRefuseUnknownQueryParameters) {
  for (const char* path :
       {"/v1/endpoints", "/v1/blocks", "/v1/incidents", "/v1/policies", "/v1/floods/1"}) {
    EXPECT_NE(errorOf("GET", std::string(path) + "?watch=1", 400).find("watch"), std::string::npos)
        << path;
  }
}

// ---- actions ----------------------------------------------------------------

TEST_F(ApiTest, BlockWithTtlReasonAndPermanent) {
  json j = callJson("POST", "/v1/blocks", 200,
                    R"({"source":"203.0.113.7","ttl":"10m","reason":"flood"})", "operator");
  EXPECT_EQ(j, (json{{"source", "203.0.113.7"}, {"version", 7}}));
  EXPECT_EQ(fake_.source_, pfx("203.0.113.7"));
  EXPECT_EQ(fake_.ttl_, std::optional<Nanos>(std::chrono::minutes(10)));
  EXPECT_EQ(fake_.text_, "flood");
  EXPECT_EQ(fake_.actor_.name, "tok-operator");

  j = callJson("POST", "/v1/blocks", 200, R"({"source":"2001:db8::/32"})");
  EXPECT_EQ(j["source"], "2001:db8::/32");
  EXPECT_FALSE(fake_.ttl_.has_value());
  EXPECT_EQ(fake_.text_, "");
}

TEST_F(ApiTest, BlockBodyErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* mentions;
  } cases[] = {
      {R"({"source":"203.0.113.300"})", "source"},
      {R"({"source":"10.0.0.1/8"})", "source"},
      {R"({"source":7})", "source"},
      {R"({})", "source"},
      {R"({"source":"10.0.0.1","ttl":"10"})", "ttl"},
      {R"({"source":"10.0.0.1","ttl":"0s"})", "ttl"},
      {R"({"source":"10.0.0.1","ttl":600})", "ttl"},
      {R"({"source":"10.0.0.1","ttl":"1.5ms"})", "ttl"},
      {R"({"source":"10.0.0.1","reason":["x"]})", "reason"},
      {R"({"source":"10.0.0.1","why":"x"})", "'why'"},
      {R"({"source":"10.0.0.1","source":"10.0.0.2"})", "twice"},
      {R"(["source"])", "object"},
      {R"({"source":"10.0.0.1")", "JSON"},
      {R"({"source":"10.0.0.1","reason":{"a":{"b":{"c":{"d":1}}}}})", "nested"},
  };
  for (const auto& c : cases) {
    std::string msg = errorOf("POST", "/v1/blocks", 400, c.body);
    EXPECT_NE(msg.find(c.mentions), std::string::npos) << c.body << " -> " << msg;
  }
  EXPECT_TRUE(fake_.calls_.empty());
  std::string long_reason(257, 'x');
  EXPECT_NE(
      errorOf("POST", "/v1/blocks", 400, R"({"source":"10.0.0.1","reason":")" + long_reason + "\"}")
          .find("reason"),
      std::string::npos);
}

TEST_F(ApiTest, DeeplyNestedBodyIsRefusedBeforeParsing) {
  std::string deep(100'000, '[');
  EXPECT_NE(errorOf("POST", "/v1/blocks", 400, deep).find("nested"), std::string::npos);
}

TEST_F(ApiTest, UnblockTakesAPercentEncodedPrefix) {
  json j = callJson("DELETE", "/v1/blocks/10.0.0.0%2F8", 200, "", "operator");
  EXPECT_EQ(j, (json{{"source", "10.0.0.0/8"}, {"version", 7}}));
  EXPECT_EQ(fake_.source_, pfx("10.0.0.0/8"));
  callJson("DELETE", "/v1/blocks/2001:db8::1", 200);
  EXPECT_EQ(fake_.source_, pfx("2001:db8::1"));
  callJson("DELETE", "/v1/blocks/2001%3adb8%3A%3A%2f32", 200);
  EXPECT_EQ(fake_.source_, pfx("2001:db8::/32"));
  EXPECT_NE(errorOf("DELETE", "/v1/blocks/10.0.0.0%2", 400).find("source"), std::string::npos);
  EXPECT_NE(errorOf("DELETE", "/v1/blocks/nope", 400).find("source"), std::string::npos);
  // An unencoded '/' makes another path.
  errorOf("DELETE", "/v1/blocks/10.0.0.0/8", 404);
}

TEST_F(ApiTest, IsolateReleaseRevoke) {
  json j = callJson("POST", "/v1/endpoints/web-1/isolate", 200, R"({"reason":"compromised"})",
                    "operator");
  EXPECT_EQ(j, (json{{"endpoint", "web-1"}, {"isolated", true}, {"version", 7}}));
  EXPECT_EQ(fake_.text_, "web-1|compromised");
  callJson("POST", "/v1/endpoints/web-1/isolate", 200, "", "operator");
  EXPECT_EQ(fake_.text_, "web-1|");
  j = callJson("POST", "/v1/endpoints/web-1/release", 200, "{}", "operator");
  EXPECT_EQ(j, (json{{"endpoint", "web-1"}, {"isolated", false}, {"version", 7}}));
  errorOf("POST", "/v1/endpoints/web-1/release", 400, R"({"reason":"x"})", "operator");
  j = callJson("POST", "/v1/endpoints/web-1/revoke", 200);
  EXPECT_EQ(j, (json{{"endpoint", "web-1"}, {"revoked", true}}));
  EXPECT_EQ(fake_.calls_.back(), "revokeEndpoint");
}

TEST_F(ApiTest, EscalateOpensAnIncident) {
  json j = callJson("POST", "/v1/floods/3/escalate", 201, R"({"note":"page on-call"})", "operator");
  EXPECT_EQ(j, (json{{"incident_id", 5}, {"flood_id", 3}}));
  EXPECT_EQ(fake_.id_, 3u);
  EXPECT_EQ(fake_.text_, "page on-call");
  EXPECT_NE(errorOf("POST", "/v1/floods/3/escalate", 400, R"({"note":1})").find("note"),
            std::string::npos);
}

TEST_F(ApiTest, PolicySetAndDelete) {
  json j = callJson("PUT", "/v1/policies/payments", 200,
                    R"({"selector":{"dept":"payments","org":"acme"},"flood_threshold":50,)"
                    R"("flood_window":"2s","block_duration":"10m","enforcer":"nftables"})");
  EXPECT_EQ(j, (json{{"name", "payments"}, {"version", 7}}));
  ASSERT_TRUE(fake_.policy_);
  EXPECT_EQ(fake_.policy_->name, "payments");
  EXPECT_EQ(fake_.policy_->selector, (Labels{{"dept", "payments"}, {"org", "acme"}}));
  EXPECT_EQ(fake_.policy_->profile,
            (proto::PolicyParams{"payments", 50, 2000, 600000, EnforcerKind::kNftables}));

  // Absent profile fields: the built-in defaults.
  callJson("PUT", "/v1/policies/all", 200, R"({"selector":{}})");
  proto::PolicyParams defaults;
  defaults.name = "all";
  EXPECT_EQ(fake_.policy_->profile, defaults);

  j = callJson("DELETE", "/v1/policies/payments", 200);
  EXPECT_EQ(j, (json{{"name", "payments"}, {"version", 7}}));
  EXPECT_EQ(fake_.text_, "payments");
}

TEST_F(ApiTest, PolicyBodyErrorsNameTheField) {
  struct Case {
    const char* name;
    const char* body;
    const char* mentions;
  } cases[] = {
      {"p", R"({})", "selector"},
      {"p", R"({"selector":{"colour":"red"}})", "colour"},
      {"p", R"({"selector":{"dept":1}})", "dept"},
      {"p", R"({"selector":[]})", "selector"},
      {"p", R"({"selector":{},"flood_threshold":0})", "flood_threshold"},
      {"p", R"({"selector":{},"flood_threshold":-5})", "flood_threshold"},
      {"p", R"({"selector":{},"flood_threshold":"5"})", "flood_threshold"},
      {"p", R"({"selector":{},"flood_threshold":2000000})", "flood_threshold"},
      {"p", R"({"selector":{},"flood_window":"2 s"})", "flood_window"},
      {"p", R"({"selector":{},"flood_window":"2h"})", "window"},
      {"p", R"({"selector":{},"block_duration":"48h"})", "block duration"},
      {"p", R"({"selector":{},"enforcer":"iptables"})", "enforcer"},
      {"p", R"({"selector":{},"threshold":5})", "'threshold'"},
      {"default", R"({"selector":{}})", "default"},
  };
  for (const auto& c : cases) {
    std::string msg = errorOf("PUT", std::string("/v1/policies/") + c.name, 400, c.body);
    EXPECT_NE(msg.find(c.mentions), std::string::npos) << c.body << " -> " << msg;
  }
  EXPECT_TRUE(fake_.calls_.empty());
}

TEST_F(ApiTest, TokensAndEnrollmentTokens) {
  json j = callJson("POST", "/v1/tokens", 201, R"({"name":"ci-bot","role":"operator"})");
  EXPECT_EQ(j, (json{{"token", "sgA_new"}, {"name", "ci-bot"}, {"role", "operator"}}));
  EXPECT_EQ(fake_.role_, Role::kOperator);
  EXPECT_EQ(fake_.text_, "ci-bot");
  EXPECT_NE(errorOf("POST", "/v1/tokens", 400, R"({"name":"x","role":"root"})").find("role"),
            std::string::npos);
  EXPECT_NE(errorOf("POST", "/v1/tokens", 400, R"({"name":"a b","role":"admin"})").find("name"),
            std::string::npos);
  EXPECT_NE(errorOf("POST", "/v1/tokens", 400, R"({"role":"admin"})").find("name"),
            std::string::npos);

  j = callJson("POST", "/v1/enrollment-tokens", 201,
               R"({"labels":{"org":"acme","dept":"payments"},"ttl":"1h"})");
  EXPECT_EQ(j, (json{{"token", "sgE_new"}}));
  EXPECT_EQ(fake_.labels_, (Labels{{"org", "acme"}, {"dept", "payments"}}));
  EXPECT_EQ(fake_.ttl_, std::optional<Nanos>(std::chrono::hours(1)));
  callJson("POST", "/v1/enrollment-tokens", 201, R"({"labels":{}})");
  EXPECT_FALSE(fake_.ttl_.has_value());
  EXPECT_NE(
      errorOf("POST", "/v1/enrollment-tokens", 400, R"({"labels":{"name":"x"}})").find("labels"),
      std::string::npos);
  EXPECT_NE(
      errorOf("POST", "/v1/enrollment-tokens", 400, R"({"labels":{"org":""}})").find("labels"),
      std::string::npos);
}

// ---- authentication, roles, errors ------------------------------------------

TEST_F(ApiTest, EveryRouteNeedsAToken) {
  const std::pair<const char*, const char*> routes[] = {
      {"GET", "/v1/endpoints"},
      {"GET", "/v1/floods"},
      {"GET", "/v1/floods/1"},
      {"GET", "/v1/blocks"},
      {"GET", "/v1/incidents"},
      {"GET", "/v1/policies"},
      {"GET", "/v1/audit"},
      {"POST", "/v1/blocks"},
      {"DELETE", "/v1/blocks/10.0.0.1"},
      {"POST", "/v1/endpoints/a/isolate"},
      {"POST", "/v1/endpoints/a/release"},
      {"POST", "/v1/endpoints/a/revoke"},
      {"POST", "/v1/floods/1/escalate"},
      {"PUT", "/v1/policies/p"},
      {"DELETE", "/v1/policies/p"},
      {"POST", "/v1/tokens"},
      {"POST", "/v1/enrollment-tokens"},
  };
  for (const auto& [method, path] : routes) {
    errorOf(method, path, 401, "", "");
    errorOf(method, path, 401, "", "garbage");
    net::HttpRequest req;
    req.method = method;
    req.path = path;
    req.authorization = "Basic YWRtaW46YWRtaW4=";
    EXPECT_EQ(router_.route(req).status, 401) << method << " " << path;
  }
  EXPECT_TRUE(fake_.calls_.empty());
}

TEST_F(ApiTest, RolesAreEnforcedPerRoute) {
  // viewer: reads only.
  errorOf("POST", "/v1/blocks", 403, R"({"source":"10.0.0.1"})", "viewer");
  errorOf("DELETE", "/v1/blocks/10.0.0.1", 403, "", "viewer");
  errorOf("POST", "/v1/endpoints/a/isolate", 403, "", "viewer");
  errorOf("POST", "/v1/endpoints/a/release", 403, "", "viewer");
  errorOf("POST", "/v1/floods/1/escalate", 403, "", "viewer");
  // operator: acts, but does not manage tokens, policies or credentials.
  std::string msg =
      errorOf("POST", "/v1/tokens", 403, R"({"name":"x","role":"admin"})", "operator");
  EXPECT_NE(msg.find("admin"), std::string::npos) << msg;
  errorOf("POST", "/v1/enrollment-tokens", 403, R"({"labels":{}})", "operator");
  errorOf("PUT", "/v1/policies/p", 403, R"({"selector":{}})", "operator");
  errorOf("DELETE", "/v1/policies/p", 403, "", "operator");
  errorOf("POST", "/v1/endpoints/a/revoke", 403, "", "operator");
  EXPECT_TRUE(fake_.calls_.empty());
}

TEST_F(ApiTest, ServiceErrorsMapToStatuses) {
  const std::pair<Errc, int> mapping[] = {
      {Errc::kInvalidArgument, 400}, {Errc::kUnauthenticated, 401}, {Errc::kPermissionDenied, 403},
      {Errc::kNotFound, 404},        {Errc::kAlreadyExists, 409},   {Errc::kResourceExhausted, 429},
  };
  for (const auto& [code, status] : mapping) {
    fake_.fail_next_ = Error(code, "the service says no");
    EXPECT_EQ(errorOf("POST", "/v1/blocks", status, R"({"source":"10.0.0.1"})"),
              "the service says no");
    fake_.fail_next_ = Error(code, "reads fail too");
    EXPECT_EQ(errorOf("GET", "/v1/blocks", status), "reads fail too");
  }
  for (Errc internal : {Errc::kIo, Errc::kUnavailable}) {
    fake_.fail_next_ = Error(internal, "sqlite: disk I/O error at /var/lib/x.db");
    std::string msg = errorOf("GET", "/v1/endpoints", 500);
    EXPECT_EQ(msg, "internal error");
    fake_.fail_next_ = Error(internal, "sqlite: disk I/O error at /var/lib/x.db");
    EXPECT_EQ(errorOf("POST", "/v1/endpoints/a/revoke", 500), "internal error");
  }
}

TEST_F(ApiTest, UnknownPathsAndMethods) {
  errorOf("GET", "/v1/nothing", 404);
  errorOf("GET", "/v2/floods", 404);
  errorOf("PATCH", "/v1/blocks", 405);
  errorOf("POST", "/v1/floods", 405);
}

TEST_F(ApiTest, CountsEveryAnswerByOutcome) {
  callJson("GET", "/v1/floods", 200);
  errorOf("GET", "/v1/floods", 401, "", "");
  errorOf("POST", "/v1/blocks", 403, R"({"source":"10.0.0.1"})", "viewer");
  errorOf("POST", "/v1/blocks", 400, R"({"source":"x"})");
  errorOf("GET", "/v1/floods/9", 404);
  fake_.fail_next_ = Error(Errc::kAlreadyExists, "x");
  errorOf("GET", "/v1/blocks", 409);
  fake_.fail_next_ = Error(Errc::kResourceExhausted, "x");
  errorOf("GET", "/v1/blocks", 429);
  fake_.fail_next_ = Error(Errc::kIo, "x");
  errorOf("GET", "/v1/blocks", 500);
  errorOf("GET", "/v1/nothing", 404);  // the router's: not an API answer
  EXPECT_EQ(counters_.get(ApiCounter::kRequests), 8u);
  for (ApiCounter c : {ApiCounter::kBadRequests, ApiCounter::kUnauthenticated,
                       ApiCounter::kForbidden, ApiCounter::kNotFound, ApiCounter::kConflicts,
                       ApiCounter::kExhausted, ApiCounter::kInternalErrors}) {
    EXPECT_EQ(counters_.get(c), 1u) << kApiCounterNames[static_cast<size_t>(c)];
  }
  std::string text;
  appendPrometheus(text, counters_);
  EXPECT_NE(
      text.find("# TYPE syn_guard_api_requests_total counter\nsyn_guard_api_requests_total 8\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("syn_guard_api_forbidden_total 1\n"), std::string::npos);
}

TEST_F(ApiTest, InvalidUtf8IsReplacedNotThrown) {
  EndpointView e;
  e.name = "bad\xff";
  fake_.endpoints_ = {e};
  auto resp = call("GET", "/v1/endpoints");
  EXPECT_EQ(resp.status, 200);
  EXPECT_FALSE(json::parse(resp.body, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace sg::console
