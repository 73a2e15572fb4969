// TLS material for the server and the client, as PEM strings (the console
// reads them from its data directory, the agent from its state directory).
#pragma once

#include <string>

namespace sg::net {

struct TlsServerConfig {
  std::string cert_chain_pem;  // server certificate, then the CA (sent so pinning clients find it)
  std::string key_pem;
  // Non-empty: ask every client for a certificate and verify it against this
  // CA (purpose clientAuth). A client without one still connects (operators
  // use API tokens); a client with a bad one fails the handshake.
  std::string client_ca_pem;
};

// The client trusts the server through exactly one of ca_pem, ca_pin and
// system_roots.
struct TlsClientConfig {
  std::string ca_pem;  // trust this CA (the agent's saved ca.crt, ctl's --ca-file)
  // ... or trust the CA in the server's chain whose SubjectPublicKeyInfo has
  // this SHA-256 (the enrollment token's pin), as kubeadm join does.
  std::string ca_pin;
  // ... or the system's trusted roots (the console's webhooks to public
  // services; never the agent link).
  bool system_roots = false;
  std::string cert_pem;  // client certificate (the agent's, after enrollment); optional
  std::string key_pem;
  // Name checked against the server certificate's SANs; empty: the host
  // connected to. An IP address is checked as an IP SAN.
  std::string server_name;
};

}  // namespace sg::net
