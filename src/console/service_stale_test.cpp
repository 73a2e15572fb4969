// Two consoles on one database whose records of an endpoint disagree (one
// has not heard of the other's change yet: two consoles on one SQLite file
// here, which share no change feed, so the second console's memory stays
// stale). The store decides: a name is enrolled once, and what a link writes
// back never undoes a revoke or an isolation made elsewhere. Also: a bad CSR
// leaves its enrollment token usable.
#include <openssl/rsa.h>

#include "console/service_test_fixture.h"

namespace sg::console {
namespace {

using test::kSec;

class ServiceStaleTest : public test::ServiceFixture {
 protected:
  // A second console on the same database file.
  std::unique_ptr<ConsoleService> openOther() {
    auto store = SqliteStore::open(dbPath());
    EXPECT_OK(store);
    auto s = ConsoleService::open(
        std::move(*store), options_, clock_, [this] { return wallNow(); }, ca_pem_, ca_key_pem_);
    EXPECT_OK(s);
    return s ? std::move(*s) : nullptr;
  }
  EndpointRecord stored(const std::string& name) {
    auto reader = SqliteStore::open(dbPath());
    EXPECT_OK(reader);
    auto r = (*reader)->getEndpoint(name);
    EXPECT_OK(r);
    return r ? *r : EndpointRecord{};
  }
  static std::string csrPem(const pki::EvpPkey& key, const std::string& name) {
    return *pki::csrToPem(*pki::makeCsr(key, name));
  }
};

TEST_F(ServiceStaleTest, ANameIsEnrolledOnceWhateverAStaleConsoleRemembers) {
  auto other = openOther();  // knows no endpoint, and hears of none
  ASSERT_TRUE(other);
  auto first = enrollAgent("web-1");
  auto token = other->createEnrollmentToken(admin_, {}, std::nullopt);
  ASSERT_OK(token);
  auto key = pki::generateEcKey();
  EXPECT_ERROR(other->enroll(*token, csrPem(*key, "web-1"), "web-1"), Errc::kAlreadyExists);
  EXPECT_EQ(stored("web-1").credential_hash, first.cert_sha256);  // not taken over
  // The refused token was not spent: it enrolls another name.
  EXPECT_OK(other->enroll(*token, csrPem(*key, "web-2"), "web-2"));
}

TEST_F(ServiceStaleTest, ALinkWriteNeverUndoesARevokeMadeElsewhere) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  auto other = openOther();
  ASSERT_TRUE(other);
  ASSERT_OK(other->revokeEndpoint(admin_, "web-1"));
  // This console has not heard: the agent's heartbeat is written back at the tick.
  sendFrom(conn, proto::Heartbeat{});
  advance(kSec);
  svc_->tick();
  EXPECT_TRUE(stored("web-1").revoked);
  EXPECT_TRUE(conn->closed());  // the store said its credential is revoked
  auto eps = svc_->endpoints();
  ASSERT_OK(eps);
  ASSERT_EQ(eps->size(), 1u);
  EXPECT_TRUE((*eps)[0].revoked);  // this console caught up
}

TEST_F(ServiceStaleTest, AReportAfterARevokeElsewhereIsNotAckedAndClosesTheLink) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  auto other = openOther();
  ASSERT_TRUE(other);
  ASSERT_OK(other->revokeEndpoint(admin_, "web-1"));
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  for (const auto& m : conn->take()) EXPECT_FALSE(std::holds_alternative<proto::ReportAck>(m));
  EXPECT_TRUE(conn->closed());
  EXPECT_TRUE(stored("web-1").revoked);
}

TEST_F(ServiceStaleTest, ALinkWriteNeverUndoesAnIsolationMadeElsewhere) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  auto other = openOther();
  ASSERT_TRUE(other);
  ASSERT_OK(other->isolate(operator_, "web-1", "compromised"));
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  sendFrom(conn, proto::Heartbeat{});
  advance(kSec);
  svc_->tick();
  const EndpointRecord r = stored("web-1");
  EXPECT_TRUE(r.isolated);
  EXPECT_EQ(r.last_report_seq, 1u);  // the link's own columns were written
  EXPECT_FALSE(conn->closed());
}

TEST_F(ServiceStaleTest, AnIsolationOfAnEndpointRevokedElsewhereIsRefused) {
  enrollAgent("web-1");
  auto other = openOther();
  ASSERT_TRUE(other);
  ASSERT_OK(other->revokeEndpoint(admin_, "web-1"));
  EXPECT_ERROR(svc_->isolate(operator_, "web-1", ""), Errc::kNotFound);
  const EndpointRecord r = stored("web-1");
  EXPECT_TRUE(r.revoked);
  EXPECT_FALSE(r.isolated);
}

TEST_F(ServiceStaleTest, ABadCsrLeavesTheTokenUsable) {
  auto token = svc_->createEnrollmentToken(admin_, {}, std::nullopt);
  ASSERT_OK(token);
  // Signed by one key, carrying another's public half: the signature fails.
  auto key = pki::generateEcKey();
  auto stranger = pki::generateEcKey();
  auto csr = pki::makeCsr(*key, "web-1");
  ASSERT_EQ(X509_REQ_set_pubkey(csr->get(), stranger->get()), 1);
  EXPECT_ERROR(svc_->enroll(*token, *pki::csrToPem(*csr), "web-1"), Errc::kInvalidArgument);
  // An RSA key is not an agent's key (EC P-256).
  pki::EvpPkey rsa(EVP_RSA_gen(2048));
  ASSERT_TRUE(rsa);
  auto rsa_csr = pki::makeCsr(rsa, "web-1");
  ASSERT_OK(rsa_csr);
  EXPECT_ERROR(svc_->enroll(*token, *pki::csrToPem(*rsa_csr), "web-1"), Errc::kInvalidArgument);
  EXPECT_OK(svc_->enroll(*token, csrPem(*key, "web-1"), "web-1"));
}

// An agent that lost its state directory numbers its reports from 1 again,
// below what the console stored: such reports are counted and audited (once
// per link), as the agent moves past the welcome's seq (console_link_core).
TEST_F(ServiceStaleTest, ReportsNumberedBelowTheWelcomeAreCountedAndAuditedOnce) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    sendFrom(conn, proto::Report{seq, 0, {detection("192.0.2.7", (500 + seq) * kSec)}});
  }
  auto again = connect(ep);  // the restarted agent's link replaces the first
  auto out = again->take();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::get<proto::Welcome>(out[0]).last_report_seq, 3u);
  sendFrom(again, proto::Report{1, 0, {detection("192.0.2.8", 510 * kSec)}});
  sendFrom(again, proto::Report{2, 0, {detection("192.0.2.8", 511 * kSec)}});
  sendFrom(again, proto::Report{4, 0, {detection("192.0.2.8", 512 * kSec)}});  // a good one
  EXPECT_NE(svc_->metricsText().find("syn_guard_console_report_seq_regressions_total 2\n"),
            std::string::npos);
  auto log = svc_->audit(0, 100);
  ASSERT_OK(log);
  size_t noted = 0;
  for (const auto& a : *log) noted += a.action == "report_seq_regression" ? 1 : 0;
  EXPECT_EQ(noted, 1u);
}

}  // namespace
}  // namespace sg::console
