// Shared by the loopback tests: an in-memory PKI (console CA, server
// certificate for 127.0.0.1, an agent's client certificate from a CSR, and a
// foreign CA with its own client certificate), a server on 127.0.0.1:0 run by
// two threads, and bounded waiting.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "net/server.h"
#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "test_helpers.h"

namespace sg::net::test {

struct Pem {
  std::string cert;
  std::string key;
};

struct TestPki {
  std::string ca_pem;
  std::string ca_pin;
  Pem server;  // chain: server certificate then CA
  Pem agent;   // CN "ep-7", from a CSR
  std::string foreign_ca_pin;
  Pem foreign_agent;  // CN "ep-7" too, from another CA
};

inline std::string pemOf(const pki::X509Cert& c) { return *pki::certToPem(c.get()); }
inline std::string pemOf(const pki::EvpPkey& k) { return *pki::keyToPem(k); }

inline TestPki makeTestPki() {
  using std::chrono::seconds;
  TestPki out;
  auto ca_key = pki::generateEcKey();
  auto ca = pki::selfSignCa(*ca_key, "test console CA", seconds(3600));
  out.ca_pem = pemOf(*ca);
  out.ca_pin = pki::caPin(ca->get());
  auto server_key = pki::generateEcKey();
  auto server = pki::issueCert(
      *ca, *ca_key, server_key->get(),
      pki::CertSpec{"console", {"127.0.0.1", "localhost"}, seconds(3600), pki::CertUsage::kServer});
  out.server = Pem{pemOf(*server) + out.ca_pem, pemOf(*server_key)};
  auto agent_key = pki::generateEcKey();
  auto csr = pki::makeCsr(*agent_key, "whatever");
  auto agent = pki::signCsr(*ca, *ca_key, *csr, "ep-7", seconds(3600));
  out.agent = Pem{pemOf(*agent), pemOf(*agent_key)};
  auto other_key = pki::generateEcKey();
  auto other = pki::selfSignCa(*other_key, "test console CA", seconds(3600));
  out.foreign_ca_pin = pki::caPin(other->get());
  auto foreign = pki::issueCert(*other, *other_key, agent_key->get(),
                                pki::CertSpec{"ep-7", {}, seconds(3600), pki::CertUsage::kClient});
  out.foreign_agent = Pem{pemOf(*foreign), out.agent.key};
  return out;
}

// Polls `pred` every 5 ms up to `limit`.
inline bool waitFor(const std::function<bool()>& pred,
                    std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

// An io_context run by two threads until the fixture ends.
class IoThreads {
 public:
  IoThreads() : guard_(boost::asio::make_work_guard(ioc_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::io_context& ioc() { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

inline ServerOptions serverOptions(const TestPki& pki) {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.tls = TlsServerConfig{pki.server.cert, pki.server.key, pki.ca_pem};
  o.limits.handshake_timeout = std::chrono::milliseconds(2000);
  o.limits.idle_timeout = std::chrono::milliseconds(2000);
  return o;
}

inline TlsClientConfig pinnedClient(const TestPki& pki, const Pem* cert) {
  TlsClientConfig c;
  c.ca_pin = pki.ca_pin;
  if (cert != nullptr) {
    c.cert_pem = cert->cert;
    c.key_pem = cert->key;
  }
  return c;
}

}  // namespace sg::net::test
