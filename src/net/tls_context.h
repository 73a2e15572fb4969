// OpenSSL contexts for Asio from TlsServerConfig / TlsClientConfig. TLS 1.2
// at least. Server and client certificates are checked for their purpose
// (serverAuth / clientAuth), so an agent's client certificate, issued by the
// same CA, can never impersonate the console.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/tls_config.h"

typedef struct ssl_st SSL;  // NOLINT(modernize-use-using): OpenSSL's own forward name

namespace sg::net {

Result<std::shared_ptr<boost::asio::ssl::context>> makeServerTlsContext(const TlsServerConfig& c);

// Owns the context and what its verify callback reads (the pin), so both live
// as long as any connection made from it.
class ClientTlsContext {
 public:
  static Result<std::shared_ptr<ClientTlsContext>> create(const TlsClientConfig& c);
  boost::asio::ssl::context& context() { return ctx_; }
  // Per connection: SNI and the name or address the server certificate must carry.
  Result<void> prepare(SSL* ssl, const std::string& host) const;

  ClientTlsContext(const ClientTlsContext&) = delete;
  ClientTlsContext& operator=(const ClientTlsContext&) = delete;
  const std::string& pin() const { return pin_; }

 private:
  ClientTlsContext();
  boost::asio::ssl::context ctx_;
  std::string pin_;
  std::string server_name_;
};

}  // namespace sg::net
