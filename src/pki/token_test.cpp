#include "pki/token.h"

#include <gtest/gtest.h>

#include "pki/cert.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "test_helpers.h"

namespace sg::pki {
namespace {

const std::string kPin(64, 'a');

std::string errorOf(std::string_view text) {
  auto t = parseToken(text);
  return t.ok() ? std::string() : t.error().message();
}

TEST(PinTest, PinIsSha256OfTheSpkiAndChecksOnlyThatKey) {
  auto key = generateEcKey();
  auto other = generateEcKey();
  ASSERT_OK(key);
  ASSERT_OK(other);
  auto ca = selfSignCa(*key, "ca", std::chrono::seconds(60));
  auto ca_again = selfSignCa(*key, "ca renewed", std::chrono::seconds(120));
  auto impostor = selfSignCa(*other, "ca", std::chrono::seconds(60));
  ASSERT_OK(ca);
  ASSERT_OK(ca_again);
  ASSERT_OK(impostor);
  std::string pin = caPin(ca->get());
  EXPECT_EQ(pin.size(), 64u);
  EXPECT_TRUE(pinMatches(ca->get(), pin));
  EXPECT_TRUE(pinMatches(ca_again->get(), pin));  // same key, new certificate
  EXPECT_FALSE(pinMatches(impostor->get(), pin));
  auto parsed = parsePin("sha256:" + std::string(64, 'F'));
  ASSERT_OK(parsed);
  EXPECT_EQ(*parsed, std::string(64, 'f'));
  EXPECT_ERROR(parsePin("abc"), Errc::kInvalidArgument);
  EXPECT_ERROR(parsePin(std::string(64, 'g')), Errc::kInvalidArgument);
}

TEST(TokenTest, NewTokensRoundTripThroughTheParser) {
  auto enroll = newEnrollmentToken(kPin);
  ASSERT_OK(enroll);
  std::string text = enroll->toString();
  EXPECT_EQ(text.substr(0, 4), "sgE_");
  EXPECT_EQ(text.size(), 4u + 43 + 1 + 64);
  auto back = parseToken(text);
  ASSERT_OK(back);
  EXPECT_EQ(back->kind, TokenKind::kEnrollment);
  EXPECT_EQ(back->secret, enroll->secret);
  EXPECT_EQ(back->ca_pin, kPin);

  auto api = newApiToken();
  ASSERT_OK(api);
  auto api_back = parseToken(api->toString());
  ASSERT_OK(api_back);
  EXPECT_EQ(api_back->kind, TokenKind::kApi);
  EXPECT_NE(api->secret, enroll->secret);
}

TEST(TokenTest, ParseErrorsSayWhatIsWrong) {
  std::string secret(43, 'x');
  EXPECT_NE(errorOf("Bearer abc").find("expected prefix sgE_"), std::string::npos);
  EXPECT_NE(errorOf("sgA_short").find("43 base64url"), std::string::npos);
  EXPECT_NE(errorOf("sgA_" + std::string(42, 'x') + "+").find("43 base64url"), std::string::npos);
  EXPECT_NE(errorOf("sgE_" + secret).find("no '.<ca pin>'"), std::string::npos);
  EXPECT_NE(errorOf("sgE_" + secret + ".1234").find("64 hex digits"), std::string::npos);
  EXPECT_EQ(errorOf("sgE_" + secret + "." + kPin), "");
  EXPECT_EQ(errorOf("sgA_" + secret), "");
  // The secret is never echoed back.
  EXPECT_EQ(errorOf("sgA_" + std::string(44, 'q')).find("qqqq"), std::string::npos);
}

TEST(TokenTest, OnlyTheHashIsKeptAndComparedInConstantTime) {
  std::string h = secretHash("abc");
  EXPECT_EQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constantTimeEqual(h, secretHash("abc")));
  EXPECT_FALSE(constantTimeEqual(h, secretHash("abd")));
  EXPECT_FALSE(constantTimeEqual("ab", "abc"));
}

}  // namespace
}  // namespace sg::pki
