#include "pki/console_pki.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "pki/cert.h"
#include "pki/host_sans.h"
#include "pki/pin.h"
#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg::pki {
namespace {

class ConsolePkiTest : public ::testing::Test {
 protected:
  static unsigned modeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0);
    return st.st_mode & 0777;
  }
  sg::test::ScratchDir scratch_{"sg-pki"};
  std::string dir_ = scratch_.path().string();
};

TEST_F(ConsolePkiTest, FirstStartCreatesKeysPrivatelyAndLaterStartsKeepTheCa) {
  ConsolePkiOptions o{dir_, {"127.0.0.1", "localhost"}};
  auto first = loadOrCreateConsolePki(o);
  ASSERT_OK(first);
  EXPECT_EQ(modeOf(dir_ + "/ca.key"), 0600u);
  EXPECT_EQ(modeOf(dir_ + "/server.key"), 0600u);
  EXPECT_EQ(modeOf(dir_ + "/ca.crt"), 0644u);
  EXPECT_TRUE(first->server_reissued);
  EXPECT_OK(verifyIssuedBy(first->ca_cert, first->server_cert.get(), CertUsage::kServer));
  EXPECT_EQ(first->ca_pin, caPin(first->ca_cert.get()));

  auto second = loadOrCreateConsolePki(o);
  ASSERT_OK(second);
  EXPECT_EQ(second->ca_pin, first->ca_pin);
  EXPECT_FALSE(second->server_reissued);

  // A new --san: same CA, new server certificate naming it.
  o.server_sans.push_back("console.example");
  auto third = loadOrCreateConsolePki(o);
  ASSERT_OK(third);
  EXPECT_EQ(third->ca_pin, first->ca_pin);
  EXPECT_TRUE(third->server_reissued);
  auto sans = subjectAltNames(third->server_cert.get());
  EXPECT_NE(std::find(sans.begin(), sans.end(), "DNS:console.example"), sans.end());
}

TEST_F(ConsolePkiTest, MismatchedCaKeyIsAnError) {
  ASSERT_OK(loadOrCreateConsolePki(ConsolePkiOptions{dir_, {"localhost"}}));
  std::string other = dir_ + "/other";
  ASSERT_OK(loadOrCreateConsolePki(ConsolePkiOptions{other, {"localhost"}}));
  std::filesystem::copy_file(other + "/ca.key", dir_ + "/ca.key",
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_ERROR(loadOrCreateConsolePki(ConsolePkiOptions{dir_, {"localhost"}}),
               Errc::kInvalidArgument);
}

TEST(HostSansTest, NamesLoopbackListenAddressAndExtras) {
  auto sans = hostSans("192.0.2.7", {"extra.example"});
  auto has = [&](const std::string& s) {
    return std::find(sans.begin(), sans.end(), s) != sans.end();
  };
  EXPECT_TRUE(has("192.0.2.7"));
  EXPECT_TRUE(has("localhost"));
  EXPECT_TRUE(has("127.0.0.1"));
  EXPECT_TRUE(has("extra.example"));
  EXPECT_FALSE(has("0.0.0.0"));
  auto wildcard = hostSans("0.0.0.0", {});
  EXPECT_EQ(std::find(wildcard.begin(), wildcard.end(), "0.0.0.0"), wildcard.end());
}

}  // namespace
}  // namespace sg::pki
