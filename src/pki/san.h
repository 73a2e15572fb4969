// Subject alternative names: a string is an IP address when it parses as one,
// else a DNS name (letters, digits, '-', '.', a leading "*." wildcard).
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace sg::pki {

// "DNS:a,IP:1.2.3.4" for OpenSSL's subjectAltName extension, duplicates
// dropped; an entry that is neither an address nor a DNS name is an error.
Result<std::string> sanExtensionValue(const std::vector<std::string>& sans);
// The same address/name written as subjectAltNames() prints it.
Result<std::string> sanEntry(const std::string& san);

}  // namespace sg::pki
