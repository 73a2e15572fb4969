#include "win/enroll.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "files/state_file.h"
#include "scratch_dir.h"
#include "win/openssl_enroll_backend.h"

namespace sg::win {
namespace {

class WinEnrollTest : public ::testing::Test {
 protected:
  EnrollRequest request(const std::string& token, const std::string& dir = "") {
    return {"https://console.example:9443", token, "win-1", dir.empty() ? dir_ : dir};
  }
  bool exists(const char* file) { return std::filesystem::exists(dir_ + "/" + file); }

  sg::test::ScratchDir scratch_{"sg-win-enroll"};
  std::string dir_ = (scratch_.path() / "agent").string();  // made by enroll()
  test::OpenSslEnrollBackend console_;
};

TEST_F(WinEnrollTest, EnrollsWithThePinAndKeepsTheKeySealed) {
  const std::string token = console_.token();
  auto creds = enrollAgent(request(token), console_);
  ASSERT_TRUE(creds.ok()) << creds.error().message();
  EXPECT_EQ(console_.posts, 1);
  EXPECT_EQ(console_.last_host, "console.example");
  EXPECT_EQ(console_.last_pin, pki::caPin(console_.ca().get()));
  EXPECT_EQ(console_.csr_subject, "win-1");
  EXPECT_EQ(console_.prepared, dir_);
  EXPECT_EQ(creds->name, "win-1");
  // The set on disk: no plain key, the sealed one, the certificates.
  EXPECT_FALSE(exists("agent.key"));
  ASSERT_TRUE(exists("agent.key.dpapi"));
  EXPECT_EQ(readSmallFile(dir_ + "/agent.key.dpapi")->rfind("SEALED:", 0), 0u);
  // What the link loads: the key unsealed, matching the issued certificate.
  auto loaded = loadLinkCredentials(dir_, test::OpenSslEnrollBackend::unseal);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->key_pem, creds->key_pem);
  EXPECT_EQ((*loaded)->url, "https://console.example:9443");
  EXPECT_FALSE((*loaded)->token_sha256.empty());
  auto key = pki::keyFromPem((*loaded)->key_pem);
  auto cert = pki::certFromPem((*loaded)->cert_pem);
  ASSERT_TRUE(key.ok() && cert.ok());
  EXPECT_EQ(X509_check_private_key(cert->get(), key->get()), 1);
  EXPECT_TRUE(pki::verifyIssuedBy(console_.ca(), cert->get(), pki::CertUsage::kClient).ok());
  EXPECT_TRUE(checkKeyMatchesCert(**loaded).ok());
  // Without the unsealer (not on its Windows host) the key cannot be read.
  auto sealed_only = loadLinkCredentials(dir_);
  ASSERT_FALSE(sealed_only.ok());
  EXPECT_NE(sealed_only.error().message().find("agent.key.dpapi"), std::string::npos);
}

TEST_F(WinEnrollTest, TheSameTokenAgainIsRefusedBeforeAnyRequestANewOneReEnrolls) {
  const std::string token = console_.token();
  ASSERT_TRUE(enrollAgent(request(token), console_).ok());
  auto again = enrollAgent(request(token), console_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Errc::kAlreadyExists);
  EXPECT_NE(again.error().message().find("already enrolled"), std::string::npos);
  EXPECT_EQ(console_.posts, 1);
  const std::string first_cert = *readSmallFile(dir_ + "/agent.crt");
  ASSERT_TRUE(enrollAgent(request(console_.token()), console_).ok());
  EXPECT_NE(*readSmallFile(dir_ + "/agent.crt"), first_cert);
}

TEST_F(WinEnrollTest, AReplayedTokenIsRefusedByTheConsoleAndNothingIsSaved) {
  const std::string token = console_.token();
  ASSERT_TRUE(enrollAgent(request(token, dir_ + "/first"), console_).ok());
  auto replay = enrollAgent(request(token), console_);
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code(), Errc::kUnauthenticated);
  EXPECT_NE(replay.error().message().find("HTTP 403: enrollment token already used"),
            std::string::npos);
  EXPECT_EQ(replay.error().message().find(token.substr(4, 43)), std::string::npos);
  EXPECT_FALSE(exists("console.json"));
}

TEST_F(WinEnrollTest, ACaOtherThanThePinnedOneOrACertForAnotherKeyIsRefused) {
  console_.replyWithAnotherCa();
  auto other_ca = enrollAgent(request(console_.token()), console_);
  ASSERT_FALSE(other_ca.ok());
  EXPECT_NE(other_ca.error().message().find("not the one the token pins"), std::string::npos);
  EXPECT_FALSE(exists("console.json"));

  test::OpenSslEnrollBackend console2;
  console2.foreign_cert = true;
  auto foreign = enrollAgent(request(console2.token()), console2);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message().find("not for this key"), std::string::npos);
  EXPECT_FALSE(exists("console.json"));
}

TEST_F(WinEnrollTest, AKeyThatIsNotTheCertificatesIsNamedAtLoad) {
  auto creds = enrollAgent(request(console_.token()), console_);
  ASSERT_TRUE(creds.ok());
  LinkCredentials other = *creds;
  other.key_pem = pki::keyToPem(std::move(pki::generateEcKey()).value()).value();
  auto m = checkKeyMatchesCert(other);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("agent.key is not the key of agent.crt"), std::string::npos);
}

TEST_F(WinEnrollTest, BadTokensNamesAndUrlsFailBeforeAnyRequest) {
  const std::string token = console_.token();
  const std::string secret = token.substr(4, 43);
  for (const std::string& bad :
       {std::string("sgA_") + secret, "sgE_" + secret, "sgE_" + secret + ".abc",
        "sgE_" + secret.substr(1) + "." + token.substr(48), std::string("nope")}) {
    auto r = enrollAgent(request(bad), console_);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_EQ(r.error().message().find(secret), std::string::npos) << r.error().message();
  }
  EnrollRequest bad_name = request(token);
  bad_name.name = "no spaces";
  EXPECT_FALSE(enrollAgent(bad_name, console_).ok());
  EnrollRequest bad_url = request(token);
  bad_url.url = "http://console.example";
  EXPECT_FALSE(enrollAgent(bad_url, console_).ok());
  EXPECT_EQ(console_.posts, 0);
  // The pin is accepted with a "sha256:" prefix and in upper case.
  auto t = parseEnrollToken("sgE_" + secret + ".sha256:" + std::string(64, 'A'));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ca_pin, std::string(64, 'a'));
}

}  // namespace
}  // namespace sg::win
