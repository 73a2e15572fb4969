// The Windows agent's console credentials: what the Linux agent's enrollment
// keeps under its state directory (agent/console_enroll.h: console.json
// {"url","name"}, ca.crt, agent.crt, agent.key), read the same way. The
// Windows agent does not enroll yet (a CNG key and CSR are not written):
// the files come from an enrollment done elsewhere (docs/windows-notes.md).
// Plain C++ (link_credentials_test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace sg::win {

struct ConsoleEndpoint {
  std::string host;  // without brackets
  uint16_t port = 8443;
};
// https://HOST[:PORT][/], IPv6 in brackets (as the Linux agent's --console).
Result<ConsoleEndpoint> parseConsoleEndpoint(const std::string& url);

struct LinkCredentials {
  std::string url;
  std::string name;  // the endpoint name (the certificate's CN)
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// nullopt without console.json (never enrolled); an error naming the file
// for a partial or unreadable set.
Result<std::optional<LinkCredentials>> loadLinkCredentials(const std::string& state_dir);

}  // namespace sg::win
