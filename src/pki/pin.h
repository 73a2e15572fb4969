// The CA pin, as `kubeadm join --discovery-token-ca-cert-hash` pins it: the
// SHA-256 of the CA certificate's DER SubjectPublicKeyInfo, as 64 lowercase
// hex digits. An agent that holds the pin trusts exactly that CA key.
#pragma once

#include <string>

#include "core/result.h"

typedef struct x509_st X509;  // NOLINT(modernize-use-using): OpenSSL's own forward name

namespace sg::pki {

std::string caPin(X509* cert);
// Checks the form: 64 hex digits (an optional "sha256:" prefix is accepted).
// Returns the pin normalised to lowercase hex without prefix.
Result<std::string> parsePin(const std::string& text);
// Constant-time comparison of `cert`'s pin with `pin` (already parsed).
bool pinMatches(X509* cert, const std::string& pin);

}  // namespace sg::pki
