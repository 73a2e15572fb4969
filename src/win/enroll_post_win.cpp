// WinEnrollBackend::post (enroll_win.h): POST /v1/enroll over WinHTTP. The
// console's CA is not among the system's roots, so WinHTTP's own check is
// told to ignore an unknown CA and the name, and the trust is the token's: a
// certificate in the server's chain whose SubjectPublicKeyInfo hashes to the
// pin, the leaf signed by it, in its validity period, for a TLS server
// (serverAuth), naming the host (checkServerCert). Nothing of the enrollment
// goes to a server before its certificate passed:
//   1. a probe, GET /v1/enroll with no body, no token and no extra header,
//      brings up the TLS connection; its certificate is checked (in the
//      SENDING_REQUEST status callback, which on Windows stops the request,
//      and again once WinHttpSendRequest returns: Wine 8 writes a request
//      whose handle the callback closed). A refusal ends there: the server
//      saw at most that GET. The answer (the console's 405) is read to its
//      end so the connection goes back to WinHTTP's pool;
//   2. the POST then goes over that connection, its certificate checked
//      again in the callback before the headers (a new connection, if the
//      server did not keep the first, gets its own check there), and
//      WinHttpSendRequest sends only the headers: the body with the token is
//      written by WinHttpWriteData after the check passed.
#include <cstdio>
#include <optional>
#include <vector>

#include "win/csr_der.h"
#include "win/enroll_win.h"
#include "win/winhttp_ws.h"

namespace sg::win {
namespace {

constexpr size_t kMaxReplyBytes = 64 * 1024;
constexpr DWORD kTimeoutMs = 10'000;

class Internet {
 public:
  explicit Internet(HINTERNET h) : h_(h) {}
  ~Internet() {
    if (h_ != nullptr) WinHttpCloseHandle(h_);
  }
  Internet(const Internet&) = delete;
  Internet& operator=(const Internet&) = delete;
  HINTERNET get() const { return h_; }
  void release() { h_ = nullptr; }  // closed elsewhere (the gate's callback)

 private:
  HINTERNET h_;
};

Error httpError(const char* call) {
  return Error(Errc::kUnavailable, std::string(call) + ": " + winHttpErrorText(GetLastError()));
}

// The certificate of the server's chain whose key the token pins (a
// duplicate: CertFreeCertificateContext), or nullptr.
PCCERT_CONTEXT findPinned(PCCERT_CONTEXT leaf, const std::string& pin, EnrollBackend& backend) {
  PCCERT_CONTEXT c = nullptr;
  while ((c = CertEnumCertificatesInStore(leaf->hCertStore, c)) != nullptr) {
    if (CertCompareCertificate(X509_ASN_ENCODING, c->pCertInfo, leaf->pCertInfo)) continue;
    auto spki = der::certSpki(
        std::string_view(reinterpret_cast<const char*>(c->pbCertEncoded), c->cbCertEncoded));
    if (spki.ok() && der::hex(backend.sha256(*spki)) == pin) {
      PCCERT_CONTEXT found = CertDuplicateCertificateContext(c);
      CertFreeCertificateContext(c);
      return found;
    }
  }
  return nullptr;
}

Result<void> checkPinned(HINTERNET request, const std::string& host, const std::string& pin,
                         EnrollBackend& backend) {
  PCCERT_CONTEXT server = nullptr;
  DWORD size = sizeof server;
  if (!WinHttpQueryOption(request, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &server, &size)) {
    return httpError("WinHttpQueryOption(SERVER_CERT_CONTEXT)");
  }
  PCCERT_CONTEXT anchor = findPinned(server, pin, backend);
  Result<void> r = Ok{};
  if (anchor == nullptr) {
    r = Error(Errc::kPermissionDenied,
              "the console's certificate chain holds no CA with the token's pin: not sending the "
              "token");
  } else {
    r = checkServerCert(server, anchor, host);
    CertFreeCertificateContext(anchor);
  }
  CertFreeCertificateContext(server);
  return r;
}

// checkPinned in the request's status callback at SENDING_REQUEST: after the
// TLS handshake, before the request is written. A refusal closes the request
// there, which on Windows cancels the send.
struct PinGate {
  const std::string& host;
  const std::string& pin;
  EnrollBackend& backend;
  bool checked = false;
  bool closed = false;
  std::optional<Error> refused;

  static void CALLBACK onStatus(HINTERNET request, DWORD_PTR context, DWORD status, LPVOID, DWORD) {
    if (status != WINHTTP_CALLBACK_STATUS_SENDING_REQUEST || context == 0) return;
    auto* gate = reinterpret_cast<PinGate*>(context);
    if (gate->closed) return;
    auto verdict = checkPinned(request, gate->host, gate->pin, gate->backend);
    gate->checked = verdict.ok();
    if (verdict.ok()) return;
    gate->refused = verdict.error();
    gate->closed = true;
    WinHttpCloseHandle(request);
  }
};

// A request just opened (its handle in `request`): WinHTTP's own chain and
// name checks off (ours replace them), the pin gate installed.
Result<void> openGated(Internet& request, const char* what) {
  if (request.get() == nullptr) return httpError(what);
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID;
  if (!WinHttpSetOption(request.get(), WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags)) {
    return httpError("WinHttpSetOption(SECURITY_FLAGS)");
  }
  if (WinHttpSetStatusCallback(request.get(), &PinGate::onStatus,
                               WINHTTP_CALLBACK_FLAG_SEND_REQUEST,
                               0) == WINHTTP_INVALID_STATUS_CALLBACK) {
    return httpError("WinHttpSetStatusCallback");
  }
  return Ok{};
}

// After WinHttpSendRequest: the gate's verdict, and the certificate checked
// again on the request now sent (covers a callback that did not run).
Result<void> afterSend(Internet& request, PinGate& gate, bool sent, const char* call,
                       const std::string& host, const std::string& pin, EnrollBackend& backend) {
  const DWORD err = sent ? NO_ERROR : GetLastError();
  if (gate.closed) request.release();
  if (gate.refused) return *gate.refused;
  if (!sent) return Error(Errc::kUnavailable, std::string(call) + ": " + winHttpErrorText(err));
  if (!gate.checked) {
    return Error(Errc::kPermissionDenied,
                 "the console's certificate was not checked before the request: not sending the "
                 "token");
  }
  // The gate lives on the caller's stack: no callback past this point.
  WinHttpSetStatusCallback(request.get(), nullptr, 0, 0);
  DWORD_PTR no_context = 0;
  WinHttpSetOption(request.get(), WINHTTP_OPTION_CONTEXT_VALUE, &no_context, sizeof no_context);
  return checkPinned(request.get(), host, pin, backend);
}

// Step 1: the empty probe that brings up the connection and checks its
// certificate; its answer is read and dropped.
Result<void> probe(HINTERNET connect, const std::string& host, const std::string& pin,
                   EnrollBackend& backend) {
  Internet request(WinHttpOpenRequest(connect, L"GET", L"/v1/enroll", nullptr, WINHTTP_NO_REFERER,
                                      WINHTTP_DEFAULT_ACCEPT_TYPES, WINHTTP_FLAG_SECURE));
  SG_TRY(openGated(request, "WinHttpOpenRequest(probe)"));
  PinGate gate{host, pin, backend};
  const bool sent =
      WinHttpSendRequest(request.get(), WINHTTP_NO_ADDITIONAL_HEADERS, 0, WINHTTP_NO_REQUEST_DATA,
                         0, 0, reinterpret_cast<DWORD_PTR>(&gate));
  SG_TRY(afterSend(request, gate, sent, "connecting to the console (WinHttpSendRequest)", host, pin,
                   backend));
  if (!WinHttpReceiveResponse(request.get(), nullptr)) {
    return httpError("the console's answer to the probe (WinHttpReceiveResponse)");
  }
  char buf[4096];
  DWORD n = 0;
  size_t total = 0;
  while (total <= kMaxReplyBytes && WinHttpReadData(request.get(), buf, sizeof buf, &n) && n > 0) {
    total += n;
  }
  return Ok{};
}

}  // namespace

Result<EnrollReply> WinEnrollBackend::post(const ConsoleEndpoint& to, const std::string& ca_pin,
                                           const std::string& body) {
  const std::wstring whost(to.host.begin(), to.host.end());
  Internet session(WinHttpOpen(L"syn-guard-agent", WINHTTP_ACCESS_TYPE_NO_PROXY,
                               WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0));
  if (session.get() == nullptr) return httpError("WinHttpOpen");
  WinHttpSetTimeouts(session.get(), kTimeoutMs, kTimeoutMs, kTimeoutMs, kTimeoutMs);
  Internet connect(WinHttpConnect(session.get(), whost.c_str(), to.port, 0));
  if (connect.get() == nullptr) return httpError("WinHttpConnect");
  SG_TRY(probe(connect.get(), to.host, ca_pin, *this));

  Internet request(WinHttpOpenRequest(connect.get(), L"POST", L"/v1/enroll", nullptr,
                                      WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
                                      WINHTTP_FLAG_SECURE));
  SG_TRY(openGated(request, "WinHttpOpenRequest"));
  PinGate gate{to.host, ca_pin, *this};
  const bool sent =
      WinHttpSendRequest(request.get(), L"Content-Type: application/json\r\n",
                         static_cast<DWORD>(-1L), WINHTTP_NO_REQUEST_DATA, 0,
                         static_cast<DWORD>(body.size()), reinterpret_cast<DWORD_PTR>(&gate));
  SG_TRY(afterSend(request, gate, sent, "connecting to the console (WinHttpSendRequest)", to.host,
                   ca_pin, *this));
  DWORD written = 0;
  if (!WinHttpWriteData(request.get(), body.data(), static_cast<DWORD>(body.size()), &written) ||
      written != body.size()) {
    return httpError("sending the enrollment (WinHttpWriteData)");
  }
  if (!WinHttpReceiveResponse(request.get(), nullptr)) {
    return httpError("the console's answer (WinHttpReceiveResponse)");
  }
  EnrollReply reply;
  DWORD status = 0;
  DWORD size = sizeof status;
  WinHttpQueryHeaders(request.get(), WINHTTP_QUERY_STATUS_CODE | WINHTTP_QUERY_FLAG_NUMBER,
                      WINHTTP_HEADER_NAME_BY_INDEX, &status, &size, WINHTTP_NO_HEADER_INDEX);
  reply.status = static_cast<int>(status);
  char buf[4096];
  DWORD n = 0;
  while (WinHttpReadData(request.get(), buf, sizeof buf, &n) && n > 0) {
    reply.body.append(buf, n);
    if (reply.body.size() > kMaxReplyBytes) {
      return Error(Errc::kUnavailable, "the console's answer is over 64 KiB");
    }
  }
  return reply;
}

}  // namespace sg::win
