// Enrollment with the console, as kubelet TLS bootstrap does it: the agent
// makes its own key and a CSR (the key never leaves the host), posts the CSR
// with a one-time token to POST /v1/enroll, trusting the console only through
// the CA pin the token carries, and keeps what comes back under its state
// directory (directory 0700, files 0600):
//   agent.key  agent.crt  ca.crt  console.json {"url","name","token_sha256"}
// Later starts read them (loadCredentials): `--console URL` is then enough,
// and even that may be left out, console.json remembering the URL.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agent/enroll_answer.h"
#include "core/result.h"
#include "net/https_client.h"

namespace sg::agent {

// https://HOST[:PORT][/] (port 8443 when absent); IPv6 hosts in brackets.
struct ConsoleUrl {
  std::string host;  // without brackets
  uint16_t port = 8443;
  std::string text;  // normalised: https://host:port
};
Result<ConsoleUrl> parseConsoleUrl(std::string_view text);

struct ConsoleCredentials {
  std::string url;   // as ConsoleUrl::text
  std::string name;  // the endpoint name the certificate carries (CN)
  std::string key_pem;
  std::string cert_pem;
  std::string ca_pem;
  std::string token_sha256;  // of the enrollment token's secret: re-use is told apart
};

// The credentials under `state_dir`; nullopt when the agent never enrolled
// (no console.json). A partial or unreadable set is an error naming the file.
Result<std::optional<ConsoleCredentials>> loadCredentials(const std::string& state_dir);
Result<void> saveCredentials(const std::string& state_dir, const ConsoleCredentials& creds);

// One POST (injected in tests): target, path, JSON body -> reply.
using EnrollPost = std::function<Result<net::HttpsReply>(
    const net::HttpsTarget& target, const std::string& path, const std::string& body)>;

struct EnrollRequest {
  std::string url;    // --console
  std::string token;  // --enroll: sgE_<secret>.<ca pin>
  std::string name;   // --name; empty: the hostname
  std::string state_dir;
};

// Enrolls and saves the credentials. Refuses, before any request, a token
// already used for the credentials present ("already enrolled"); a new token
// re-enrolls and replaces them. Errors never echo the token's secret.
Result<ConsoleCredentials> enroll(const EnrollRequest& request, const EnrollPost& post = {});

// validateEndpointName: agent/enroll_answer.h (shared with the Windows agent).
std::string defaultEndpointName();  // the hostname

}  // namespace sg::agent
