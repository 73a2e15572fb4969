#include "pki/token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>

#include "pki/hex.h"
#include "pki/ossl_error.h"
#include "pki/pin.h"

namespace sg::pki {
namespace {

constexpr std::string_view kEnrollPrefix = "sgE_";
constexpr std::string_view kApiPrefix = "sgA_";
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // ceil(32 * 8 / 6), no padding
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64Url(const unsigned char* bytes, size_t len) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

bool isBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::find(std::begin(kAlphabet), std::end(kAlphabet) - 1, c) != std::end(kAlphabet) - 1;
  });
}

Result<std::string> newSecret() {
  unsigned char bytes[kSecretBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return opensslError(Errc::kIo, "RAND_bytes");
  std::string s = base64Url(bytes, sizeof(bytes));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return s;
}

Result<std::string> checkSecret(std::string_view secret) {
  if (secret.size() != kSecretChars || !isBase64Url(secret)) {
    return Error(Errc::kInvalidArgument, "token secret must be 43 base64url characters");
  }
  return std::string(secret);
}

}  // namespace

std::string Token::toString() const {
  if (kind == TokenKind::kApi) return std::string(kApiPrefix) + secret;
  return std::string(kEnrollPrefix) + secret + "." + ca_pin;
}

Result<Token> newEnrollmentToken(const std::string& ca_pin) {
  auto pin = parsePin(ca_pin);
  if (!pin) return pin.error();
  auto secret = newSecret();
  if (!secret) return secret.error();
  return Token{TokenKind::kEnrollment, *secret, *pin};
}

Result<Token> newApiToken() {
  auto secret = newSecret();
  if (!secret) return secret.error();
  return Token{TokenKind::kApi, *secret, {}};
}

Result<Token> parseToken(std::string_view text) {
  if (text.substr(0, kApiPrefix.size()) == kApiPrefix) {
    auto secret = checkSecret(text.substr(kApiPrefix.size()));
    if (!secret) return secret.error().context("API token");
    return Token{TokenKind::kApi, *secret, {}};
  }
  if (text.substr(0, kEnrollPrefix.size()) == kEnrollPrefix) {
    std::string_view rest = text.substr(kEnrollPrefix.size());
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos) {
      return Error(Errc::kInvalidArgument, "enrollment token: no '.<ca pin>' after the secret");
    }
    auto secret = checkSecret(rest.substr(0, dot));
    if (!secret) return secret.error().context("enrollment token");
    auto pin = parsePin(std::string(rest.substr(dot + 1)));
    if (!pin) return pin.error().context("enrollment token");
    return Token{TokenKind::kEnrollment, *secret, *pin};
  }
  return Error(Errc::kInvalidArgument,
               "not a syn-guard token: expected prefix sgE_ (enrollment) or sgA_ (API)");
}

std::string secretHash(const std::string& secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return toHex(digest, sizeof(digest));
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sg::pki
