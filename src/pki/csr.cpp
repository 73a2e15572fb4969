#include "pki/csr.h"

#include <openssl/pem.h>

#include "pki/cert.h"
#include "pki/ossl_error.h"
#include "pki/pem_bio.h"

namespace sg::pki {

Result<X509Req> makeCsr(const EvpPkey& key, const std::string& common_name) {
  X509Req req(X509_REQ_new());
  X509Name name(X509_NAME_new());
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  if (!req || !name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), name.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) == 0) {
    return opensslError(Errc::kIo, "making a CSR");
  }
  return req;
}

Result<X509Cert> signCsr(const X509Cert& ca, const EvpPkey& ca_key, const X509Req& csr,
                         const std::string& endpoint_id, std::chrono::seconds validity) {
  EVP_PKEY* pub = X509_REQ_get0_pubkey(csr.get());
  if (pub == nullptr) return opensslError(Errc::kInvalidArgument, "CSR without a public key");
  if (X509_REQ_verify(csr.get(), pub) != 1) {
    return opensslError(Errc::kInvalidArgument, "CSR signature does not verify");
  }
  return issueCert(ca, ca_key, pub, CertSpec{endpoint_id, {}, validity, CertUsage::kClient});
}

Result<std::string> csrToPem(const X509Req& csr) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), csr.get()) != 1) {
    return opensslError(Errc::kIo, "writing a CSR as PEM");
  }
  return bioToString(bio);
}

Result<X509Req> csrFromPem(const std::string& pem) {
  if (pem.size() > 16 * 1024) return Error(Errc::kInvalidArgument, "CSR larger than 16 KiB");
  Bio bio = bioFromString(pem);
  X509Req req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return opensslError(Errc::kInvalidArgument, "reading a PEM CSR");
  return req;
}

}  // namespace sg::pki
