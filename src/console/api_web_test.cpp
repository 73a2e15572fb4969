// The dashboard's REST routes through the router over the fake service:
// shapes, roles and refusals (docs/dashboard.md "New and extended routes").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "console/api.h"
#include "console/api_fake_service.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

using nlohmann::json;

class ApiWebTest : public ::testing::Test {
 protected:
  ApiWebTest() { addApiRoutes(router_, fake_, &counters_); }
  net::HttpResponse call(const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "admin") {
    net::HttpRequest req;
    req.method = method;
    const size_t q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = body;
    req.authorization = "Bearer sgA_" + token;
    return router_.route(req);
  }
  json ok(const std::string& method, const std::string& target, const std::string& body = "",
          const std::string& token = "admin") {
    auto r = call(method, target, body, token);
    EXPECT_EQ(r.status, 200) << method << " " << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  int status(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& token = "admin") {
    return call(method, target, body, token).status;
  }
  static IncidentRecord incident(uint64_t id, const char* note) {
    return IncidentRecord{id, 3, note, "alice", 1'764'480'000'000, "pending"};
  }

  test::FakeConsoleService fake_;
  ApiCounters counters_;
  net::Router router_;
};

TEST_F(ApiWebTest, AcknowledgeNeedsAnOperatorAndAnswersTheAcknowledgement) {
  EXPECT_EQ(status("POST", "/v1/floods/3/acknowledge", "", "viewer"), 403);
  json j = ok("POST", "/v1/floods/3/acknowledge", R"({"note": "on it"})", "operator");
  EXPECT_EQ(j, (json{{"flood_id", 3},
                     {"acknowledged_by", "tok-operator"},
                     {"acknowledged_at", "2025-11-30T05:20:00.000Z"}}));
  EXPECT_EQ(fake_.text_, "on it");
  EXPECT_EQ(
      status("POST", "/v1/floods/3/acknowledge", json{{"note", std::string(1025, 'x')}}.dump()),
      400);
  EXPECT_EQ(status("POST", "/v1/floods/3/acknowledge", R"({"why": 1})"), 400);
  EXPECT_EQ(status("POST", "/v1/floods/x/acknowledge"), 400);
}

TEST_F(ApiWebTest, BlockDetailListsEndpoints) {
  fake_.block_detail_.view.block.source = *parsePrefix("203.0.113.7");
  fake_.block_detail_.applied = {"web-1"};
  fake_.block_detail_.pending = {"web-2", "web-3"};
  fake_.block_detail_.rejected = {{"db-1", "source on allowlist"}};
  json j = ok("GET", "/v1/blocks/203.0.113.7", "", "viewer");
  EXPECT_EQ(j["source"], "203.0.113.7");
  EXPECT_EQ(j["applied_endpoints"], (json{"web-1"}));
  EXPECT_EQ(j["pending_endpoints"], (json{"web-2", "web-3"}));
  EXPECT_EQ(j["rejected_endpoints"],
            (json::array({{{"endpoint", "db-1"}, {"reason", "source on allowlist"}}})));
  EXPECT_EQ(ok("GET", "/v1/blocks/10.0.0.0%2F8")["source"], "203.0.113.7");
  EXPECT_EQ(*fake_.source_, *parsePrefix("10.0.0.0/8"));
  EXPECT_EQ(status("GET", "/v1/blocks/nonsense"), 400);
}

TEST_F(ApiWebTest, PolicyPreviewParsesLikeAPutAndChangesNothing) {
  fake_.preview_ = PolicyPreview{"payments", {{"web-1", "default", "payments"}}, 41};
  json j = ok("POST", "/v1/policy-preview",
              R"({"name": "payments", "selector": {"dept": "payments"}, "flood_threshold": 50})",
              "viewer");
  EXPECT_EQ(j,
            (json{{"name", "payments"},
                  {"affected",
                   json::array({{{"endpoint", "web-1"}, {"from", "default"}, {"to", "payments"}}})},
                  {"unchanged", 41}}));
  ASSERT_TRUE(fake_.preview_policy_.has_value());
  EXPECT_EQ(fake_.preview_policy_->profile.threshold, 50u);
  ok("POST", "/v1/policy-preview", R"({"name": "payments", "delete": true})");
  EXPECT_FALSE(fake_.preview_policy_.has_value());
  for (const char* bad : {R"({"selector": {}})", R"({"name": "x", "delete": false})",
                          R"({"name": "x", "delete": true, "selector": {}})",
                          R"({"name": "default", "selector": {}})", R"({"name": 3})",
                          R"({"name": "x", "selector": {"color": "red"}})"}) {
    EXPECT_EQ(status("POST", "/v1/policy-preview", bad), 400) << bad;
  }
  EXPECT_TRUE(fake_.calls_.empty() || fake_.calls_.back() != "setPolicy");
}

TEST_F(ApiWebTest, AuditTakesQBeforeAndAnswersMore) {
  json j = ok("GET", "/v1/audit?q=Alice&before=0&limit=5", "", "viewer");
  EXPECT_EQ(j["kind"], "AuditList");
  EXPECT_EQ(j["more"], true);
  EXPECT_EQ(fake_.audit_query_->text, "Alice");
  EXPECT_EQ(fake_.audit_query_->before_id, std::optional<uint64_t>(0));
  EXPECT_EQ(fake_.audit_query_->limit, 5u);
  ok("GET", "/v1/audit?after=4");
  EXPECT_FALSE(fake_.audit_query_->before_id.has_value());
  EXPECT_EQ(fake_.audit_query_->after_id, 4u);
  EXPECT_EQ(status("GET", "/v1/audit?after=1&before=9"), 400);
  EXPECT_EQ(status("GET", "/v1/audit?q=" + std::string(257, 'a')), 400);
  EXPECT_EQ(status("GET", "/v1/audit?sort=id"), 400);
}

TEST_F(ApiWebTest, IncidentsSearchAndPageBothWays) {
  fake_.incidents_ = {incident(1, "first"), incident(2, "DDoS on payments"), incident(3, "x"),
                      incident(4, "payments again")};
  auto ids = [](const json& j) {
    std::vector<uint64_t> out;
    for (const auto& i : j["items"]) out.push_back(i["id"].get<uint64_t>());
    return out;
  };
  json j = ok("GET", "/v1/incidents?limit=2");
  EXPECT_EQ(ids(j), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(j["more"], true);
  j = ok("GET", "/v1/incidents?after=2");
  EXPECT_EQ(ids(j), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(j["more"], false);
  j = ok("GET", "/v1/incidents?before=0&limit=3");
  EXPECT_EQ(ids(j), (std::vector<uint64_t>{4, 3, 2}));
  EXPECT_EQ(j["more"], true);
  j = ok("GET", "/v1/incidents?q=PAYMENTS&before=4");
  EXPECT_EQ(ids(j), (std::vector<uint64_t>{2}));
  EXPECT_EQ(status("GET", "/v1/incidents?limit=1001"), 400);
}

TEST_F(ApiWebTest, TimelineShape) {
  fake_.timeline_.points = {TimelinePoint{1'764'480'000'000, std::nullopt},
                            TimelinePoint{1'764'480'005'000, RatePoint{812.5, 640}}};
  fake_.timeline_.marks = {
      TimelineMark{1'764'480'001'000, "detect", "203.0.113.7 on web-1", 3, ""},
      TimelineMark{1'764'480'002'000, "action", "alice: block", std::nullopt, ""}};
  json j = ok("GET", "/v1/timeline", "", "viewer");
  EXPECT_EQ(j["kind"], "Timeline");
  EXPECT_EQ(j["endpoint"], nullptr);
  EXPECT_EQ(j["step"], "5s");
  EXPECT_EQ(j["points"][0], (json{{"at", "2025-11-30T05:20:00.000Z"},
                                  {"attempts_per_s", nullptr},
                                  {"dropped_per_s", nullptr}}));
  EXPECT_EQ(j["points"][1]["attempts_per_s"], 812.5);
  EXPECT_EQ(j["marks"][0]["flood_id"], 3);
  EXPECT_EQ(j["marks"][1]["flood_id"], nullptr);
  EXPECT_EQ(ok("GET", "/v1/timeline?endpoint=web-1")["endpoint"], "web-1");
  EXPECT_EQ(fake_.text_, "web-1");
  EXPECT_EQ(status("GET", "/v1/timeline?endpoint="), 400);
  EXPECT_EQ(status("GET", "/v1/timeline", "", "nobody"), 401);
}

}  // namespace
}  // namespace sg::console
