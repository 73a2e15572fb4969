#include "pki/console_pki.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "files/state_file.h"
#include "pki/cert.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "pki/san.h"

namespace sg::pki {
namespace {

constexpr int64_t kRenewBeforeSeconds = 30LL * 86400;

Error sysError(const std::string& what, int err) {
  return Error(Errc::kIo, what + ": " + std::strerror(err));
}

bool fileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

struct Pem {
  std::string key;
  std::string cert;
};

// Writes a new key (0600) and its certificate (0644), each atomically, as
// PEM; returns what was written.
Result<Pem> writeKeyAndCert(const std::string& key_path, const EvpPkey& key,
                            const std::string& cert_path, X509* cert) {
  Pem pem;
  SG_READ(key_pem, keyToPem(key));
  SG_READ(cert_pem, certToPem(cert));
  pem.key = std::move(*key_pem);
  pem.cert = std::move(*cert_pem);
  SG_TRY(writeFileAtomic(key_path, pem.key, 0600));
  SG_TRY(writeFileAtomic(cert_path, pem.cert, 0644));
  return pem;
}

Result<void> loadOrCreateCa(const ConsolePkiOptions& o, ConsolePki& pki) {
  std::string crt = o.dir + "/ca.crt";
  std::string key = o.dir + "/ca.key";
  if (fileExists(crt) || fileExists(key)) {
    auto crt_pem = readSmallFile(crt);
    if (!crt_pem) return crt_pem.error();
    auto key_pem = readSmallFile(key);
    if (!key_pem) return key_pem.error();
    auto cert = certFromPem(*crt_pem);
    if (!cert) return cert.error();
    auto k = keyFromPem(*key_pem);
    if (!k) return k.error();
    if (X509_check_private_key(cert->get(), k->get()) != 1) {
      return Error(Errc::kInvalidArgument, key + " does not match " + crt);
    }
    pki.ca_cert = std::move(*cert);
    pki.ca_key = std::move(*k);
    pki.ca_pem = *crt_pem;
    return Ok{};
  }
  auto k = generateEcKey();
  if (!k) return k.error();
  auto cert = selfSignCa(*k, o.ca_name, o.ca_validity);
  if (!cert) return cert.error();
  SG_READ(pem, writeKeyAndCert(key, *k, crt, cert->get()));
  pki.ca_cert = std::move(*cert);
  pki.ca_key = std::move(*k);
  pki.ca_pem = pem->cert;
  return Ok{};
}

// True when the certificate on disk names every wanted SAN, was issued by
// this CA and lives long enough.
bool serverCertUsable(const ConsolePki& pki, X509* cert, const std::vector<std::string>& sans) {
  if (!verifyIssuedBy(pki.ca_cert, cert, CertUsage::kServer).ok()) return false;
  if (secondsToExpiry(cert) < kRenewBeforeSeconds) return false;
  std::vector<std::string> have = subjectAltNames(cert);
  return std::all_of(sans.begin(), sans.end(), [&](const std::string& s) {
    auto entry = sanEntry(s);
    return entry.ok() && std::find(have.begin(), have.end(), *entry) != have.end();
  });
}

Result<void> loadOrIssueServer(const ConsolePkiOptions& o, ConsolePki& pki) {
  std::string crt = o.dir + "/server.crt";
  std::string key = o.dir + "/server.key";
  if (fileExists(crt) && fileExists(key)) {
    auto crt_pem = readSmallFile(crt);
    if (!crt_pem) return crt_pem.error();
    auto key_pem = readSmallFile(key);
    if (!key_pem) return key_pem.error();
    auto cert = certFromPem(*crt_pem);
    auto k = keyFromPem(*key_pem);
    if (cert && k && X509_check_private_key(cert->get(), k->get()) == 1 &&
        serverCertUsable(pki, cert->get(), o.server_sans)) {
      pki.server_cert = std::move(*cert);
      pki.server_key = std::move(*k);
      pki.server_key_pem = *key_pem;
      return Ok{};
    }
  }
  std::string cn = o.server_sans.empty() ? "syn-guard console" : o.server_sans.front();
  auto k = generateEcKey();
  if (!k) return k.error();
  auto cert = issueCert(pki.ca_cert, pki.ca_key, k->get(),
                        CertSpec{cn, o.server_sans, o.server_validity, CertUsage::kServer});
  if (!cert) return cert.error();
  SG_READ(pem, writeKeyAndCert(key, *k, crt, cert->get()));
  pki.server_cert = std::move(*cert);
  pki.server_key = std::move(*k);
  pki.server_key_pem = pem->key;
  pki.server_reissued = true;
  return Ok{};
}

}  // namespace

Result<ConsolePki> loadOrCreateConsolePki(const ConsolePkiOptions& options) {
  if (options.dir.empty()) return Error(Errc::kInvalidArgument, "no data directory");
  if (mkdir(options.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return sysError("mkdir " + options.dir, errno);
  }
  ConsolePki pki;
  SG_TRY(loadOrCreateCa(options, pki));
  SG_TRY(loadOrIssueServer(options, pki));
  pki.ca_pin = caPin(pki.ca_cert.get());
  auto server_pem = certToPem(pki.server_cert.get());
  if (!server_pem) return server_pem.error();
  pki.server_pem = *server_pem + pki.ca_pem;
  return pki;
}

}  // namespace sg::pki
