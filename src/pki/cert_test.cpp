#include "pki/cert.h"

#include <gtest/gtest.h>

#include "pki/csr.h"
#include "pki/key.h"
#include "test_helpers.h"

namespace sg::pki {
namespace {

using std::chrono::seconds;

struct TestCa {
  EvpPkey key;
  X509Cert cert;
};

TestCa makeCa(const std::string& name) {
  auto key = generateEcKey();
  EXPECT_OK(key);
  auto cert = selfSignCa(*key, name, seconds(3600));
  EXPECT_OK(cert);
  return TestCa{std::move(*key), std::move(*cert)};
}

TEST(CertTest, ServerCertChainsToTheCaAndNamesItsSans) {
  TestCa ca = makeCa("test CA");
  auto key = generateEcKey();
  ASSERT_OK(key);
  auto cert = issueCert(ca.cert, ca.key, key->get(),
                        CertSpec{"console",
                                 {"console.example", "127.0.0.1", "::1", "Console.Example"},
                                 seconds(600),
                                 CertUsage::kServer});
  ASSERT_OK(cert);
  EXPECT_OK(verifyIssuedBy(ca.cert, cert->get(), CertUsage::kServer));
  EXPECT_EQ(subjectAltNames(cert->get()),
            (std::vector<std::string>{"DNS:console.example", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_EQ(commonName(cert->get()), "console");
  EXPECT_GT(secondsToExpiry(cert->get()), 500);
  EXPECT_LE(secondsToExpiry(cert->get()), 600);
}

TEST(CertTest, ServerCertIsNotAClientCertAndTheOtherWayRound) {
  TestCa ca = makeCa("test CA");
  auto key = generateEcKey();
  ASSERT_OK(key);
  auto server = issueCert(ca.cert, ca.key, key->get(),
                          CertSpec{"console", {"localhost"}, seconds(600), CertUsage::kServer});
  auto client = issueCert(ca.cert, ca.key, key->get(),
                          CertSpec{"ep-1", {}, seconds(600), CertUsage::kClient});
  ASSERT_OK(server);
  ASSERT_OK(client);
  EXPECT_ERROR(verifyIssuedBy(ca.cert, server->get(), CertUsage::kClient), Errc::kPermissionDenied);
  EXPECT_ERROR(verifyIssuedBy(ca.cert, client->get(), CertUsage::kServer), Errc::kPermissionDenied);
}

TEST(CertTest, CertFromAnotherCaIsRejected) {
  TestCa ca = makeCa("test CA");
  TestCa other = makeCa("test CA");  // same name, other key
  auto key = generateEcKey();
  ASSERT_OK(key);
  auto cert = issueCert(other.cert, other.key, key->get(),
                        CertSpec{"ep-1", {}, seconds(600), CertUsage::kClient});
  ASSERT_OK(cert);
  EXPECT_ERROR(verifyIssuedBy(ca.cert, cert->get(), CertUsage::kClient), Errc::kPermissionDenied);
}

TEST(CertTest, CsrSignedWithTheConsolesEndpointIdNotTheRequestedName) {
  TestCa ca = makeCa("test CA");
  auto agent_key = generateEcKey();
  ASSERT_OK(agent_key);
  auto csr = makeCsr(*agent_key, "i-want-to-be-admin");
  ASSERT_OK(csr);
  auto pem = csrToPem(*csr);
  ASSERT_OK(pem);
  auto parsed = csrFromPem(*pem);
  ASSERT_OK(parsed);
  auto cert = signCsr(ca.cert, ca.key, *parsed, "ep-42", seconds(600));
  ASSERT_OK(cert);
  EXPECT_EQ(commonName(cert->get()), "ep-42");
  EXPECT_OK(verifyIssuedBy(ca.cert, cert->get(), CertUsage::kClient));
  EXPECT_EQ(X509_check_private_key(cert->get(), agent_key->get()), 1);
}

TEST(CertTest, TamperedOrOversizedCsrIsRefused) {
  EXPECT_ERROR(csrFromPem("not a csr"), Errc::kInvalidArgument);
  EXPECT_ERROR(csrFromPem(std::string(20000, 'A')), Errc::kInvalidArgument);
  TestCa ca = makeCa("test CA");
  auto k1 = generateEcKey();
  auto k2 = generateEcKey();
  ASSERT_OK(k1);
  ASSERT_OK(k2);
  auto csr = makeCsr(*k1, "x");
  ASSERT_OK(csr);
  // Swap in another public key: the self-signature no longer verifies.
  ASSERT_EQ(X509_REQ_set_pubkey(csr->get(), k2->get()), 1);
  EXPECT_ERROR(signCsr(ca.cert, ca.key, *csr, "ep-1"), Errc::kInvalidArgument);
}

TEST(CertTest, PemRoundTripsAndBadSansAreClearErrors) {
  TestCa ca = makeCa("test CA");
  auto pem = certToPem(ca.cert.get());
  ASSERT_OK(pem);
  auto back = certFromPem(*pem);
  ASSERT_OK(back);
  EXPECT_EQ(X509_cmp(back->get(), ca.cert.get()), 0);
  auto key = generateEcKey();
  ASSERT_OK(key);
  auto bad = issueCert(ca.cert, ca.key, key->get(),
                       CertSpec{"c", {"bad name,DNS:evil"}, seconds(60), CertUsage::kServer});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("neither an IP address nor a DNS name"), std::string::npos);
  EXPECT_ERROR(
      issueCert(ca.cert, ca.key, key->get(), CertSpec{"c", {}, seconds(60), CertUsage::kServer}),
      Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg::pki
