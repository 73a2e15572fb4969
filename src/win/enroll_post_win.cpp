// WinEnrollBackend::post (enroll_win.h): POST /v1/enroll over WinHTTP. The
// console's CA is not among the system's roots, so WinHTTP's own check is
// told to ignore an unknown CA and the name, and the trust is the token's:
// WinHttpSendRequest sends only the headers (the body's length announced,
// none of it written), the server's chain is checked — a certificate in it
// whose SubjectPublicKeyInfo hashes to the pin, the leaf signed by it, in
// its validity period, for a TLS server (serverAuth), naming the host
// (checkServerCert) — and only then does WinHttpWriteData send the body
// with the token.
#include <cstdio>
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
  Internet request(WinHttpOpenRequest(connect.get(), L"POST", L"/v1/enroll", nullptr,
                                      WINHTTP_NO_REFERER, WINHTTP_DEFAULT_ACCEPT_TYPES,
                                      WINHTTP_FLAG_SECURE));
  if (request.get() == nullptr) return httpError("WinHttpOpenRequest");
  DWORD flags = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_CN_INVALID;
  if (!WinHttpSetOption(request.get(), WINHTTP_OPTION_SECURITY_FLAGS, &flags, sizeof flags)) {
    return httpError("WinHttpSetOption(SECURITY_FLAGS)");
  }
  if (!WinHttpSendRequest(request.get(), L"Content-Type: application/json\r\n",
                          static_cast<DWORD>(-1L), WINHTTP_NO_REQUEST_DATA, 0,
                          static_cast<DWORD>(body.size()), 0)) {
    return httpError("connecting to the console (WinHttpSendRequest)");
  }
  SG_TRY(checkPinned(request.get(), to.host, ca_pin, *this));
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
