// WinHttpWsConnector: the console link's transport on Windows — WinHTTP's
// WebSocket client (WinHttpOpenRequest + WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET,
// WinHttpWebSocketCompleteUpgrade / Send / Receive / Close) over the system's
// TLS (Schannel). Trust is the Linux agent's: only the console's CA saved at
// enrollment (ca.crt, whose key the enrollment token pinned). The system's
// roots do not know that CA, so WinHTTP's own chain check is told to ignore
// an unknown CA and a name mismatch — and checkServerCert() does the checks
// itself on WINHTTP_OPTION_SERVER_CERT_CONTEXT, in the request's status
// callback at WINHTTP_CALLBACK_STATUS_SENDING_REQUEST (after the handshake,
// before the request is written): signed by the pinned CA, both in their
// validity period, serverAuth in the extended key usage, naming the host
// connected to (IP SAN for an address, DNS SAN for a name). A failure closes
// the request there and refuses the link with the reason. The client
// certificate is not offered in the first handshake: only when the console
// asks for it (ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED), after its certificate
// passed. Windows only (winhttp_ws_win.cpp, server_cert_win.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "win/win_compat.h"
// (after windows.h)
#include <wincrypt.h>
#include <winhttp.h>

#include "win/ws_transport.h"

namespace sg::win {

struct WinHttpWsOptions {
  std::string host;  // the console's name or address
  uint16_t port = 8443;
  std::string path = "/v1/agent";
  std::string ca_pem;       // the pinned CA (ca.crt)
  std::string server_name;  // checked against the certificate's SANs; "" : host
  // The agent's client certificate (agent.crt, agent.key: PKCS#8 PEM). Empty:
  // none (the console then refuses /v1/agent: 403 "no client certificate").
  std::string cert_pem;
  std::string key_pem;
  std::string key_name = "syn-guard-agent";  // the CNG key's name when persisted
  std::chrono::milliseconds connect_timeout{10'000};
};

// WinHTTP's error codes by name ("ERROR_WINHTTP_CANNOT_CONNECT (12029)").
std::string winHttpErrorText(DWORD code);

// The checks described above; `ca` is the pinned CA (also the enrollment's).
Result<void> checkServerCert(PCCERT_CONTEXT server, PCCERT_CONTEXT ca, const std::string& name);
// A PEM certificate as a context (CertFreeCertificateContext when done).
Result<PCCERT_CONTEXT> certFromPem(const std::string& pem);

class WinHttpWsConnector final : public WsConnector {
 public:
  static Result<std::unique_ptr<WinHttpWsConnector>> create(WinHttpWsOptions options);
  ~WinHttpWsConnector() override;
  Result<std::unique_ptr<WsConnection>> connect() override;

 private:
  WinHttpWsConnector(WinHttpWsOptions options, HINTERNET session, PCCERT_CONTEXT ca,
                     PCCERT_CONTEXT client);
  WinHttpWsOptions options_;
  std::wstring whost_;
  std::wstring wpath_;
  HINTERNET session_;
  PCCERT_CONTEXT ca_;
  PCCERT_CONTEXT client_;  // with its private key attached; null: none
};

}  // namespace sg::win
