// One small RAII owner per OpenSSL handle type. Each frees its object with
// the matching *_free function; none can be copied, all can be moved.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace sg::pki {

template <typename T, void (*FreeFn)(T*)>
class OsslHandle {
 public:
  OsslHandle() = default;
  explicit OsslHandle(T* raw) : ptr_(raw) {}
  T* get() const { return ptr_.get(); }
  T* release() { return ptr_.release(); }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  struct Deleter {
    void operator()(T* p) const { FreeFn(p); }
  };
  std::unique_ptr<T, Deleter> ptr_;
};

inline void freeBio(BIO* b) { BIO_free_all(b); }

using EvpPkey = OsslHandle<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtx = OsslHandle<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509Cert = OsslHandle<X509, X509_free>;
using X509Req = OsslHandle<X509_REQ, X509_REQ_free>;
using X509Name = OsslHandle<X509_NAME, X509_NAME_free>;
using X509Store = OsslHandle<X509_STORE, X509_STORE_free>;
using X509StoreCtx = OsslHandle<X509_STORE_CTX, X509_STORE_CTX_free>;
using GeneralNames = OsslHandle<GENERAL_NAMES, GENERAL_NAMES_free>;
using Bio = OsslHandle<BIO, freeBio>;
using Asn1Integer = OsslHandle<ASN1_INTEGER, ASN1_INTEGER_free>;

}  // namespace sg::pki
