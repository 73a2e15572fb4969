// The Windows agent's console credentials: what its enrollment (win/enroll.h)
// keeps under the state directory — console.json {"url","name",
// "token_sha256"}, ca.crt, agent.crt and the key sealed in agent.key.dpapi —
// or what the Linux agent's enrollment keeps (a plain agent.key, PKCS#8 PEM),
// read the same way. Plain C++ (link_credentials_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
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
  std::string key_pem;       // PKCS#8 PEM
  std::string token_sha256;  // of the enrollment token's secret (hex): re-use is told apart
};

// Turns agent.key.dpapi's bytes back into the key's PKCS#8 DER (DPAPI on
// Windows: unsealKey in enroll_win.cpp).
using KeyUnsealer = std::function<Result<std::string>(const std::string& sealed)>;

// nullopt without console.json (never enrolled); an error naming the file
// for a partial or unreadable set. The key is agent.key (PEM) when present,
// else agent.key.dpapi through `unseal`.
Result<std::optional<LinkCredentials>> loadLinkCredentials(const std::string& state_dir,
                                                           const KeyUnsealer& unseal = {});

// agent.key is the key of agent.crt (a P-256 PKCS#8 key that carries its
// public point, as enrollment writes it; another form is left to the TLS
// layer to judge). Caught here, a mismatch is named instead of failing
// every handshake.
Result<void> checkKeyMatchesCert(const LinkCredentials& creds);

}  // namespace sg::win
