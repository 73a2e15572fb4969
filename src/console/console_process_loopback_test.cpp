// `syn-guard console` as a process (label net): first start makes the CA and
// the admin token and prints console_ready; `console token create` writes a
// token the running console accepts; SIGTERM stops it cleanly; a second
// start on the same data directory keeps the token and the state.
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "files/state_file.h"
#include "lab/agent_process.h"
#include "lab/subprocess.h"
#include "net/https_client.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/token.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class ConsoleProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sg-console-proc-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = (fs::path(tmpl) / "data").string();  // created by the console
    root_ = tmpl;
    binary_ = lab::findSynGuardBinary();
  }
  void TearDown() override {
    console_.reset();
    fs::remove_all(root_);
  }
  // Starts the console and returns its console_ready line.
  nlohmann::json start() {
    auto p = lab::Process::spawn(
        {binary_, "console", "--data", dir_, "--listen", "127.0.0.1:0", "--log-format", "json"});
    EXPECT_OK(p);
    console_ = std::move(*p);
    auto line = console_->readLine(milliseconds(10'000));
    EXPECT_TRUE(line.has_value()) << console_->stderrText();
    if (!line) return {};
    auto j = nlohmann::json::parse(*line, nullptr, false);
    EXPECT_EQ(j.value("event", ""), "console_ready") << *line;
    const std::string url = j.value("url", "");
    port_ = static_cast<uint16_t>(std::stoul(url.substr(url.rfind(':') + 1)));
    return j;
  }
  Result<net::HttpsReply> request(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& auth) {
    net::HttpsTarget t;
    t.host = "127.0.0.1";
    t.port = port_;
    t.tls.ca_pem = *readSmallFile(dir_ + "/ca.crt");
    t.timeout = milliseconds(5000);
    return net::httpsRequest(t, method, path, body, auth);
  }

  std::string root_, dir_, binary_;
  uint16_t port_ = 0;
  std::unique_ptr<lab::Process> console_;
};

TEST_F(ConsoleProcessTest, FirstStartTokenCreateStopAndRestart) {
  auto ready = start();
  EXPECT_EQ(ready["admin_token_file"], dir_ + "/admin.token");
  EXPECT_EQ(ready["ca_file"], dir_ + "/ca.crt");
  EXPECT_EQ(ready["admin_token_created"], true);
  struct stat st {};
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir_ + "/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string admin = *readSmallFile(dir_ + "/admin.token");
  admin.pop_back();  // newline

  auto metrics = request("GET", "/metrics", "", "Bearer " + admin);
  ASSERT_OK(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("syn_guard_console_agents_connected 0"), std::string::npos);
  EXPECT_EQ(request("GET", "/metrics", "", "")->status, 401);

  // A token made by another process on the same store works on the running console.
  auto made = lab::runCommand({binary_, "console", "token", "create", "--data", dir_, "--labels",
                               "org=acme,dept=payments", "--ttl", "10m"});
  ASSERT_OK(made);
  ASSERT_EQ(made->exit_code, 0) << made->err;
  std::string token = made->out;
  token.pop_back();
  ASSERT_OK(pki::parseToken(token));
  auto key = pki::generateEcKey();
  nlohmann::json body{
      {"token", token}, {"csr", *pki::csrToPem(*pki::makeCsr(*key, "x"))}, {"name", "web-1"}};
  auto enrolled = request("POST", "/v1/enroll", body.dump(), "");
  ASSERT_OK(enrolled);
  EXPECT_EQ(enrolled->status, 200) << enrolled->body;

  EXPECT_EQ(console_->stop(milliseconds(5000)), 0);  // SIGTERM: a clean stop
  auto again = start();
  EXPECT_EQ(again["admin_token_created"], false);
  EXPECT_EQ(*readSmallFile(dir_ + "/admin.token"), admin + "\n");
  // The enrolled name is still taken after the restart.
  auto token2 = lab::runCommand({binary_, "console", "token", "create", "--data", dir_});
  ASSERT_EQ(token2->exit_code, 0) << token2->err;
  token2->out.pop_back();
  body["token"] = token2->out;
  EXPECT_EQ(request("POST", "/v1/enroll", body.dump(), "")->status, 409);
}

TEST_F(ConsoleProcessTest, BadFlagsExitTwoWithTheReason) {
  for (const std::vector<std::string>& extra : std::vector<std::vector<std::string>>{
           {"--listen", "localhost:1"},
           {"--listen", "127.0.0.1:70000"},
           {"--log-format", "xml"},
           {"--db", "postgres://u@127.0.0.1/x"},
           {"--no-such-flag"},
           {"--webhook", "http://hooks.test/x"},
           {"--webhook", "https://hooks.test:0/x"},
           {"--webhook", "https://h/", "--webhook-ca-file", "/nonexistent/ca.crt"},
           {"--webhook", "https://h/", "--webhook-attempts", "0"}}) {
    std::vector<std::string> argv{binary_, "console", "--data", dir_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = lab::runCommand(argv);
    ASSERT_OK(r);
    EXPECT_EQ(r->exit_code, 2) << extra[0];
    EXPECT_FALSE(r->err.empty());
  }
  auto r = lab::runCommand({binary_, "console", "token", "create", "--data", dir_});
  EXPECT_EQ(r->exit_code, 2);  // no console CA there yet
  EXPECT_NE(r->err.find("start `syn-guard console` once first"), std::string::npos) << r->err;
}

}  // namespace
}  // namespace sg::console
