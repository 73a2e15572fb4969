#include "net/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "pki/cert.h"
#include "pki/ossl_error.h"
#include "pki/ossl_handle.h"
#include "pki/pem_bio.h"
#include "pki/pin.h"

namespace sg::net {
namespace ssl = boost::asio::ssl;

namespace {

void hardenContext(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
}

Result<void> addCaPem(X509_STORE* store, const std::string& pem) {
  pki::Bio bio = pki::bioFromString(pem);
  int added = 0;
  for (;;) {
    pki::X509Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      return pki::opensslError(Errc::kIo, "adding a CA certificate");
    }
    ++added;
  }
  ERR_clear_error();  // the read that ended the loop
  if (added == 0) return Error(Errc::kInvalidArgument, "no PEM certificate in the CA");
  return Ok{};
}

Result<void> useChainAndKey(SSL_CTX* ctx, const std::string& chain, const std::string& key) {
  pki::Bio bio = pki::bioFromString(chain);
  pki::X509Cert leaf(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf || SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    return pki::opensslError(Errc::kInvalidArgument, "reading the certificate");
  }
  for (;;) {
    X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    SSL_CTX_add_extra_chain_cert(ctx, extra);  // takes ownership
  }
  ERR_clear_error();
  pki::Bio kbio = pki::bioFromString(key);
  pki::EvpPkey pkey(PEM_read_bio_PrivateKey(kbio.get(), nullptr, nullptr, nullptr));
  if (!pkey || SSL_CTX_use_PrivateKey(ctx, pkey.get()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    return pki::opensslError(Errc::kInvalidArgument, "reading the private key");
  }
  return Ok{};
}

// Verification against a pinned CA: the server's chain must hold a
// certificate whose key has the pin; the leaf is then verified with only
// that certificate as trust anchor (purpose, host name and validity as usual).
int verifyAgainstPin(X509_STORE_CTX* ctx, void* arg) {
  const auto* pin = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  X509* anchor = nullptr;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (c != leaf && pki::pinMatches(c, *pin)) anchor = c;
  }
  if (anchor == nullptr) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_UNTRUSTED);
    return 0;
  }
  pki::X509Store store(X509_STORE_new());
  pki::X509StoreCtx inner(X509_STORE_CTX_new());
  if (!store || !inner || X509_STORE_add_cert(store.get(), anchor) != 1 ||
      X509_STORE_CTX_init(inner.get(), store.get(), leaf, chain) != 1) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
    return 0;
  }
  X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(inner.get()), X509_STORE_CTX_get0_param(ctx));
  X509_STORE_CTX_set_purpose(inner.get(), X509_PURPOSE_SSL_SERVER);
  int ok = X509_verify_cert(inner.get());
  X509_STORE_CTX_set_error(ctx, ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(inner.get()));
  return ok == 1 ? 1 : 0;
}

bool isIpAddress(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const TlsServerConfig& c) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  hardenContext(native);
  SG_TRY(useChainAndKey(native, c.cert_chain_pem, c.key_pem));
  // Sessions resumed (browsers do on every further connection) belong to
  // this context; without an id context OpenSSL fails such a handshake with
  // internal_error once client certificates are asked for.
  static constexpr unsigned char kSessionContext[] = "syn-guard-console";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  if (!c.client_ca_pem.empty()) {
    SG_TRY(addCaPem(SSL_CTX_get_cert_store(native), c.client_ca_pem));
    SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_CLIENT);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    // Tell clients which CA to pick a certificate for.
    pki::Bio bio = pki::bioFromString(c.client_ca_pem);
    pki::X509Cert ca(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (ca) SSL_CTX_add_client_CA(native, ca.get());
  }
  return ctx;
}

ClientTlsContext::ClientTlsContext() : ctx_(ssl::context::tls_client) {}

Result<std::shared_ptr<ClientTlsContext>> ClientTlsContext::create(const TlsClientConfig& c) {
  if ((c.ca_pem.empty() ? 0 : 1) + (c.ca_pin.empty() ? 0 : 1) + (c.system_roots ? 1 : 0) != 1) {
    return Error(Errc::kInvalidArgument,
                 "trust the server through exactly one of a CA, a pin or the system's roots");
  }
  std::shared_ptr<ClientTlsContext> out(new ClientTlsContext());
  SSL_CTX* native = out->ctx_.native_handle();
  hardenContext(native);
  out->server_name_ = c.server_name;
  if (c.system_roots) {
    if (SSL_CTX_set_default_verify_paths(native) != 1) {
      return pki::opensslError(Errc::kIo, "loading the system's trusted roots");
    }
  } else if (!c.ca_pem.empty()) {
    SG_TRY(addCaPem(SSL_CTX_get_cert_store(native), c.ca_pem));
  } else {
    auto pin = pki::parsePin(c.ca_pin);
    if (!pin) return pin.error();
    out->pin_ = *pin;
    SSL_CTX_set_cert_verify_callback(native, verifyAgainstPin, &out->pin_);
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (!c.cert_pem.empty()) SG_TRY(useChainAndKey(native, c.cert_pem, c.key_pem));
  return out;
}

Result<void> ClientTlsContext::prepare(SSL* ssl, const std::string& host) const {
  const std::string& name = server_name_.empty() ? host : server_name_;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (isIpAddress(name)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
      return pki::opensslError(Errc::kInvalidArgument, "server address " + name);
    }
    return Ok{};
  }
  if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1 || SSL_set1_host(ssl, name.c_str()) != 1) {
    return pki::opensslError(Errc::kInvalidArgument, "server name " + name);
  }
  return Ok{};
}

}  // namespace sg::net
