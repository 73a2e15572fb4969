// `syn-guard ctl` against a real console on 127.0.0.1: net::Server with the
// REST API's routes over the real ConsoleService (SQLite in a temporary
// directory), over real TLS. Label net (no root).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/ctl.h"
#include "console/api.h"
#include "console/sqlite_store.h"
#include "net/https_client.h"
#include "net/loopback_fixture.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::cli::ctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CtlLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The console's PKI: a CA (it signs agents too) and a certificate for 127.0.0.1.
    auto ca_key = pki::generateEcKey();
    auto ca = pki::selfSignCa(*ca_key, "ctl test CA", std::chrono::seconds(3600));
    ca_pem_ = net::test::pemOf(*ca);
    auto server_key = pki::generateEcKey();
    auto server = pki::issueCert(
        *ca, *ca_key, server_key->get(),
        pki::CertSpec{
            "console", {"127.0.0.1"}, std::chrono::seconds(3600), pki::CertUsage::kServer});
    auto store = console::SqliteStore::open((dir_ / "console.db").string());
    ASSERT_OK(store);
    auto svc = console::ConsoleService::open(std::move(*store), {}, clock_, console::systemWallMs,
                                             ca_pem_, net::test::pemOf(*ca_key));
    ASSERT_OK(svc);
    svc_ = std::move(*svc);
    net::Router router;
    console::addApiRoutes(router, *svc_);
    net::ServerOptions opts;
    opts.tls = net::TlsServerConfig{net::test::pemOf(*server) + ca_pem_,
                                    net::test::pemOf(*server_key), ca_pem_};
    opts.limits.max_body_bytes = 8 * 1024;
    auto srv = net::Server::start(io_.ioc(), opts, std::move(router), std::nullopt, clock_);
    ASSERT_OK(srv);
    server_ = *srv;
    url_ = "https://127.0.0.1:" + std::to_string(server_->port());
    // The console's own admin token, as `syn-guard console` writes it.
    auto admin =
        svc_->createApiToken({"console", console::Role::kAdmin}, "admin", console::Role::kAdmin);
    ASSERT_OK(admin);
    admin_token_ = *admin;
    write("admin.token", admin_token_ + "\n");
    write("ca.crt", ca_pem_);
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
  }

  std::string write(const std::string& name, const std::string& text) {
    std::ofstream((dir_ / name).string()) << text;
    return (dir_ / name).string();
  }

  // `syn-guard ctl --console URL --token-file DIR/<token> --ca-file DIR/<ca> args...`
  int ctl(std::vector<std::string> args, const std::string& token = "admin.token",
          const std::string& ca = "ca.crt") {
    out_.str("");
    err_.str("");
    auto io = std::make_shared<Io>(defaultIo());
    io->env = [](const char*) -> const char* { return nullptr; };
    io->out = &out_;
    io->err = &err_;
    CLI::App app{"test"};
    int exit_code = 0;
    registerCtlWith(app, &exit_code, io);
    std::vector<std::string> full{"syn-guard",    "ctl",
                                  "--console",    url_,
                                  "--token-file", (dir_ / token).string(),
                                  "--ca-file",    (dir_ / ca).string()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<const char*> argv;
    for (const auto& a : full) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      return 2;
    }
    return exit_code;
  }

  json jsonOut() const { return json::parse(out_.str()); }

  sg::test::ScratchDir scratch_{"sg-ctl"};
  fs::path dir_ = scratch_.path();
  MonotonicClock clock_;
  std::string ca_pem_;
  std::unique_ptr<console::ConsoleService> svc_;
  net::test::IoThreads io_;
  std::shared_ptr<net::Server> server_;
  std::string url_;
  std::string admin_token_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CtlLoopbackTest, BlockListUnblockOverTls) {
  ASSERT_EQ(ctl({"block", "10.0.0.0/8", "--ttl", "10m", "--reason", "botnet"}), 0) << err_.str();
  EXPECT_NE(out_.str().find("blocked 10.0.0.0/8 on every endpoint, for 10m"), std::string::npos)
      << out_.str();
  ASSERT_EQ(ctl({"block", "203.0.113.7"}), 0) << err_.str();

  ASSERT_EQ(ctl({"blocks", "--json"}), 0) << err_.str();
  json blocks = jsonOut();
  ASSERT_EQ(blocks.size(), 2u) << blocks.dump();
  EXPECT_EQ(blocks[0]["source"], "10.0.0.0/8");
  EXPECT_TRUE(blocks[0]["expires_at"].is_string());
  EXPECT_EQ(blocks[0]["added_by"], "admin");
  EXPECT_EQ(blocks[0]["reason"], "botnet");
  EXPECT_EQ(blocks[1]["source"], "203.0.113.7");
  EXPECT_TRUE(blocks[1]["expires_at"].is_null());

  ASSERT_EQ(ctl({"blocks"}), 0);
  EXPECT_EQ(out_.str().rfind("SOURCE ", 0), 0u) << out_.str();

  ASSERT_EQ(ctl({"unblock", "10.0.0.0/8"}), 0) << err_.str();
  ASSERT_EQ(ctl({"blocks", "--json"}), 0);
  EXPECT_EQ(jsonOut().size(), 1u);

  EXPECT_EQ(ctl({"block", "10.0.0.1/8"}), 2);  // host bits set: the API's 400
  EXPECT_NE(err_.str().find("source"), std::string::npos) << err_.str();
}

TEST_F(CtlLoopbackTest, PolicyTokensRolesAndAudit) {
  ASSERT_EQ(ctl({"policy", "set", "payments", "--selector", "dept=payments", "--flood-threshold",
                 "50", "--flood-window", "2s"}),
            0)
      << err_.str();
  ASSERT_EQ(ctl({"policies", "--json"}), 0);
  json policies = jsonOut();
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0]["selector"], (json{{"dept", "payments"}}));
  EXPECT_EQ(policies[0]["flood_threshold"], 50);
  EXPECT_EQ(policies[0]["flood_window"], "2s");

  ASSERT_EQ(ctl({"token", "create", "--role", "viewer", "--name", "vic"}), 0) << err_.str();
  std::string viewer = out_.str();
  ASSERT_EQ(viewer.rfind("sgA_", 0), 0u) << viewer;
  write("viewer.token", viewer);
  EXPECT_EQ(ctl({"floods"}, "viewer.token"), 0) << err_.str();
  EXPECT_EQ(out_.str(), "no floods\n");
  EXPECT_EQ(ctl({"block", "192.0.2.1"}, "viewer.token"), 2);
  EXPECT_NE(err_.str().find("HTTP 403"), std::string::npos) << err_.str();
  EXPECT_EQ(ctl({"policy", "delete", "payments"}, "viewer.token"), 2);

  ASSERT_EQ(ctl({"policy", "delete", "payments"}), 0) << err_.str();
  ASSERT_EQ(ctl({"audit", "--json"}), 0);
  std::string actions;
  for (const auto& a : jsonOut()) actions += a["action"].get<std::string>() + " ";
  EXPECT_NE(actions.find("api_token_create"), std::string::npos) << actions;
  EXPECT_NE(actions.find("policy"), std::string::npos) << actions;
}

TEST_F(CtlLoopbackTest, ErrorsAndExitCodes) {
  write("bad.token", "sgA_notarealtoken\n");
  EXPECT_EQ(ctl({"floods"}, "bad.token"), 2);
  EXPECT_NE(err_.str().find("HTTP 401"), std::string::npos) << err_.str();
  EXPECT_EQ(ctl({"escalate", "999"}), 2);
  EXPECT_NE(err_.str().find("HTTP 404"), std::string::npos) << err_.str();
  EXPECT_EQ(ctl({"isolate", "nobody"}), 2);
  EXPECT_NE(err_.str().find("HTTP 404"), std::string::npos) << err_.str();

  // Another CA: the TLS handshake fails, the console is "unreachable".
  auto other_key = pki::generateEcKey();
  auto other = pki::selfSignCa(*other_key, "other CA", std::chrono::seconds(3600));
  write("other.crt", net::test::pemOf(*other));
  EXPECT_EQ(ctl({"floods"}, "admin.token", "other.crt"), 1);
  EXPECT_NE(err_.str().find("cannot reach the console"), std::string::npos) << err_.str();

  // Nobody listening.
  server_->stop();
  EXPECT_EQ(ctl({"floods"}), 1);
}

TEST_F(CtlLoopbackTest, RawApiRefusesOversizedAndUnknownBodies) {
  net::HttpsTarget target;
  target.host = "127.0.0.1";
  target.port = server_->port();
  target.tls.ca_pem = ca_pem_;
  const std::string auth = "Bearer " + admin_token_;
  auto big = net::httpsRequest(
      target, "POST", "/v1/blocks",
      R"({"source":"10.0.0.1","reason":")" + std::string(10'000, 'x') + "\"}", auth);
  ASSERT_TRUE(big.ok()) << big.error().message();
  EXPECT_EQ(big->status, 413);
  auto unknown = net::httpsRequest(target, "POST", "/v1/blocks",
                                   R"({"source":"10.0.0.1","colour":"red"})", auth);
  ASSERT_OK(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("colour"), std::string::npos);
  auto list = net::httpsRequest(target, "GET", "/v1/floods?all=true", "", auth);
  ASSERT_OK(list);
  EXPECT_EQ(list->status, 200);
  json j = json::parse(list->body);
  EXPECT_EQ(j["kind"], "FloodList");
  EXPECT_TRUE(j["resourceVersion"].is_string());
  EXPECT_TRUE(j["items"].is_array());
}

}  // namespace
}  // namespace sg::cli::ctl
