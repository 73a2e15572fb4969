// OpenSSL's thread-local error queue turned into an sg::Error.
#pragma once

#include "core/result.h"

namespace sg::pki {

// Drains the queue: "what: <first OpenSSL reason>" (or "what" when empty).
Error opensslError(Errc code, const std::string& what);

}  // namespace sg::pki
