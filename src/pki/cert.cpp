#include "pki/cert.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <ctime>

#include "pki/ossl_error.h"
#include "pki/pem_bio.h"
#include "pki/san.h"

namespace sg::pki {
namespace {

constexpr long kSkewSeconds = 300;  // NOLINT(google-runtime-int): X509_gmtime_adj's type

Result<void> setRandomSerial(X509* x) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return opensslError(Errc::kIo, "random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // and never zero-led
  BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
  Asn1Integer serial(bn != nullptr ? BN_to_ASN1_INTEGER(bn, nullptr) : nullptr);
  BN_free(bn);
  if (!serial || X509_set_serialNumber(x, serial.get()) != 1) {
    return opensslError(Errc::kIo, "setting the serial number");
  }
  return Ok{};
}

Result<void> addExtension(X509* issuer, X509* subject, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return opensslError(Errc::kInvalidArgument, "extension " + value);
  int rc = X509_add_ext(subject, ext, -1);
  X509_EXTENSION_free(ext);
  if (rc != 1) return opensslError(Errc::kIo, "adding extension " + value);
  return Ok{};
}

Result<void> addUsageExtensions(X509* issuer, X509* x, const CertSpec& spec) {
  SG_TRY(addExtension(issuer, x, NID_subject_key_identifier, "hash"));
  switch (spec.usage) {
    case CertUsage::kCa:
      SG_TRY(addExtension(issuer, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
      SG_TRY(addExtension(issuer, x, NID_key_usage, "critical,keyCertSign,cRLSign"));
      return Ok{};
    case CertUsage::kServer: {
      auto sans = sanExtensionValue(spec.sans);
      if (!sans) return sans.error();
      if (sans->empty()) return Error(Errc::kInvalidArgument, "a server certificate needs a SAN");
      SG_TRY(addExtension(issuer, x, NID_subject_alt_name, *sans));
      SG_TRY(addExtension(issuer, x, NID_ext_key_usage, "serverAuth"));
      break;
    }
    case CertUsage::kClient:
      SG_TRY(addExtension(issuer, x, NID_ext_key_usage, "clientAuth"));
      break;
  }
  SG_TRY(addExtension(issuer, x, NID_basic_constraints, "critical,CA:FALSE"));
  SG_TRY(addExtension(issuer, x, NID_key_usage, "critical,digitalSignature"));
  return addExtension(issuer, x, NID_authority_key_identifier, "keyid:always");
}

Result<X509Cert> build(X509* issuer, EVP_PKEY* issuer_key, EVP_PKEY* subject_key,
                       const CertSpec& spec) {
  if (spec.common_name.empty() || spec.common_name.size() > 64) {
    return Error(Errc::kInvalidArgument, "a certificate's common name must be 1-64 bytes");
  }
  if (spec.validity.count() <= 0) return Error(Errc::kInvalidArgument, "validity must be > 0");
  X509Cert cert(X509_new());
  if (!cert) return opensslError(Errc::kIo, "X509_new");
  X509* x = cert.get();
  X509Name name(X509_NAME_new());
  const auto* cn = reinterpret_cast<const unsigned char*>(spec.common_name.c_str());
  if (X509_set_version(x, 2) != 1 || !name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
      X509_set_subject_name(x, name.get()) != 1 ||
      X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name.get()) !=
          1 ||
      X509_gmtime_adj(X509_getm_notBefore(x), -kSkewSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(spec.validity.count())) ==  // NOLINT
          nullptr ||
      X509_set_pubkey(x, subject_key) != 1) {
    return opensslError(Errc::kIo, "filling a certificate");
  }
  SG_TRY(setRandomSerial(x));
  SG_TRY(addUsageExtensions(issuer != nullptr ? issuer : x, x, spec));
  if (X509_sign(x, issuer_key, EVP_sha256()) == 0) {
    return opensslError(Errc::kIo, "signing a certificate");
  }
  return cert;
}

}  // namespace

Result<X509Cert> selfSignCa(const EvpPkey& key, const std::string& common_name,
                            std::chrono::seconds validity) {
  return build(nullptr, key.get(), key.get(), CertSpec{common_name, {}, validity, CertUsage::kCa});
}

Result<X509Cert> issueCert(const X509Cert& ca, const EvpPkey& ca_key, EVP_PKEY* subject_key,
                           const CertSpec& spec) {
  if (spec.usage == CertUsage::kCa) {
    return Error(Errc::kInvalidArgument, "the console issues no intermediate CA");
  }
  return build(ca.get(), ca_key.get(), subject_key, spec);
}

Result<void> verifyIssuedBy(const X509Cert& ca, X509* cert, CertUsage usage) {
  X509Store store(X509_STORE_new());
  X509StoreCtx ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
    return opensslError(Errc::kIo, "setting up verification");
  }
  int purpose = usage == CertUsage::kServer ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
  if (usage != CertUsage::kCa) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    return Error(Errc::kPermissionDenied,
                 std::string("certificate rejected: ") + X509_verify_cert_error_string(err));
  }
  return Ok{};
}

std::string commonName(X509* cert) {
  char buf[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::vector<std::string> subjectAltNames(X509* cert) {
  std::vector<std::string> out;
  GeneralNames names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<size_t>(ASN1_STRING_length(s))));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      int len = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN] = {0};
      inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof(text));
      out.push_back("IP:" + std::string(text));
    }
  }
  return out;
}

int64_t secondsToExpiry(X509* cert) {
  int days = 0;
  int secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) return -1;
  return static_cast<int64_t>(days) * 86400 + secs;
}

Result<std::string> certToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return opensslError(Errc::kIo, "writing a certificate as PEM");
  }
  return bioToString(bio);
}

Result<X509Cert> certFromPem(const std::string& pem) {
  Bio bio = bioFromString(pem);
  X509Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return opensslError(Errc::kInvalidArgument, "reading a PEM certificate");
  return cert;
}

}  // namespace sg::pki
