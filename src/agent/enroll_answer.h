// The console's answer to POST /v1/enroll (docs/protocol.md), read the same
// way by the Linux agent (console_enroll.cpp) and the Windows one
// (src/win/enroll.cpp): plain C++ and nlohmann-json, no TLS library, so both
// builds compile it.
#pragma once

#include <string>

#include "core/result.h"

namespace sg::agent {

// [A-Za-z0-9._-]{1,64}: what the console accepts as an endpoint name.
Result<void> validateEndpointName(const std::string& name);

struct EnrollAnswer {
  std::string name;  // "endpoint": the name the certificate carries (CN)
  std::string cert_pem;
  std::string ca_pem;
};

// 200: {"endpoint","cert","ca"}, all present, the name valid. Any other
// status: refused, with the console's {"error","message"} and an Errc from
// the status (401/403 unauthenticated, other 4xx invalid argument, else
// unavailable). `where` begins each error ("enrolling with https://...").
// Checking the certificate and CA against the key and the token's pin is the
// caller's (each with its own crypto library).
Result<EnrollAnswer> parseEnrollAnswer(int status, const std::string& body,
                                       const std::string& where);

}  // namespace sg::agent
