// The console's key material under its data directory:
//   ca.crt (0644)  ca.key (0600)  server.crt (0644)  server.key (0600)
// Created on first start; the server certificate is issued again when it
// lacks a wanted SAN (e.g. a new --listen address or --san) or expires
// within 30 days. The CA is never replaced: agents pin it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"
#include "pki/ossl_handle.h"

namespace sg::pki {

struct ConsolePkiOptions {
  std::string dir;                               // the console's data directory
  std::vector<std::string> server_sans;          // DNS names and IP addresses
  std::string ca_name = "syn-guard console CA";  // the CA's CN
  std::chrono::seconds ca_validity{10LL * 365 * 86400};
  std::chrono::seconds server_validity{365LL * 86400};
};

struct ConsolePki {
  X509Cert ca_cert;
  EvpPkey ca_key;
  X509Cert server_cert;
  EvpPkey server_key;
  std::string ca_pin;      // caPin(ca_cert)
  std::string ca_pem;      // ca.crt's content
  std::string server_pem;  // server certificate then CA (the chain a TLS server sends)
  std::string server_key_pem;
  bool server_reissued = false;  // a new server certificate was written this time
};

Result<ConsolePki> loadOrCreateConsolePki(const ConsolePkiOptions& options);

// Keys and certificates are written with sg::writeFileAtomic and read with
// sg::readSmallFile (files/state_file.h).

}  // namespace sg::pki
