// csr_der against OpenSSL, what the console verifies CSRs with.
#include "win/csr_der.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "win/openssl_enroll_backend.h"

namespace sg::win {
namespace {

using test::keyPairOf;
using test::signRaw;

pki::X509Req parseDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return pki::X509Req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
}

TEST(CsrDer, OpenSslVerifiesTheCsrItsSubjectAndKey) {
  // Signatures are random: enough of them that r and s with the top bit set
  // (a zero byte in front) and without both occur.
  for (int i = 0; i < 32; i++) {
    auto key = std::move(pki::generateEcKey()).value();
    const EcKeyPair pair = keyPairOf(key);
    auto info = der::csrInfo("win-host-1", pair.point);
    ASSERT_TRUE(info.ok()) << info.error().message();
    auto csr = der::csr(*info, signRaw(key, *info));
    ASSERT_TRUE(csr.ok()) << csr.error().message();

    pki::X509Req req = parseDer(*csr);
    ASSERT_TRUE(req) << "OpenSSL cannot parse the CSR";
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
    ASSERT_NE(pub, nullptr);
    EXPECT_EQ(X509_REQ_verify(req.get(), pub), 1);
    EXPECT_EQ(EVP_PKEY_eq(pub, key.get()), 1);
    char group[64] = {};
    size_t len = 0;
    ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &len), 1);
    EXPECT_STREQ(group, "prime256v1");
    EXPECT_EQ(X509_REQ_get_version(req.get()), 0);
    char cn[80] = {};
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req.get()), NID_commonName, cn, sizeof cn);
    EXPECT_STREQ(cn, "win-host-1");
    EXPECT_EQ(X509_NAME_entry_count(X509_REQ_get_subject_name(req.get())), 1);
    EXPECT_EQ(X509_REQ_get_signature_nid(req.get()), NID_ecdsa_with_SHA256);
    // DER is canonical: OpenSSL writes back the same bytes.
    unsigned char* out = nullptr;
    const int n = i2d_X509_REQ(req.get(), &out);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(out), n), *csr);
    OPENSSL_free(out);
    // And the PEM is what the console's csrFromPem reads.
    auto pem = pki::csrFromPem(der::toPem(*csr, "CERTIFICATE REQUEST"));
    ASSERT_TRUE(pem.ok()) << pem.error().message();
    EXPECT_EQ(X509_REQ_verify(pem->get(), X509_REQ_get0_pubkey(pem->get())), 1);
  }
}

TEST(CsrDer, ASignatureFromAnotherKeyOrAlteredInfoDoesNotVerify) {
  auto key = std::move(pki::generateEcKey()).value();
  auto other = std::move(pki::generateEcKey()).value();
  auto info = der::csrInfo("h", keyPairOf(key).point).value();
  pki::X509Req wrong_key = parseDer(der::csr(info, signRaw(other, info)).value());
  ASSERT_TRUE(wrong_key);
  EXPECT_NE(X509_REQ_verify(wrong_key.get(), X509_REQ_get0_pubkey(wrong_key.get())), 1);
  auto info_b = der::csrInfo("i", keyPairOf(key).point).value();
  pki::X509Req altered = parseDer(der::csr(info_b, signRaw(key, info)).value());
  ASSERT_TRUE(altered);
  EXPECT_NE(X509_REQ_verify(altered.get(), X509_REQ_get0_pubkey(altered.get())), 1);
}

TEST(CsrDer, SignatureIntegersAreMinimalAndPositive) {
  std::string raw(64, '\0');
  raw[0] = '\x80';  // r: top bit set -> 0x00 in front, 33 bytes
  raw[31] = '\x01';
  raw[34] = '\x7f';  // s: two leading zero bytes dropped -> 30 bytes
  auto sig = der::ecdsaSignatureDer(raw);
  ASSERT_TRUE(sig.ok());
  const auto* p = reinterpret_cast<const unsigned char*>(sig->data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig->size()));
  ASSERT_NE(parsed, nullptr);
  unsigned char back[64];
  BN_bn2binpad(ECDSA_SIG_get0_r(parsed), back, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(parsed), back + 32, 32);
  ECDSA_SIG_free(parsed);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(back), 64), raw);
  EXPECT_EQ(static_cast<uint8_t>((*sig)[2]), 0x02);
  EXPECT_EQ(static_cast<uint8_t>((*sig)[3]), 33);
  EXPECT_EQ(static_cast<uint8_t>((*sig)[4]), 0x00);
  EXPECT_FALSE(der::ecdsaSignatureDer(raw.substr(1)).ok());
}

TEST(CsrDer, BadInputsAreRefused) {
  auto pair = keyPairOf(std::move(pki::generateEcKey()).value());
  EXPECT_FALSE(der::csrInfo("", pair.point).ok());
  EXPECT_FALSE(der::csrInfo(std::string(65, 'a'), pair.point).ok());
  EXPECT_FALSE(der::csrInfo("h", pair.point.substr(1)).ok());
  std::string compressed = pair.point;
  compressed[0] = '\x02';
  EXPECT_FALSE(der::p256Spki(compressed).ok());
  EXPECT_FALSE(der::p256Pkcs8(pair.scalar.substr(1), pair.point).ok());
}

TEST(CsrDer, Pkcs8IsTheKeyTheLinuxAgentReads) {
  auto key = std::move(pki::generateEcKey()).value();
  const EcKeyPair pair = keyPairOf(key);
  auto pkcs8 = der::p256Pkcs8(pair.scalar, pair.point);
  ASSERT_TRUE(pkcs8.ok());
  auto back = pki::keyFromPem(der::toPem(*pkcs8, "PRIVATE KEY"));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(EVP_PKEY_eq(back->get(), key.get()), 1);
  EXPECT_EQ(keyPairOf(*back).scalar, pair.scalar);
  // The point it carries, as OpenSSL's own PKCS#8 does.
  EXPECT_EQ(der::pkcs8P256Point(*pkcs8).value(), pair.point);
  auto openssl_pem = pki::keyToPem(key);
  auto openssl_der = der::fromPem(*openssl_pem, "PRIVATE KEY");
  ASSERT_TRUE(openssl_der.ok());
  EXPECT_EQ(der::pkcs8P256Point(*openssl_der).value(), pair.point);
  for (size_t len = 0; len < pkcs8->size(); len++) {
    EXPECT_FALSE(der::pkcs8P256Point(pkcs8->substr(0, len)).ok()) << len;
  }
  // Signs as the original: OpenSSL verifies a signature made with it.
  auto info = der::csrInfo("k", pair.point).value();
  pki::X509Req req = parseDer(der::csr(info, signRaw(*back, info)).value());
  EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
}

TEST(CsrDer, PemRoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 200; n++) {
    const std::string pem = der::toPem(bytes, "X");
    auto back = der::fromPem("junk before\n" + pem, "X");
    ASSERT_TRUE(back.ok()) << n;
    EXPECT_EQ(*back, bytes) << n;
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
  EXPECT_FALSE(der::fromPem("-----BEGIN X-----\nAA*A\n-----END X-----\n", "X").ok());
  EXPECT_FALSE(der::fromPem("-----BEGIN Y-----\nAAAA\n-----END Y-----\n", "X").ok());
}

TEST(CsrDer, CertSpkiHashesToTheConsolesPin) {
  test::OpenSslEnrollBackend console;
  unsigned char* out = nullptr;
  const int n = i2d_X509(console.ca().get(), &out);
  const std::string cert_der(reinterpret_cast<char*>(out), n);
  OPENSSL_free(out);
  auto spki = der::certSpki(cert_der);
  ASSERT_TRUE(spki.ok()) << spki.error().message();
  EXPECT_EQ(der::hex(test::sha256Of(*spki)), pki::caPin(console.ca().get()));
  // Every truncation and a corrupted length fail closed.
  for (size_t len = 0; len < cert_der.size(); len++) {
    EXPECT_FALSE(der::certSpki(cert_der.substr(0, len)).ok()) << len;
  }
  std::string bad = cert_der;
  bad[1] = '\x84';  // a 4-byte length far past the end
  EXPECT_FALSE(der::certSpki(bad).ok());
  EXPECT_FALSE(der::certSpki(std::string("\x30\x80", 2)).ok());  // indefinite length
}

}  // namespace
}  // namespace sg::win
