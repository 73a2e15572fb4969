// For the Linux tests of the Windows enrollment (csr_der_test.cpp,
// enroll_test.cpp): the key, the signature and the hash done with OpenSSL,
// so OpenSSL — what the console verifies with — checks what csr_der builds;
// and a console played in memory: the console's checks of a CSR
// (X509_REQ_verify, an EC P-256/P-384 key, as console/service_enroll.cpp),
// a certificate signed by its CA, one-time tokens.
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <vector>

#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "pki/token.h"
#include "win/enroll.h"

namespace sg::win::test {

inline std::string sha256Of(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return std::string(reinterpret_cast<char*>(d), sizeof d);
}

// The P-256 key's point and scalar, as BCryptExportKey gives them.
inline EcKeyPair keyPairOf(const pki::EvpPkey& key) {
  unsigned char point[65];
  size_t n = 0;
  EVP_PKEY_get_octet_string_param(key.get(), "pub", point, sizeof point, &n);
  BIGNUM* d = nullptr;
  EVP_PKEY_get_bn_param(key.get(), "priv", &d);
  unsigned char scalar[32];
  BN_bn2binpad(d, scalar, sizeof scalar);
  BN_free(d);
  return {std::string(reinterpret_cast<char*>(point), n),
          std::string(reinterpret_cast<char*>(scalar), sizeof scalar)};
}

// ECDSA-SHA256 with `key`, as r || s.
inline std::string signRaw(const pki::EvpPkey& key, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                 data.size());
  std::string der(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                 reinterpret_cast<const unsigned char*>(data.data()), data.size());
  EVP_MD_CTX_free(ctx);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  unsigned char raw[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
  ECDSA_SIG_free(sig);
  return std::string(reinterpret_cast<char*>(raw), sizeof raw);
}

class OpenSslEnrollBackend : public EnrollBackend {
 public:
  OpenSslEnrollBackend() {
    ca_key_ = std::move(pki::generateEcKey()).value();
    ca_ = std::move(pki::selfSignCa(ca_key_, "test-ca", std::chrono::hours(24))).value();
    ca_pem_ = pki::certToPem(ca_.get()).value();
  }

  Result<EcKeyPair> generateKey() override {
    SG_READ(key, pki::generateEcKey());
    keys_.push_back(std::move(*key));
    return keyPairOf(keys_.back());
  }
  Result<std::string> sign(const EcKeyPair& pair, const std::string& data) override {
    for (const auto& k : keys_)
      if (keyPairOf(k).point == pair.point) return signRaw(k, data);
    return Error(Errc::kNotFound, "no such key");
  }
  std::string sha256(const std::string& data) override { return sha256Of(data); }

  Result<EnrollReply> post(const ConsoleEndpoint& to, const std::string& ca_pin,
                           const std::string& body) override {
    posts++;
    last_pin = ca_pin;
    last_host = to.host;
    auto j = nlohmann::json::parse(body);
    const std::string token = j["token"];
    if (used_.count(token) != 0) {
      return EnrollReply{403, R"({"error":"forbidden","message":"enrollment token already used"})"};
    }
    auto csr = pki::csrFromPem(j["csr"]);
    if (!csr.ok()) return EnrollReply{400, R"({"error":"bad_request","message":"bad CSR"})"};
    EVP_PKEY* pub = X509_REQ_get0_pubkey(csr->get());
    char group[64] = {};
    size_t len = 0;
    if (X509_REQ_verify(csr->get(), pub) != 1 || EVP_PKEY_is_a(pub, "EC") != 1 ||
        EVP_PKEY_get_group_name(pub, group, sizeof group, &len) != 1 ||
        std::string(group) != "prime256v1") {
      return EnrollReply{400, R"({"error":"bad_request","message":"CSR refused"})"};
    }
    X509_NAME* subject = X509_REQ_get_subject_name(csr->get());
    char cn[128] = {};
    X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn);
    csr_subject = cn;
    used_.insert(token);
    auto cert = pki::signCsr(ca_, ca_key_, *csr, j["name"]);
    if (!cert.ok()) return cert.error();
    const pki::X509Cert& reply_ca = other_ca_ ? *other_ca_ : ca_;
    nlohmann::json out{{"endpoint", j["name"]},
                       {"cert", pki::certToPem(cert->get()).value()},
                       {"ca", pki::certToPem(reply_ca.get()).value()}};
    if (foreign_cert) {
      auto other = std::move(pki::generateEcKey()).value();
      auto c = pki::issueCert(ca_, ca_key_, other.get(),
                              {"x", {}, std::chrono::hours(1), pki::CertUsage::kClient});
      out["cert"] = pki::certToPem(c->get()).value();
    }
    return EnrollReply{200, out.dump()};
  }
  Result<void> prepareStateDir(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    prepared = dir;
    return Ok{};
  }
  // A stand-in for DPAPI: the bytes reversed behind a marker.
  Result<std::string> seal(const std::string& plain) override {
    return "SEALED:" + std::string(plain.rbegin(), plain.rend());
  }
  static Result<std::string> unseal(const std::string& sealed) {
    if (sealed.rfind("SEALED:", 0) != 0) return Error(Errc::kInvalidArgument, "not sealed");
    return std::string(sealed.rbegin(), sealed.rend() - 7);
  }

  std::string token() { return pki::newEnrollmentToken(pki::caPin(ca_.get())).value().toString(); }
  void replyWithAnotherCa() {
    auto k = std::move(pki::generateEcKey()).value();
    other_ca_ = std::move(pki::selfSignCa(k, "other-ca", std::chrono::hours(1))).value();
  }
  const pki::X509Cert& ca() const { return ca_; }

  int posts = 0;
  std::string last_pin, last_host, csr_subject, prepared;
  bool foreign_cert = false;

 private:
  pki::EvpPkey ca_key_;
  pki::X509Cert ca_;
  std::optional<pki::X509Cert> other_ca_;
  std::string ca_pem_;
  std::vector<pki::EvpPkey> keys_;
  std::set<std::string> used_;
};

}  // namespace sg::win::test
