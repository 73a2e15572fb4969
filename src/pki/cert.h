// X.509 certificates for the console's private PKI: a self-signed CA, server
// certificates naming their SANs, client certificates naming an endpoint (CN).
// Extended key usage keeps the roles apart: an agent's client certificate
// (clientAuth only) can never pass as the console's server certificate.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/ossl_handle.h"

namespace sg::pki {

enum class CertUsage { kCa, kServer, kClient };

struct CertSpec {
  std::string common_name;           // subject CN (endpoint id for clients)
  std::vector<std::string> sans;     // server only: DNS names or IP addresses
  std::chrono::seconds validity{0};  // from now (notBefore is 5 minutes back, for skew)
  CertUsage usage = CertUsage::kClient;
};

// Self-signed CA over `key`.
Result<X509Cert> selfSignCa(const EvpPkey& key, const std::string& common_name,
                            std::chrono::seconds validity);
// A certificate for `subject_key`'s public half, signed by the CA.
Result<X509Cert> issueCert(const X509Cert& ca, const EvpPkey& ca_key, EVP_PKEY* subject_key,
                           const CertSpec& spec);

// Checks that `cert` chains to `ca`, is in its validity period and may serve
// as `usage` (server or client).
Result<void> verifyIssuedBy(const X509Cert& ca, X509* cert, CertUsage usage);

std::string commonName(X509* cert);
// "DNS:name" / "IP:address" entries, in certificate order.
std::vector<std::string> subjectAltNames(X509* cert);
// Seconds until notAfter (negative when expired).
int64_t secondsToExpiry(X509* cert);

Result<std::string> certToPem(X509* cert);
Result<X509Cert> certFromPem(const std::string& pem);

}  // namespace sg::pki
