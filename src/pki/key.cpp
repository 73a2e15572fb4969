#include "pki/key.h"

#include <openssl/pem.h>

#include "pki/ossl_error.h"
#include "pki/pem_bio.h"

namespace sg::pki {

Result<EvpPkey> generateEcKey() {
  EvpPkey key(EVP_EC_gen("P-256"));
  if (!key) return opensslError(Errc::kIo, "generating an EC P-256 key");
  return key;
}

Result<std::string> keyToPem(const EvpPkey& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError(Errc::kIo, "writing a private key as PEM");
  }
  return bioToString(bio);
}

Result<EvpPkey> keyFromPem(const std::string& pem) {
  Bio bio = bioFromString(pem);
  EvpPkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return opensslError(Errc::kInvalidArgument, "reading a PEM private key");
  return key;
}

}  // namespace sg::pki
