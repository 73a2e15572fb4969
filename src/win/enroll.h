// The Windows agent's enrollment (docs/protocol.md, "Enrollment"), as the
// Linux agent's agent/console_enroll.cpp does it: a P-256 key made on the
// host, a CSR (win/csr_der.h), POST /v1/enroll with the one-time token,
// trusting the console only through the CA pin the token carries, and the
// issued certificate kept with the key under the state directory. The
// platform's parts sit behind EnrollBackend (enroll_win.cpp: BCrypt, WinHTTP,
// DPAPI and the directory's ACL); this file is plain C++ (enroll_test.cpp
// runs it on Linux with OpenSSL checking the CSR).
//
// What it keeps (the Linux agent's set, but the key sealed):
//   agent.key.dpapi  the key's PKCS#8 DER, sealed by EnrollBackend::seal
//   agent.crt  ca.crt  console.json {"url","name","token_sha256"}
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "win/link_credentials.h"

namespace sg::win {

struct EcKeyPair {
  std::string point;   // 65 bytes: 0x04 || X || Y
  std::string scalar;  // 32 bytes: the private key
};

struct EnrollReply {
  int status = 0;
  std::string body;
};

class EnrollBackend {
 public:
  virtual ~EnrollBackend() = default;
  virtual Result<EcKeyPair> generateKey() = 0;  // EC P-256
  // ECDSA with SHA-256 over `data`: r || s, 64 bytes.
  virtual Result<std::string> sign(const EcKeyPair& key, const std::string& data) = 0;
  virtual std::string sha256(const std::string& data) = 0;  // 32 raw bytes
  // POST /v1/enroll to `to`, trusting only a server whose chain holds the CA
  // whose SubjectPublicKeyInfo hashes to `ca_pin` (64 hex digits) and that
  // names the host: no byte of the POST (its body carries the token) goes
  // before that.
  virtual Result<EnrollReply> post(const ConsoleEndpoint& to, const std::string& ca_pin,
                                   const std::string& body) = 0;
  // Creates the state directory closed to all but its owners (SYSTEM and
  // Administrators on Windows).
  virtual Result<void> prepareStateDir(const std::string& dir) = 0;
  // Protects the key's bytes at rest (DPAPI, machine scope); unseal is its
  // inverse (loadLinkCredentials' KeyUnsealer).
  virtual Result<std::string> seal(const std::string& plain) = 0;
};

struct EnrollRequest {
  std::string url;    // --console
  std::string token;  // --enroll: sgE_<secret>.<ca pin>
  std::string name;   // --name, or the host's name
  std::string state_dir;
};

struct EnrollToken {
  std::string secret;  // 43 base64url characters
  std::string ca_pin;  // 64 lowercase hex digits
};
// As pki::parseToken for an enrollment token; never echoes the secret.
Result<EnrollToken> parseEnrollToken(std::string_view text);
// The endpoint name and the console's answer are checked as on Linux
// (agent/enroll_answer.h: validateEndpointName, parseEnrollAnswer).

// Enrolls and saves the credentials (returned with the key as PKCS#8 PEM).
// Refuses, before any request, a token already used for the credentials
// present ("already enrolled"); a new token re-enrolls and replaces them.
Result<LinkCredentials> enrollAgent(const EnrollRequest& request, EnrollBackend& backend);

inline constexpr const char* kSealedKeyFile = "agent.key.dpapi";

}  // namespace sg::win
