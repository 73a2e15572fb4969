// `syn-guard ctl` without a console: its arguments parsed into the API
// requests it sends (through a fake transport), its settings' precedence, its
// exit codes and its tables.
#include "cli/ctl.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "test_helpers.h"

namespace sg::cli::ctl {
namespace {

using nlohmann::json;

class CtlTest : public ::testing::Test {
 protected:
  CtlTest() {
    io_->transport = [this](const Settings& s, const Request& r) -> Result<Reply> {
      settings_ = s;
      requests_.push_back(r);
      if (unreachable_) return makeError(Errc::kIo, "connection refused");
      if (replies_.empty()) return Reply{200, R"({"items":[]})"};
      Reply reply = replies_.front();
      replies_.erase(replies_.begin());
      return reply;
    };
    io_->env = [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    io_->read_file = [this](const std::string& path) -> Result<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return makeError(Errc::kNotFound, "no such file");
      return it->second;
    };
    io_->out = &out_;
    io_->err = &err_;
    files_[kDefaultTokenFile] = "sgA_admintoken\n";
    files_[kDefaultCaFile] = "CA PEM";
  }

  // Runs `syn-guard <args>`; returns the exit code (CLI11 errors: 2, as main does).
  int run(std::vector<std::string> args) {
    CLI::App app{"test"};
    app.require_subcommand(1);
    int exit_code = 0;
    registerCtlWith(app, &exit_code, io_);
    std::vector<const char*> argv{"syn-guard"};
    for (const auto& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      std::ostringstream o;
      std::ostringstream e2;
      int rc = app.exit(e, o, e2);
      return rc == 0 ? 0 : 2;
    }
    return exit_code;
  }

  json bodyOf(size_t i) const { return json::parse(requests_.at(i).body); }

  std::shared_ptr<Io> io_ = std::make_shared<Io>();
  std::map<std::string, std::string> env_;
  std::map<std::string, std::string> files_;
  std::vector<Request> requests_;
  std::vector<Reply> replies_;
  bool unreachable_ = false;
  Settings settings_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST(CtlUrl, ParsesHostsAndPorts) {
  auto s = parseConsoleUrl("https://127.0.0.1:8443");
  ASSERT_OK(s);
  EXPECT_EQ(s->host, "127.0.0.1");
  EXPECT_EQ(s->port, 8443);
  EXPECT_EQ(parseConsoleUrl("https://console.example/")->host, "console.example");
  EXPECT_EQ(parseConsoleUrl("https://console.example/")->port, 8443);
  EXPECT_EQ(parseConsoleUrl("https://[::1]:9000")->host, "::1");
  EXPECT_EQ(parseConsoleUrl("https://[::1]:9000")->port, 9000);
  for (const char* bad : {"http://127.0.0.1:8443", "127.0.0.1:8443", "https://", "https://:80",
                          "https://h:0", "https://h:70000", "https://h:x",
                          "https://h:", "https://h/v1", "https://[::1", "https://[::1]x"}) {
    EXPECT_ERROR(parseConsoleUrl(bad), Errc::kInvalidArgument);
  }
}

TEST_F(CtlTest, SettingsFromFlagsThenEnvironmentThenDefaults) {
  EXPECT_EQ(run({"ctl", "blocks"}), 0);
  EXPECT_EQ(settings_.host, "127.0.0.1");
  EXPECT_EQ(settings_.port, 8443);
  EXPECT_EQ(settings_.token, "sgA_admintoken");
  EXPECT_EQ(settings_.ca_pem, "CA PEM");

  env_["SYN_GUARD_CONSOLE"] = "https://env.example:9443";
  env_["SYN_GUARD_TOKEN_FILE"] = "/env/token";
  env_["SYN_GUARD_CA_FILE"] = "/env/ca";
  files_["/env/token"] = "  sgA_env \n";
  files_["/env/ca"] = "ENV CA";
  EXPECT_EQ(run({"ctl", "blocks"}), 0);
  EXPECT_EQ(settings_.host, "env.example");
  EXPECT_EQ(settings_.port, 9443);
  EXPECT_EQ(settings_.token, "sgA_env");
  EXPECT_EQ(settings_.ca_pem, "ENV CA");

  files_["/flag/token"] = "sgA_flag";
  files_["/flag/ca"] = "FLAG CA";
  // Flags before or after the subcommand.
  EXPECT_EQ(run({"ctl", "--console", "https://flag.example", "blocks", "--token-file",
                 "/flag/token", "--ca-file", "/flag/ca"}),
            0);
  EXPECT_EQ(settings_.host, "flag.example");
  EXPECT_EQ(settings_.token, "sgA_flag");
  EXPECT_EQ(settings_.ca_pem, "FLAG CA");
}

TEST_F(CtlTest, MissingTokenOrCaOrBadUrlIsTheUsersMistake) {
  files_.erase(kDefaultTokenFile);
  EXPECT_EQ(run({"ctl", "floods"}), 2);
  EXPECT_NE(err_.str().find(kDefaultTokenFile), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--token-file"), std::string::npos);
  files_[kDefaultTokenFile] = "two words";
  EXPECT_EQ(run({"ctl", "floods"}), 2);
  files_[kDefaultTokenFile] = "sgA_x";
  files_.erase(kDefaultCaFile);
  EXPECT_EQ(run({"ctl", "floods"}), 2);
  EXPECT_NE(err_.str().find("--ca-file"), std::string::npos);
  files_[kDefaultCaFile] = "CA";
  EXPECT_EQ(run({"ctl", "--console", "http://x", "floods"}), 2);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(CtlTest, ListsAskTheirRoute) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"ctl", "endpoints"}, "/v1/endpoints"},
      {{"ctl", "floods"}, "/v1/floods"},
      {{"ctl", "floods", "--all"}, "/v1/floods?all=true"},
      {{"ctl", "port-floods"}, "/v1/port-floods"},
      {{"ctl", "port-floods", "--all", "--json"}, "/v1/port-floods?all=true"},
      {{"ctl", "blocks", "--json"}, "/v1/blocks"},
      {{"ctl", "incidents"}, "/v1/incidents"},
      {{"ctl", "policies"}, "/v1/policies"},
      {{"ctl", "audit"}, "/v1/audit?after=0&limit=1000"},
  };
  for (const auto& [args, path] : cases) {
    requests_.clear();
    EXPECT_EQ(run(args), 0) << path;
    ASSERT_EQ(requests_.size(), 1u);
    EXPECT_EQ(requests_[0].method, "GET");
    EXPECT_EQ(requests_[0].path, path);
  }
}

TEST_F(CtlTest, JsonPrintsTheItemsAsOneArray) {
  replies_.push_back(
      {200, R"({"kind":"BlockList","resourceVersion":"3","items":[{"source":"10.0.0.0/8"}]})"});
  EXPECT_EQ(run({"ctl", "blocks", "--json"}), 0);
  EXPECT_EQ(json::parse(out_.str()), (json::array({{{"source", "10.0.0.0/8"}}})));
}

TEST_F(CtlTest, AuditPagesThroughTheWholeLog) {
  json page = json::array();
  for (int i = 1; i <= 1000; ++i) page.push_back({{"id", i}, {"action", "block"}});
  replies_.push_back({200, json{{"items", page}}.dump()});
  replies_.push_back({200, R"({"items":[{"id":1001,"action":"unblock"}]})"});
  EXPECT_EQ(run({"ctl", "audit", "--json"}), 0);
  ASSERT_EQ(requests_.size(), 2u);
  EXPECT_EQ(requests_[1].path, "/v1/audit?after=1000&limit=1000");
  EXPECT_EQ(json::parse(out_.str()).size(), 1001u);
}

TEST_F(CtlTest, ActionsSendTheirBodies) {
  replies_.push_back({200, R"({"source":"10.0.0.0/8","version":4})"});
  EXPECT_EQ(run({"ctl", "block", "10.0.0.0/8", "--ttl", "10m", "--reason", "botnet"}), 0);
  EXPECT_EQ(requests_.back().method, "POST");
  EXPECT_EQ(requests_.back().path, "/v1/blocks");
  EXPECT_EQ(bodyOf(0), (json{{"source", "10.0.0.0/8"}, {"ttl", "10m"}, {"reason", "botnet"}}));
  EXPECT_EQ(out_.str(), "blocked 10.0.0.0/8 on every endpoint, for 10m (version 4)\n");

  EXPECT_EQ(run({"ctl", "block", "203.0.113.7"}), 0);
  EXPECT_EQ(bodyOf(1), (json{{"source", "203.0.113.7"}}));

  EXPECT_EQ(run({"ctl", "unblock", "2001:db8::/32"}), 0);
  EXPECT_EQ(requests_.back().method, "DELETE");
  EXPECT_EQ(requests_.back().path, "/v1/blocks/2001:db8::%2F32");

  EXPECT_EQ(run({"ctl", "isolate", "web-1", "--reason", "pwned"}), 0);
  EXPECT_EQ(requests_.back().path, "/v1/endpoints/web-1/isolate");
  EXPECT_EQ(bodyOf(3), (json{{"reason", "pwned"}}));
  EXPECT_EQ(run({"ctl", "release", "web 1"}), 0);
  EXPECT_EQ(requests_.back().path, "/v1/endpoints/web%201/release");

  EXPECT_EQ(run({"ctl", "escalate", "3", "--note", "call ISP"}), 0);
  EXPECT_EQ(requests_.back().path, "/v1/floods/3/escalate");
  EXPECT_EQ(bodyOf(5), (json{{"note", "call ISP"}}));

  EXPECT_EQ(run({"ctl", "policy", "set", "payments", "--selector", "dept=payments,org=acme",
                 "--flood-threshold", "50", "--flood-window", "2s", "--block-duration", "10m",
                 "--enforcer", "nftables"}),
            0);
  EXPECT_EQ(requests_.back().method, "PUT");
  EXPECT_EQ(requests_.back().path, "/v1/policies/payments");
  EXPECT_EQ(bodyOf(6), (json{{"selector", {{"dept", "payments"}, {"org", "acme"}}},
                             {"flood_threshold", 50},
                             {"flood_window", "2s"},
                             {"block_duration", "10m"},
                             {"enforcer", "nftables"}}));
  EXPECT_EQ(run({"ctl", "policy", "set", "all", "--selector", ""}), 0);
  EXPECT_EQ(bodyOf(7), (json{{"selector", json::object()}}));

  EXPECT_EQ(run({"ctl", "policy", "delete", "payments"}), 0);
  EXPECT_EQ(requests_.back().method, "DELETE");
  EXPECT_EQ(requests_.back().path, "/v1/policies/payments");

  EXPECT_EQ(run({"ctl", "endpoint", "revoke", "web-1"}), 0);
  EXPECT_EQ(requests_.back().path, "/v1/endpoints/web-1/revoke");
}

TEST_F(CtlTest, TokenCreatePrintsOnlyTheToken) {
  replies_.push_back({201, R"({"token":"sgA_secret","name":"ci","role":"operator"})"});
  EXPECT_EQ(run({"ctl", "token", "create", "--role", "operator", "--name", "ci"}), 0);
  EXPECT_EQ(bodyOf(0), (json{{"name", "ci"}, {"role", "operator"}}));
  EXPECT_EQ(out_.str(), "sgA_secret\n");
  replies_.push_back({201, R"({"token":"sgA_other"})"});
  EXPECT_EQ(run({"ctl", "token", "create", "--role", "viewer"}), 0);
  EXPECT_EQ(bodyOf(1)["name"].get<std::string>().rfind("ctl-viewer-", 0), 0u);
  // An answer without a token is the console's fault.
  EXPECT_EQ(run({"ctl", "token", "create", "--role", "viewer"}), 1);
}

TEST_F(CtlTest, BadArgumentsExitTwoWithoutARequest) {
  EXPECT_EQ(run({"ctl"}), 2);
  EXPECT_EQ(run({"ctl", "block"}), 2);
  EXPECT_EQ(run({"ctl", "escalate", "three"}), 2);
  EXPECT_EQ(run({"ctl", "policy", "set", "p"}), 2);  // --selector is required
  EXPECT_EQ(run({"ctl", "policy", "set", "p", "--selector", "dept"}), 2);
  EXPECT_EQ(run({"ctl", "policy", "set", "p", "--selector", "dept=a,dept=b"}), 2);
  EXPECT_EQ(run({"ctl", "policy", "set", "p", "--selector", "a=1", "--flood-threshold", "x"}), 2);
  EXPECT_EQ(run({"ctl", "token", "create"}), 2);
  EXPECT_EQ(run({"ctl", "floods", "--bogus"}), 2);
  EXPECT_TRUE(requests_.empty());
}

TEST_F(CtlTest, ApiErrorsSetTheExitCode) {
  replies_.push_back({403, R"({"error":"permission_denied","message":"needs operator"})"});
  EXPECT_EQ(run({"ctl", "block", "10.0.0.1"}), 2);
  EXPECT_EQ(err_.str(), "syn-guard: ctl block: needs operator (HTTP 403)\n");
  err_.str("");
  replies_.push_back({401, R"({"error":"unauthenticated","message":"unknown API token"})"});
  EXPECT_EQ(run({"ctl", "floods"}), 2);
  EXPECT_NE(err_.str().find("--token-file"), std::string::npos);
  replies_.push_back({500, R"({"error":"internal","message":"internal error"})"});
  EXPECT_EQ(run({"ctl", "floods"}), 1);
  replies_.push_back({200, "not json"});
  EXPECT_EQ(run({"ctl", "floods"}), 1);
  unreachable_ = true;
  err_.str("");
  EXPECT_EQ(run({"ctl", "floods"}), 1);
  EXPECT_NE(err_.str().find("cannot reach the console at https://127.0.0.1:8443"),
            std::string::npos)
      << err_.str();
}

TEST(CtlPrint, FloodsTableIsAligned) {
  json items = json::array({{{"id", 3},
                             {"source", "203.0.113.7"},
                             {"state", "BLOCK"},
                             {"severity", "HIGH"},
                             {"endpoints", {"web-1", "web-2", "web-3", "db-1"}},
                             {"ports", {80, 443}},
                             {"peak_rate", 512.25},
                             {"started_at", "2026-11-30T00:53:20.123Z"},
                             {"last_seen", "2026-11-30T00:53:22.000Z"},
                             {"active", true}},
                            {{"id", 12},
                             {"source", "2001:db8::/64"},
                             {"state", "DETECT"},
                             {"severity", "LOW"},
                             {"endpoints", {"web-1"}},
                             {"ports", json::array()},
                             {"peak_rate", 40},
                             {"started_at", "2026-11-30T00:50:00.000Z"},
                             {"last_seen", "2026-11-30T00:51:00.000Z"},
                             {"active", false}}});
  EXPECT_EQ(formatTable("floods", items, true),
            "ID  SOURCE         STATE   SEVERITY  ENDPOINTS             PORTS   PEAK/S  "
            "STARTED               LAST-SEEN             ACTIVE\n"
            "3   203.0.113.7    BLOCK   HIGH      web-1,web-2,web-3,+1  80,443  512.2   "
            "2026-11-30T00:53:20Z  2026-11-30T00:53:22Z  yes\n"
            "12  2001:db8::/64  DETECT  LOW       web-1                 -       40      "
            "2026-11-30T00:50:00Z  2026-11-30T00:51:00Z  no\n");
  EXPECT_EQ(formatTable("floods", json::array()), "no floods\n");
}

TEST(CtlPrint, EmptyCellsShowADashAndLinesEndWithoutSpaces) {
  json audit = json::array({{{"id", 1},
                             {"at", "2026-11-30T00:53:20.000Z"},
                             {"actor", "admin"},
                             {"action", "unblock"},
                             {"target", "10.0.0.0/8"},
                             {"details", ""}},
                            {{"id", 2},
                             {"at", "2026-11-30T00:53:21.000Z"},
                             {"actor", "admin"},
                             {"action", "block"},
                             {"target", "10.0.0.1"},
                             {"details", "permanent"}}});
  EXPECT_EQ(formatTable("audit", audit),
            "ID  AT                    ACTOR  ACTION   TARGET      DETAILS\n"
            "1   2026-11-30T00:53:20Z  admin  unblock  10.0.0.0/8  -\n"
            "2   2026-11-30T00:53:21Z  admin  block    10.0.0.1    permanent\n");
}

TEST(CtlPrint, OtherTables) {
  json ep = json::array({{{"name", "web-1"},
                          {"labels", {{"dept", "payments"}, {"org", "acme"}}},
                          {"online", true},
                          {"revoked", false},
                          {"policy", "payments"},
                          {"policy_version", 9},
                          {"applied_version", 8},
                          {"lagging", true},
                          {"isolated", false},
                          {"active_blocks", 2},
                          {"last_heartbeat", nullptr}}});
  EXPECT_EQ(formatTable("endpoints", ep),
            "NAME   ONLINE  ISOLATED  POLICY    APPLIED/DESIRED  BLOCKS  LAST-HEARTBEAT  LABELS\n"
            "web-1  yes     no        payments  8/9 (lagging)    2       never           "
            "dept=payments,org=acme\n");
  json blocks = json::array({{{"source", "10.0.0.0/8"},
                              {"expires_at", nullptr},
                              {"acked", 4},
                              {"pending", 0},
                              {"added_by", "alice"},
                              {"reason", "bot\x1b[2Jnet"}}});
  EXPECT_EQ(formatTable("blocks", blocks),
            "SOURCE      EXPIRES  ACKED  PENDING  ADDED-BY  REASON\n"
            "10.0.0.0/8  never    4      0        alice     bot?[2Jnet\n");
  json policies = json::array({{{"name", "all"},
                                {"selector", json::object()},
                                {"flood_threshold", 200},
                                {"flood_window", "5s"},
                                {"block_duration", "1m"},
                                {"enforcer", "xdp"}}});
  EXPECT_EQ(formatTable("policies", policies),
            "NAME  SELECTOR  THRESHOLD  WINDOW  BLOCK  ENFORCER\n"
            "all   -         200        5s      1m     xdp\n");
}

TEST_F(CtlTest, PortFloodsShowTheFleetAboveTheTargets) {
  replies_.push_back({200, R"({"kind":"PortFloodList","resourceVersion":"9","items":[
    {"id":"web-1/192.0.2.10:443/5","endpoint":"web-1","target":"192.0.2.10:443","rate":21000,
     "peak_rate":22000,"distinct_sources":19000,"completion_ratio":0.0124,
     "top_prefixes":[{"prefix":"198.51.100.0/24","share":0.31}],"response":"syncookies",
     "severity":"MEDIUM","active":true,"started_at":"2026-11-30T00:53:19.870Z"}],
    "fleet":{"endpoints":["web-1","web-2"],"targets":2,"since":"2026-11-30T00:53:19.870Z",
     "peak_rate":22000,"rate":30000,"severity":"MEDIUM",
     "shared_prefixes":[{"prefix":"198.51.100.0/24","endpoints":["web-1","web-2"],"max_share":0.31}]}})"});
  EXPECT_EQ(run({"ctl", "port-floods"}), 0);
  EXPECT_EQ(out_.str(),
            "fleet: MEDIUM, web-1,web-2 under port floods (2 targets) since 2026-11-30T00:53:19Z, "
            "peak 22000/s\n"
            "shared prefix 198.51.100.0/24 on web-1,web-2\n"
            "ENDPOINT  TARGET          RATE/S  PEAK/S  SOURCES  COMPLETED  TOP-PREFIXES           "
            "RESPONSE    SEVERITY  SINCE\n"
            "web-1     192.0.2.10:443  21000   22000   19000    1.2%       198.51.100.0/24:31.0%  "
            "syncookies  MEDIUM    2026-11-30T00:53:19Z\n");
  out_.str("");
  replies_.push_back({200, R"({"items":[],"fleet":{"targets":0}})"});
  EXPECT_EQ(run({"ctl", "port-floods"}), 0);
  EXPECT_EQ(out_.str(), "no port-floods\n");
}

TEST(CtlPrint, EncodeSegment) {
  EXPECT_EQ(encodeSegment("10.0.0.0/8"), "10.0.0.0%2F8");
  EXPECT_EQ(encodeSegment("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(encodeSegment("a b%/?#"), "a%20b%25%2F%3F%23");
}

}  // namespace
}  // namespace sg::cli::ctl
