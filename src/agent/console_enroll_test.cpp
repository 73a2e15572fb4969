#include "agent/console_enroll.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "pki/token.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::agent {
namespace {

TEST(ConsoleUrl, ParsesHostsPortsAndRefusesTheRest) {
  auto a = parseConsoleUrl("https://console.example:9443");
  ASSERT_OK(a);
  EXPECT_EQ(a->host, "console.example");
  EXPECT_EQ(a->port, 9443);
  auto b = parseConsoleUrl("https://192.0.2.10/");
  ASSERT_OK(b);
  EXPECT_EQ(b->port, 8443);
  EXPECT_EQ(b->text, "https://192.0.2.10:8443");
  auto c = parseConsoleUrl("https://[2001:db8::1]:8443");
  ASSERT_OK(c);
  EXPECT_EQ(c->host, "2001:db8::1");
  EXPECT_EQ(c->text, "https://[2001:db8::1]:8443");
  for (const char* bad : {"http://h:1", "https://", "https://h:0", "https://h:99999", "https://h:",
                          "https://h:80/x", "https://2001:db8::1", "https://u@h", "https://[::1"}) {
    EXPECT_FALSE(parseConsoleUrl(bad).ok()) << bad;
  }
}

TEST(EndpointName, OnlyTheProtocolsCharacters) {
  EXPECT_OK(validateEndpointName("web-1.dc_2"));
  EXPECT_FALSE(validateEndpointName("").ok());
  EXPECT_FALSE(validateEndpointName("web 1").ok());
  EXPECT_FALSE(validateEndpointName(std::string(65, 'a')).ok());
}

// A console's enrollment endpoint in memory: checks the token, signs the CSR.
class FakeConsole {
 public:
  FakeConsole() {
    ca_pem = *pki::certToPem(ca->get());
    pin = pki::caPin(ca->get());
  }
  std::string newToken() { return pki::newEnrollmentToken(pin)->toString(); }
  EnrollPost post() {
    return [this](const net::HttpsTarget& t, const std::string& path,
                  const std::string& body) -> Result<net::HttpsReply> {
      ++calls;
      EXPECT_EQ(path, "/v1/enroll");
      EXPECT_EQ(t.tls.ca_pin, pin);  // trusted by the token's pin only
      EXPECT_TRUE(t.tls.ca_pem.empty());
      auto j = nlohmann::json::parse(body);
      if (refuse)
        return net::HttpsReply{401, R"({"error":"unauthenticated","message":"token used"})", ""};
      auto csr = pki::csrFromPem(j["csr"].get<std::string>());
      EXPECT_TRUE(csr.ok());
      const std::string name = j["name"];
      auto cert = pki::signCsr(*ca, *ca_key, *csr, name);
      nlohmann::json reply{{"endpoint", name},
                           {"cert", *pki::certToPem(cert->get())},
                           {"ca", wrong_ca ? other_ca_pem() : ca_pem}};
      return net::HttpsReply{200, reply.dump(), "application/json"};
    };
  }
  std::string other_ca_pem() {
    auto k = pki::generateEcKey();
    auto c = pki::selfSignCa(*k, "other", std::chrono::hours(1));
    return *pki::certToPem(c->get());
  }
  Result<pki::EvpPkey> ca_key = pki::generateEcKey();
  Result<pki::X509Cert> ca = pki::selfSignCa(*ca_key, "test CA", std::chrono::hours(1));
  std::string ca_pem, pin;
  int calls = 0;
  bool refuse = false;
  bool wrong_ca = false;
};

class EnrollTest : public ::testing::Test {
 protected:
  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  sg::test::ScratchDir root_{"sg-enroll"};
  std::string dir_ = (root_.path() / "agent").string();  // made by enroll()
  FakeConsole console_;
};

TEST_F(EnrollTest, SavesKeyCertificateAndCaPrivatelyAndLoadsThemBack) {
  auto c = enroll({"https://127.0.0.1:8443", console_.newToken(), "web-1", dir_}, console_.post());
  ASSERT_OK(c);
  EXPECT_EQ(c->name, "web-1");
  EXPECT_EQ(modeOf(dir_), 0700u);
  for (const char* f : {"agent.key", "agent.crt", "ca.crt", "console.json"}) {
    EXPECT_EQ(modeOf(dir_ + "/" + f), 0600u) << f;
  }
  auto loaded = loadCredentials(dir_);
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->url, "https://127.0.0.1:8443");
  EXPECT_EQ((*loaded)->cert_pem, c->cert_pem);
  auto cert = pki::certFromPem((*loaded)->cert_pem);
  ASSERT_OK(cert);
  EXPECT_EQ(pki::commonName(cert->get()), "web-1");
  EXPECT_OK(pki::verifyIssuedBy(*console_.ca, cert->get(), pki::CertUsage::kClient));
}

TEST_F(EnrollTest, TheSameTokenAgainIsRefusedAndANewOneReplaces) {
  const std::string token = console_.newToken();
  ASSERT_OK(enroll({"https://127.0.0.1:8443", token, "web-1", dir_}, console_.post()));
  auto again = enroll({"https://127.0.0.1:8443", token, "web-1", dir_}, console_.post());
  EXPECT_ERROR(again, Errc::kAlreadyExists);
  EXPECT_NE(again.error().message().find("already enrolled"), std::string::npos);
  EXPECT_EQ(console_.calls, 1);  // refused before any request
  auto renewed =
      enroll({"https://127.0.0.1:8443", console_.newToken(), "web-2", dir_}, console_.post());
  ASSERT_OK(renewed);
  EXPECT_EQ((*loadCredentials(dir_))->name, "web-2");
}

TEST_F(EnrollTest, ARefusalSaysWhyWithoutEchoingTheSecretAndSavesNothing) {
  console_.refuse = true;
  const std::string token = console_.newToken();
  auto r = enroll({"https://127.0.0.1:8443", token, "web-1", dir_}, console_.post());
  EXPECT_ERROR(r, Errc::kUnauthenticated);
  EXPECT_NE(r.error().message().find("token used"), std::string::npos) << r.error().message();
  const std::string secret = token.substr(4, 43);
  EXPECT_EQ(r.error().message().find(secret), std::string::npos);
  EXPECT_FALSE(loadCredentials(dir_)->has_value());
  auto bad = enroll({"https://127.0.0.1:8443", "sgE_nope", "web-1", dir_}, console_.post());
  EXPECT_ERROR(bad, Errc::kInvalidArgument);
  auto api =
      enroll({"https://127.0.0.1:8443", pki::newApiToken()->toString(), "", dir_}, console_.post());
  EXPECT_ERROR(api, Errc::kInvalidArgument);
}

TEST_F(EnrollTest, ACaOtherThanThePinnedOneIsNotSaved) {
  console_.wrong_ca = true;
  auto r = enroll({"https://127.0.0.1:8443", console_.newToken(), "web-1", dir_}, console_.post());
  EXPECT_ERROR(r, Errc::kUnavailable);
  EXPECT_FALSE(loadCredentials(dir_)->has_value());
}

TEST_F(EnrollTest, AnIncompleteSetIsAnErrorNamingTheFile) {
  ASSERT_OK(
      enroll({"https://127.0.0.1:8443", console_.newToken(), "web-1", dir_}, console_.post()));
  std::filesystem::remove(dir_ + "/agent.key");
  auto r = loadCredentials(dir_);
  EXPECT_ERROR(r, Errc::kNotFound);
  EXPECT_NE(r.error().message().find("agent.key"), std::string::npos);
}

}  // namespace
}  // namespace sg::agent
