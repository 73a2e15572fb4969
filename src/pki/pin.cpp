#include "pki/pin.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <cctype>

#include "pki/hex.h"

namespace sg::pki {

std::string caPin(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return std::string();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return toHex(digest, sizeof(digest));
}

Result<std::string> parsePin(const std::string& text) {
  std::string hex = text.rfind("sha256:", 0) == 0 ? text.substr(7) : text;
  if (hex.size() != 2 * SHA256_DIGEST_LENGTH) {
    return Error(Errc::kInvalidArgument, "a CA pin is 64 hex digits (SHA-256), got " +
                                             std::to_string(hex.size()) + " characters");
  }
  for (char& c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) {
      return Error(Errc::kInvalidArgument, "a CA pin is hex digits only");
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return hex;
}

bool pinMatches(X509* cert, const std::string& pin) {
  std::string actual = caPin(cert);
  return !actual.empty() && actual.size() == pin.size() &&
         CRYPTO_memcmp(actual.data(), pin.data(), pin.size()) == 0;
}

}  // namespace sg::pki
