// Certificate signing requests, as in kubelet TLS bootstrap: the agent makes
// its own key and a CSR (the key never leaves it); the console checks the
// CSR's self-signature and signs a client certificate whose CN is the
// endpoint id the console chose, whatever the CSR asked for.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"
#include "pki/ossl_handle.h"

namespace sg::pki {

// Default lifetime of an agent's client certificate: short, renewed by
// re-enrolment or rotation, revoked by the console's endpoint list at once.
inline constexpr std::chrono::seconds kClientCertValidity{30 * 24 * 3600};

Result<X509Req> makeCsr(const EvpPkey& key, const std::string& common_name);
Result<X509Cert> signCsr(const X509Cert& ca, const EvpPkey& ca_key, const X509Req& csr,
                         const std::string& endpoint_id,
                         std::chrono::seconds validity = kClientCertValidity);

Result<std::string> csrToPem(const X509Req& csr);
// Bounded: a PEM CSR over 16 KiB is refused before parsing.
Result<X509Req> csrFromPem(const std::string& pem);

}  // namespace sg::pki
