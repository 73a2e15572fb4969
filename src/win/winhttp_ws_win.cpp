// WinHttpWsConnector (winhttp_ws.h): WinHTTP's synchronous WebSocket calls.
// One thread receives (LinkRunner's); sends come from the core's callers,
// one at a time (send_mu_).
#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <vector>

#include "proto/limits.h"
#include "win/winhttp_ws.h"
// (after wincrypt.h)
#include <ncrypt.h>

namespace sg::win {
namespace {

std::wstring widen(const std::string& s) { return std::wstring(s.begin(), s.end()); }

Error winHttpError(const char* call, DWORD code = GetLastError()) {
  return Error(Errc::kUnavailable, std::string(call) + ": " + winHttpErrorText(code));
}

// The console's {"error","message"} body of a refused upgrade, bounded.
std::string readBody(HINTERNET request) {
  std::string body;
  char buf[1024];
  DWORD n = 0;
  while (body.size() < 4096 && WinHttpReadData(request, buf, sizeof buf, &n) && n > 0) {
    body.append(buf, n);
  }
  return body;
}

class WinHttpWsConnection final : public WsConnection {
 public:
  WinHttpWsConnection(HINTERNET connect, HINTERNET ws) : connect_(connect), ws_(ws) {}
  ~WinHttpWsConnection() override {
    close();
    WinHttpCloseHandle(ws_);
    WinHttpCloseHandle(connect_);
  }

  Result<std::string> receive() override {
    std::string message;
    std::vector<char> buf(64 * 1024);
    for (;;) {
      DWORD n = 0;
      WINHTTP_WEB_SOCKET_BUFFER_TYPE type{};
      const DWORD rc =
          WinHttpWebSocketReceive(ws_, buf.data(), static_cast<DWORD>(buf.size()), &n, &type);
      if (rc != NO_ERROR) return winHttpError("WinHttpWebSocketReceive", rc);
      switch (type) {
        case WINHTTP_WEB_SOCKET_UTF8_FRAGMENT_BUFFER_TYPE:
        case WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE:
          message.append(buf.data(), n);
          if (message.size() > proto::kMaxMessageBytes) {
            return Error(Errc::kInvalidArgument, "the console sent a message over " +
                                                     std::to_string(proto::kMaxMessageBytes) +
                                                     " bytes");
          }
          if (type == WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE) return message;
          break;
        case WINHTTP_WEB_SOCKET_BINARY_MESSAGE_BUFFER_TYPE:
        case WINHTTP_WEB_SOCKET_BINARY_FRAGMENT_BUFFER_TYPE:
          return Error(Errc::kInvalidArgument,
                       "the console sent a binary frame (the protocol is text only)");
        case WINHTTP_WEB_SOCKET_CLOSE_BUFFER_TYPE: {
          // Kept for peerClose(): a console that refuses the hello's version
          // closes with 4001 and its parser's reason (an older one: 1000, no
          // reason), which the link core steps down on.
          USHORT status = 0;
          char reason[WINHTTP_WEB_SOCKET_MAX_CLOSE_REASON_LENGTH] = {};
          DWORD len = 0;
          const DWORD rc =
              WinHttpWebSocketQueryCloseStatus(ws_, &status, reason, sizeof reason, &len);
          if (rc != NO_ERROR) {
            return winHttpError("the console's close frame (WinHttpWebSocketQueryCloseStatus)", rc);
          }
          peer_close_ = WsClose{status, std::string(reason, std::min<DWORD>(len, sizeof reason))};
          return Error(Errc::kUnavailable, "the console closed the link (status " +
                                               std::to_string(status) +
                                               (len > 0 ? ": " + peer_close_->reason : "") + ")");
        }
        default:
          return Error(Errc::kInvalidArgument, "the console sent a frame of unknown type " +
                                                   std::to_string(static_cast<int>(type)));
      }
    }
  }

  std::optional<WsClose> peerClose() const override { return peer_close_; }

  Result<void> sendText(const std::string& text) override {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closed_) return Error(Errc::kUnavailable, "the link is closed");
    const DWORD rc =
        WinHttpWebSocketSend(ws_, WINHTTP_WEB_SOCKET_UTF8_MESSAGE_BUFFER_TYPE,
                             const_cast<char*>(text.data()), static_cast<DWORD>(text.size()));
    if (rc != NO_ERROR) return winHttpError("WinHttpWebSocketSend", rc);
    return Ok{};
  }

  void close() override {
    std::lock_guard<std::mutex> lock(send_mu_);
    if (closed_) return;
    closed_ = true;
    // Sends the close frame; the receiving thread then gets the console's
    // answer (or an error) and returns.
    WinHttpWebSocketShutdown(ws_, WINHTTP_WEB_SOCKET_SUCCESS_CLOSE_STATUS, nullptr, 0);
  }

 private:
  HINTERNET connect_;
  HINTERNET ws_;
  std::optional<WsClose> peer_close_;  // receive()'s thread only
  std::mutex send_mu_;
  bool closed_ = false;
};

// The console's certificate is checked in WinHTTP's status callback at
// WINHTTP_CALLBACK_STATUS_SENDING_REQUEST: after the TLS handshake, before a
// byte of the request is written. A refusal closes the request handle there,
// which cancels the send (WinHttpSendRequest fails, the reason is the gate's).
struct PinGate {
  PCCERT_CONTEXT ca;
  std::string name;
  bool checked = false;  // this handshake's certificate passed
  bool closed = false;   // the callback closed the request handle
  std::optional<Error> refused;

  // The server's certificate on `request`; with `required` false, a request
  // that has none to hand out yet passes (the callback checks it later).
  Result<void> check(HINTERNET request, bool required = true) const {
    PCCERT_CONTEXT server = nullptr;
    DWORD size = sizeof server;
    if (!WinHttpQueryOption(request, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &server, &size)) {
      if (!required) return Ok{};
      return winHttpError("the console's certificate (WINHTTP_OPTION_SERVER_CERT_CONTEXT)");
    }
    auto verdict = checkServerCert(server, ca, name);
    CertFreeCertificateContext(server);
    return verdict;
  }

  static void CALLBACK onStatus(HINTERNET request, DWORD_PTR context, DWORD status, LPVOID, DWORD) {
    if (status != WINHTTP_CALLBACK_STATUS_SENDING_REQUEST || context == 0) return;
    auto* gate = reinterpret_cast<PinGate*>(context);
    if (gate->closed) return;
    auto verdict = gate->check(request);
    gate->checked = verdict.ok();
    if (verdict.ok()) return;
    gate->refused = verdict.error();
    gate->closed = true;
    WinHttpCloseHandle(request);
  }
};

std::string hexStatus(SECURITY_STATUS st) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08lx", static_cast<unsigned long>(st));
  return buf;
}

// The agent's key (PKCS#8 PEM) into CNG as a named, persisted key, attached
// to its certificate: Schannel signs with it in LSASS, which cannot reach an
// ephemeral key.
Result<void> attachKey(PCCERT_CONTEXT cert, const std::string& key_pem, const std::string& name) {
  DWORD size = 0;
  if (!CryptStringToBinaryA(key_pem.c_str(), static_cast<DWORD>(key_pem.size()),
                            CRYPT_STRING_BASE64HEADER, nullptr, &size, nullptr, nullptr)) {
    return Error(Errc::kInvalidArgument, "agent.key is not PEM");
  }
  std::vector<BYTE> der(size);
  CryptStringToBinaryA(key_pem.c_str(), static_cast<DWORD>(key_pem.size()),
                       CRYPT_STRING_BASE64HEADER, der.data(), &size, nullptr, nullptr);
  NCRYPT_PROV_HANDLE prov = 0;
  SECURITY_STATUS st = NCryptOpenStorageProvider(&prov, MS_KEY_STORAGE_PROVIDER, 0);
  if (st != ERROR_SUCCESS) {
    return Error(Errc::kUnavailable, "NCryptOpenStorageProvider: status " + hexStatus(st));
  }
  std::wstring wname = widen(name);
  NCryptBuffer param{static_cast<ULONG>((wname.size() + 1) * sizeof(wchar_t)),
                     NCRYPTBUFFER_PKCS_KEY_NAME, wname.data()};
  NCryptBufferDesc params{NCRYPTBUFFER_VERSION, 1, &param};
  NCRYPT_KEY_HANDLE key = 0;
  st = NCryptImportKey(prov, 0, NCRYPT_PKCS8_PRIVATE_KEY_BLOB, &params, &key, der.data(), size,
                       NCRYPT_OVERWRITE_KEY_FLAG);
  SecureZeroMemory(der.data(), der.size());
  NCryptFreeObject(prov);
  if (st != ERROR_SUCCESS) {
    return Error(Errc::kUnavailable,
                 "importing agent.key into CNG (NCryptImportKey PKCS#8): status " + hexStatus(st));
  }
  NCryptFreeObject(key);
  CRYPT_KEY_PROV_INFO info{};
  info.pwszContainerName = wname.data();
  info.pwszProvName = const_cast<wchar_t*>(MS_KEY_STORAGE_PROVIDER);
  if (!CertSetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, 0, &info)) {
    return Error(Errc::kUnavailable,
                 "attaching the key to agent.crt: error " + std::to_string(GetLastError()));
  }
  return Ok{};
}

}  // namespace

std::string winHttpErrorText(DWORD code) {
  const char* name = nullptr;
  switch (code) {
    case ERROR_WINHTTP_TIMEOUT:
      name = "ERROR_WINHTTP_TIMEOUT";
      break;
    case ERROR_WINHTTP_NAME_NOT_RESOLVED:
      name = "ERROR_WINHTTP_NAME_NOT_RESOLVED";
      break;
    case ERROR_WINHTTP_CANNOT_CONNECT:
      name = "ERROR_WINHTTP_CANNOT_CONNECT";
      break;
    case ERROR_WINHTTP_CONNECTION_ERROR:
      name = "ERROR_WINHTTP_CONNECTION_ERROR";
      break;
    case ERROR_WINHTTP_SECURE_FAILURE:
      name = "ERROR_WINHTTP_SECURE_FAILURE";
      break;
    case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
      name = "ERROR_WINHTTP_SECURE_CHANNEL_ERROR";
      break;
    case ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED:
      name = "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED";
      break;
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
      name = "ERROR_WINHTTP_INVALID_SERVER_RESPONSE";
      break;
    case ERROR_WINHTTP_OPERATION_CANCELLED:
      name = "ERROR_WINHTTP_OPERATION_CANCELLED";
      break;
    case ERROR_INVALID_HANDLE:
      name = "ERROR_INVALID_HANDLE";
      break;
    default:
      break;
  }
  return std::string(name != nullptr ? name : "error") + " (" + std::to_string(code) + ")";
}

Result<std::unique_ptr<WinHttpWsConnector>> WinHttpWsConnector::create(WinHttpWsOptions options) {
  auto ca = certFromPem(options.ca_pem);
  if (!ca.ok()) return ca.error().context("the pinned CA (ca.crt)");
  PCCERT_CONTEXT client = nullptr;
  if (!options.cert_pem.empty()) {
    auto c = certFromPem(options.cert_pem);
    if (!c.ok()) {
      CertFreeCertificateContext(*ca);
      return c.error().context("agent.crt");
    }
    client = *c;
    if (auto r = attachKey(client, options.key_pem, options.key_name); !r.ok()) {
      CertFreeCertificateContext(client);
      CertFreeCertificateContext(*ca);
      return r.error();
    }
  }
  HINTERNET session = WinHttpOpen(L"syn-guard-agent", WINHTTP_ACCESS_TYPE_NO_PROXY,
                                  WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
  if (session == nullptr) {
    const DWORD err = GetLastError();
    if (client != nullptr) CertFreeCertificateContext(client);
    CertFreeCertificateContext(*ca);
    return winHttpError("WinHttpOpen", err);
  }
  const int t = static_cast<int>(options.connect_timeout.count());
  WinHttpSetTimeouts(session, t, t, t, t);
  return std::unique_ptr<WinHttpWsConnector>(
      new WinHttpWsConnector(std::move(options), session, *ca, client));
}

WinHttpWsConnector::WinHttpWsConnector(WinHttpWsOptions options, HINTERNET session,
                                       PCCERT_CONTEXT ca, PCCERT_CONTEXT client)
    : options_(std::move(options)),
      whost_(widen(options_.host)),
      wpath_(widen(options_.path)),
      session_(session),
      ca_(ca),
      client_(client) {}

WinHttpWsConnector::~WinHttpWsConnector() {
  WinHttpCloseHandle(session_);
  if (client_ != nullptr) CertFreeCertificateContext(client_);
  CertFreeCertificateContext(ca_);
}

Result<std::unique_ptr<WsConnection>> WinHttpWsConnector::connect() {
  HINTERNET connect = WinHttpConnect(session_, whost_.c_str(), options_.port, 0);
  if (connect == nullptr) return winHttpError("WinHttpConnect");
  HINTERNET request =
      WinHttpOpenRequest(connect, L"GET", wpath_.c_str(), nullptr, WINHTTP_NO_REFERER,
                         WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE);
  PinGate gate{ca_, options_.server_name.empty() ? options_.host : options_.server_name};
  auto fail = [&](Error e) -> Result<std::unique_ptr<WsConnection>> {
    if (request != nullptr && !gate.closed) WinHttpCloseHandle(request);
    WinHttpCloseHandle(connect);
    return e;
  };
  if (request == nullptr) return fail(winHttpError("WinHttpOpenRequest"));
  // The system's roots do not hold the console's CA, and the name is checked
  // by checkServerCert: both done in the gate below, before any request byte.
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID;
  if (!WinHttpSetOption(request, WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags) ||
      !WinHttpSetOption(request, WINHTTP_OPTION_UPGRADE_TO_WEB_SOCKET, nullptr, 0)) {
    return fail(winHttpError("WinHttpSetOption"));
  }
  if (WinHttpSetStatusCallback(request, &PinGate::onStatus, WINHTTP_CALLBACK_FLAG_SEND_REQUEST,
                               0) == WINHTTP_INVALID_STATUS_CALLBACK) {
    return fail(winHttpError("WinHttpSetStatusCallback"));
  }
  // The first attempt carries no client certificate: the agent's certificate
  // goes only to a server whose certificate has passed the gate.
  bool sent = WinHttpSendRequest(request, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA,
                                 0, 0, reinterpret_cast<DWORD_PTR>(&gate));
  DWORD err = sent ? NO_ERROR : GetLastError();
  if (gate.refused) return fail(*gate.refused);
  if (!sent && err == ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED && client_ != nullptr) {
    // The console asked for a certificate in its handshake, which WinHTTP
    // stopped there: its certificate, if Schannel hands it out at this point,
    // is checked before ours is set. (If not, ours goes in the next handshake
    // and the gate still runs before the request.)
    if (auto early = gate.check(request, /*required=*/false); !early.ok()) {
      return fail(early.error());
    }
    if (!WinHttpSetOption(request, WINHTTP_OPTION_CLIENT_CERT_CONTEXT,
                          const_cast<CERT_CONTEXT*>(client_), sizeof(CERT_CONTEXT))) {
      return fail(winHttpError("WinHttpSetOption(CLIENT_CERT_CONTEXT)"));
    }
    gate.checked = false;  // the new handshake's certificate is checked again
    sent = WinHttpSendRequest(request, WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA, 0,
                              0, reinterpret_cast<DWORD_PTR>(&gate));
    err = sent ? NO_ERROR : GetLastError();
    if (gate.refused) return fail(*gate.refused);
  }
  if (!sent) return fail(winHttpError("connecting to the console (WinHttpSendRequest)", err));
  if (!gate.checked) {
    return fail(Error(Errc::kPermissionDenied,
                      "the console's certificate was not checked before the request: refusing"));
  }
  // The gate lives on this stack: no callback, no context past this point
  // (the WebSocket handle would inherit both).
  WinHttpSetStatusCallback(request, nullptr, 0, 0);
  DWORD_PTR no_context = 0;
  WinHttpSetOption(request, WINHTTP_OPTION_CONTEXT_VALUE, &no_context, sizeof no_context);
  if (!WinHttpReceiveResponse(request, nullptr)) {
    return fail(winHttpError("the console's answer to the upgrade (WinHttpReceiveResponse)"));
  }
  DWORD status = 0;
  DWORD size = sizeof status;
  WinHttpQueryHeaders(request, WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                      WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX);
  if (status != 101) {
    const std::string body = readBody(request);
    return fail(Error(status == 401 || status == 403 ? Errc::kPermissionDenied : Errc::kUnavailable,
                      "the console refused the link: HTTP " + std::to_string(status) +
                          (body.empty() ? "" : " " + body.substr(0, 512))));
  }
  HINTERNET ws = WinHttpWebSocketCompleteUpgrade(request, 0);
  if (ws == nullptr) return fail(winHttpError("WinHttpWebSocketCompleteUpgrade"));
  WinHttpCloseHandle(request);
  return std::unique_ptr<WsConnection>(new WinHttpWsConnection(connect, ws));
}

}  // namespace sg::win
