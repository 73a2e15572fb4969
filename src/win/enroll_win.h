// EnrollBackend on Windows (win/enroll.h): the key pair from BCrypt (ECDSA
// P-256, BCryptGenerateKeyPair / BCryptSignHash), POST /v1/enroll over
// WinHTTP with the token's CA pin checked on the server's chain before any
// of the POST goes (an empty GET probe brings up the connection first:
// enroll_post_win.cpp), the state directory created or checked by secureStateDir
// (owner Administrators, protected DACL for SYSTEM and Administrators; a
// squatted level or a junction refused: state_dir_check.h), and the key
// sealed with DPAPI in machine scope, which the directory's ACL alone
// protects (docs/windows-notes.md). Windows only.
#pragma once

#include <string>

#include "win/enroll.h"

namespace sg::win {

class WinEnrollBackend final : public EnrollBackend {
 public:
  Result<EcKeyPair> generateKey() override;
  Result<std::string> sign(const EcKeyPair& key, const std::string& data) override;
  std::string sha256(const std::string& data) override;
  Result<EnrollReply> post(const ConsoleEndpoint& to, const std::string& ca_pin,
                           const std::string& body) override;
  Result<void> prepareStateDir(const std::string& dir) override;
  Result<std::string> seal(const std::string& plain) override;
};

// The inverse of WinEnrollBackend::seal (loadLinkCredentials' KeyUnsealer).
Result<std::string> unsealKey(const std::string& sealed);

// The state directory's owner and DACL as SDDL
// ("O:BAD:P(A;OICI;FA;;;SY)..."): for tests and for `status`.
Result<std::string> stateDirAcl(const std::string& dir);

// The host's DNS name (the default endpoint name), "" when unknown.
std::string hostName();

}  // namespace sg::win
