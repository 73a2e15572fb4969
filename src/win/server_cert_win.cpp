// checkServerCert and certFromPem (winhttp_ws.h): the console's certificate
// against the pinned CA, with CryptoAPI only.
#include <cstring>
#include <vector>

#include "core/address.h"
#include "win/winhttp_ws.h"

namespace sg::win {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

std::string narrow(const wchar_t* w) {
  std::string out;
  for (; w != nullptr && *w != 0; ++w) out.push_back(*w < 128 ? static_cast<char>(*w) : '?');
  return out;
}

// The name or address the certificate must carry, against its SANs.
Result<void> checkName(PCCERT_CONTEXT server, const std::string& name) {
  PCERT_EXTENSION ext = CertFindExtension(szOID_SUBJECT_ALT_NAME2, server->pCertInfo->cExtension,
                                          server->pCertInfo->rgExtension);
  if (ext == nullptr) {
    return Error(Errc::kPermissionDenied, "the console's certificate has no subjectAltName");
  }
  CERT_ALT_NAME_INFO* info = nullptr;
  DWORD size = 0;
  if (!CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME, ext->Value.pbData,
                           ext->Value.cbData, CRYPT_DECODE_ALLOC_FLAG, nullptr, &info, &size)) {
    return Error(Errc::kPermissionDenied, "the console's subjectAltName does not decode (error " +
                                              std::to_string(GetLastError()) + ")");
  }
  auto addr = parseAddress(name);
  bool match = false;
  for (DWORD i = 0; i < info->cAltEntry && !match; i++) {
    const CERT_ALT_NAME_ENTRY& e = info->rgAltEntry[i];
    if (addr.ok() && e.dwAltNameChoice == CERT_ALT_NAME_IP_ADDRESS) {
      const sg_addr& a = addr->raw;
      const bool v4 = addr->isV4();
      const BYTE* want =
          v4 ? reinterpret_cast<const BYTE*>(&a) + 12 : reinterpret_cast<const BYTE*>(&a);
      const DWORD len = v4 ? 4 : 16;
      match = e.IPAddress.cbData == len && std::memcmp(e.IPAddress.pbData, want, len) == 0;
    } else if (!addr.ok() && e.dwAltNameChoice == CERT_ALT_NAME_DNS_NAME) {
      match = lower(narrow(e.pwszDNSName)) == lower(name);
    }
  }
  LocalFree(info);
  if (!match) {
    return Error(Errc::kPermissionDenied,
                 "the console's certificate does not name " + name + " (subjectAltName)");
  }
  return Ok{};
}

// A TLS server's certificate: its extended key usage must name serverAuth.
// Without this, any certificate the pinned CA signed (an agent's, whose
// usage is clientAuth) could stand in for the console.
Result<void> checkServerUsage(PCCERT_CONTEXT server) {
  DWORD size = 0;
  if (!CertGetEnhancedKeyUsage(server, CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG, nullptr, &size)) {
    return Error(Errc::kPermissionDenied,
                 "the console's certificate has no extended key usage (serverAuth required)");
  }
  std::vector<BYTE> buf(size);
  auto* usage = reinterpret_cast<PCERT_ENHKEY_USAGE>(buf.data());
  if (CertGetEnhancedKeyUsage(server, CERT_FIND_EXT_ONLY_ENHKEY_USAGE_FLAG, usage, &size)) {
    for (DWORD i = 0; i < usage->cUsageIdentifier; i++) {
      if (std::strcmp(usage->rgpszUsageIdentifier[i], szOID_PKIX_KP_SERVER_AUTH) == 0) return Ok{};
    }
  }
  return Error(Errc::kPermissionDenied,
               "the console's certificate is not for a TLS server (its extended key usage lacks "
               "serverAuth): refusing the link");
}

}  // namespace

Result<PCCERT_CONTEXT> certFromPem(const std::string& pem) {
  DWORD size = 0;
  if (!CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                            nullptr, &size, nullptr, nullptr)) {
    return Error(Errc::kInvalidArgument, "not a PEM certificate");
  }
  std::vector<BYTE> der(size);
  if (!CryptStringToBinaryA(pem.c_str(), static_cast<DWORD>(pem.size()), CRYPT_STRING_BASE64HEADER,
                            der.data(), &size, nullptr, nullptr)) {
    return Error(Errc::kInvalidArgument, "not a PEM certificate");
  }
  PCCERT_CONTEXT cert = CertCreateCertificateContext(X509_ASN_ENCODING, der.data(), size);
  if (cert == nullptr) {
    return Error(Errc::kInvalidArgument,
                 "not an X.509 certificate (error " + std::to_string(GetLastError()) + ")");
  }
  return cert;
}

Result<void> checkServerCert(PCCERT_CONTEXT server, PCCERT_CONTEXT ca, const std::string& name) {
  if (server == nullptr) return Error(Errc::kPermissionDenied, "the console sent no certificate");
  if (!CertCompareCertificateName(X509_ASN_ENCODING, &server->pCertInfo->Issuer,
                                  &ca->pCertInfo->Subject) ||
      !CryptVerifyCertificateSignatureEx(0, X509_ASN_ENCODING, CRYPT_VERIFY_CERT_SIGN_SUBJECT_CERT,
                                         const_cast<CERT_CONTEXT*>(server),
                                         CRYPT_VERIFY_CERT_SIGN_ISSUER_CERT,
                                         const_cast<CERT_CONTEXT*>(ca), 0, nullptr)) {
    return Error(Errc::kPermissionDenied,
                 "the console's certificate is not signed by the pinned CA (ca.crt saved at "
                 "enrollment): refusing the link");
  }
  if (CertVerifyTimeValidity(nullptr, server->pCertInfo) != 0) {
    return Error(Errc::kPermissionDenied, "the console's certificate is expired or not yet valid");
  }
  if (CertVerifyTimeValidity(nullptr, ca->pCertInfo) != 0) {
    return Error(Errc::kPermissionDenied, "the pinned CA certificate is expired or not yet valid");
  }
  SG_TRY(checkServerUsage(server));
  return checkName(server, name);
}

}  // namespace sg::win
