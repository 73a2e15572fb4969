// EC P-256 keys: generation and PEM (PKCS#8) in and out.
#pragma once

#include <string>

#include "core/result.h"
#include "pki/ossl_handle.h"

namespace sg::pki {

Result<EvpPkey> generateEcKey();
Result<std::string> keyToPem(const EvpPkey& key);
Result<EvpPkey> keyFromPem(const std::string& pem);

}  // namespace sg::pki
