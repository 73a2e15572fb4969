// Bearer tokens. A secret is 32 random bytes, base64url without padding (43
// characters), behind a prefix that says what it is for:
//   enrollment  sgE_<secret>.<ca pin>   one-time, carries the console's CA pin
//   API         sgA_<secret>            operators and scripts
// The console stores only secretHash(secret) and compares hashes in constant
// time, so a leaked database holds no usable token.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace sg::pki {

enum class TokenKind { kEnrollment, kApi };

struct Token {
  TokenKind kind = TokenKind::kApi;
  std::string secret;  // base64url, 43 characters
  std::string ca_pin;  // enrollment only: 64 hex digits

  std::string toString() const;
};

Result<Token> newEnrollmentToken(const std::string& ca_pin);
Result<Token> newApiToken();
// Strict: the prefix, a 43-character base64url secret and (enrollment) a
// valid pin; each failure names what is wrong, never echoing the secret.
Result<Token> parseToken(std::string_view text);

// SHA-256 of the secret, hex: what the store keeps.
std::string secretHash(const std::string& secret);
// Constant time in the content (the lengths are not secret).
bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace sg::pki
