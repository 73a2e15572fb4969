// ConsoleService: actions (roles, audit, idempotence), enrollment, API
// authentication, and restore after a reopen of the same store.
#include "console/failing_store.h"
#include "console/service_test_fixture.h"
#include "console/service_tokens.h"
#include "pki/token.h"

namespace sg::console {
namespace {

using test::kSec;

class ServiceTest : public test::ServiceFixture {};

Prefix pfx(const char* text) { return *parsePrefix(text); }

TEST_F(ServiceTest, ViewersReadOperatorsActAdminsManagePoliciesAndTokens) {
  EXPECT_ERROR(svc_->block(viewer_, pfx("192.0.2.7"), std::nullopt, ""), Errc::kPermissionDenied);
  EXPECT_ERROR(svc_->escalate(viewer_, 1, ""), Errc::kPermissionDenied);
  Policy p;
  p.name = "payments";
  p.selector = {{"dept", "payments"}};
  EXPECT_ERROR(svc_->setPolicy(operator_, p), Errc::kPermissionDenied);
  EXPECT_ERROR(svc_->createApiToken(operator_, "bob", Role::kViewer), Errc::kPermissionDenied);
  EXPECT_ERROR(svc_->createEnrollmentToken(operator_, {}, std::nullopt), Errc::kPermissionDenied);
  EXPECT_ERROR(svc_->revokeEndpoint(operator_, "x"), Errc::kPermissionDenied);
  EXPECT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::nullopt, "scan"));
  EXPECT_OK(svc_->setPolicy(admin_, p));
  EXPECT_EQ(svc_->blocks()->size(), 1u);
  // Nothing refused reached the log.
  auto log = svc_->audit(0, 100);
  ASSERT_OK(log);
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].actor, "olga");
  EXPECT_EQ((*log)[0].action, "block");
  EXPECT_EQ((*log)[0].target, "192.0.2.7");
  EXPECT_EQ((*log)[0].details, "permanent; scan");
  EXPECT_EQ((*log)[1].action, "policy_set");
}

TEST_F(ServiceTest, ActionsAreIdempotentAndEachCallIsAudited) {
  auto ep = enrollAgent("web-1");
  auto v1 = svc_->block(operator_, pfx("198.51.100.0/24"), std::nullopt, "");
  auto v2 = svc_->block(operator_, pfx("198.51.100.0/24"), std::nullopt, "");
  ASSERT_OK(v1);
  EXPECT_EQ(*v1, *v2);
  auto i1 = svc_->isolate(operator_, "web-1", "compromised");
  auto i2 = svc_->isolate(operator_, "web-1", "compromised");
  EXPECT_EQ(*i1, *i2);
  auto u1 = svc_->unblock(operator_, pfx("198.51.100.0/24"));
  auto u2 = svc_->unblock(operator_, pfx("198.51.100.0/24"));
  EXPECT_EQ(*u1, *u2);
  EXPECT_TRUE(svc_->blocks()->empty());
  EXPECT_ERROR(svc_->isolate(operator_, "nobody", ""), Errc::kNotFound);
  auto log = svc_->audit(0, 100);
  // enroll, token create, then 6 actions
  size_t actions = 0;
  for (const auto& a : *log) actions += a.actor == "olga" ? 1 : 0;
  EXPECT_EQ(actions, 6u);
}

TEST_F(ServiceTest, EscalateOpensOneIncidentPerFlood) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  auto floods = svc_->floods(false);
  ASSERT_EQ(floods->size(), 1u);
  const uint64_t id = (*floods)[0].flood.id;
  auto a = svc_->escalate(operator_, id, "page on-call");
  auto b = svc_->escalate(operator_, id, "again");
  ASSERT_OK(a);
  EXPECT_EQ(*a, *b);
  auto incidents = svc_->incidents();
  ASSERT_EQ(incidents->size(), 1u);
  EXPECT_EQ((*incidents)[0].flood_id, id);
  EXPECT_EQ((*incidents)[0].created_by, "olga");
  EXPECT_EQ((*incidents)[0].note, "page on-call");
  EXPECT_ERROR(svc_->escalate(operator_, 999, ""), Errc::kNotFound);
}

TEST_F(ServiceTest, EnrollmentTokenWorksOnceAndExpires) {
  auto token = svc_->createEnrollmentToken(admin_, {{"org", "acme"}}, std::chrono::hours(1));
  ASSERT_OK(token);
  auto key = pki::generateEcKey();
  const std::string csr = *pki::csrToPem(*pki::makeCsr(*key, "ignored"));
  // A bad CSR or name does not spend the token.
  EXPECT_ERROR(svc_->enroll(*token, "not a csr", "web-1"), Errc::kInvalidArgument);
  EXPECT_ERROR(svc_->enroll(*token, csr, "bad name!"), Errc::kInvalidArgument);
  EXPECT_ERROR(svc_->enroll(*token, csr, std::string(65, 'a')), Errc::kInvalidArgument);
  auto enrolled = svc_->enroll(*token, csr, "web-1");
  ASSERT_OK(enrolled);
  EXPECT_EQ(enrolled->endpoint, "web-1");
  EXPECT_EQ(enrolled->ca_pem, ca_pem_);
  auto cert = pki::certFromPem(enrolled->cert_pem);
  EXPECT_EQ(pki::commonName(cert->get()), "web-1");  // the console's name, not the CSR's
  EXPECT_OK(pki::verifyIssuedBy(*pki::certFromPem(ca_pem_), cert->get(), pki::CertUsage::kClient));
  auto eps = svc_->endpoints();
  ASSERT_EQ(eps->size(), 1u);
  EXPECT_EQ((*eps)[0].labels.at("org"), "acme");
  // Once only.
  EXPECT_ERROR(svc_->enroll(*token, csr, "web-2"), Errc::kPermissionDenied);
  // Expires.
  auto late = svc_->createEnrollmentToken(admin_, {}, std::chrono::hours(1));
  advance(2 * 3600 * kSec);
  EXPECT_ERROR(svc_->enroll(*late, csr, "web-3"), Errc::kPermissionDenied);
  // Unknown, malformed, or an API token.
  auto other = pki::newEnrollmentToken(std::string(64, 'a'));
  EXPECT_ERROR(svc_->enroll(other->toString(), csr, "web-4"), Errc::kUnauthenticated);
  EXPECT_ERROR(svc_->enroll("sgE_short", csr, "web-4"), Errc::kUnauthenticated);
  EXPECT_ERROR(svc_->enroll(pki::newApiToken()->toString(), csr, "web-4"), Errc::kUnauthenticated);
}

TEST_F(ServiceTest, ANameEnrolledIsTakenUntilRevoked) {
  auto first = enrollAgent("web-1");
  auto token = svc_->createEnrollmentToken(admin_, {}, std::nullopt);
  auto key = pki::generateEcKey();
  const std::string csr = *pki::csrToPem(*pki::makeCsr(*key, "web-1"));
  EXPECT_ERROR(svc_->enroll(*token, csr, "web-1"), Errc::kAlreadyExists);
  ASSERT_OK(svc_->revokeEndpoint(admin_, "web-1"));
  auto again = svc_->enroll(*token, csr, "web-1");  // the token was not spent above
  ASSERT_OK(again);
  // The old certificate no longer opens a link; the new one does.
  net::HttpRequest req;
  req.peer = net::PeerInfo{"127.0.0.1", "web-1", first.cert_sha256};
  auto refused = svc_->authorizeAgent(req);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 403);
  req.peer.cert_sha256 = test::sha256Of(again->cert_pem);
  EXPECT_FALSE(svc_->authorizeAgent(req).has_value());
}

TEST_F(ServiceTest, ApiTokensAuthenticateByHash) {
  auto admin_token = svc_->createApiToken(admin_, "ci-bot", Role::kOperator);
  ASSERT_OK(admin_token);
  auto who = svc_->authenticate("Bearer " + *admin_token);
  ASSERT_OK(who);
  EXPECT_EQ(who->name, "ci-bot");
  EXPECT_EQ(who->role, Role::kOperator);
  EXPECT_ERROR(svc_->authenticate(""), Errc::kUnauthenticated);
  EXPECT_ERROR(svc_->authenticate(*admin_token), Errc::kUnauthenticated);  // no "Bearer "
  EXPECT_ERROR(svc_->authenticate("Bearer sgA_nope"), Errc::kUnauthenticated);
  EXPECT_ERROR(svc_->authenticate("Bearer " + pki::newApiToken()->toString()),
               Errc::kUnauthenticated);
  auto enroll = svc_->createEnrollmentToken(admin_, {}, std::nullopt);
  EXPECT_ERROR(svc_->authenticate("Bearer " + *enroll), Errc::kUnauthenticated);
  EXPECT_ERROR(svc_->createApiToken(admin_, "", Role::kViewer), Errc::kInvalidArgument);
}

TEST_F(ServiceTest, ReopenRestoresFloodsBlocksPoliciesIsolationAndSeqs) {
  auto web1 = enrollAgent("web-1", {{"dept", "payments"}});
  auto web2 = enrollAgent("web-2");
  auto conn = connect(web1);
  sendFrom(conn, proto::Report{1, 0, {detection("192.0.2.7", 500 * kSec)}});
  sendFrom(conn, proto::Report{2, 0, {detection("192.0.2.8", 501 * kSec)}});
  ASSERT_OK(svc_->block(operator_, pfx("203.0.113.0/24"), std::nullopt, "botnet"));
  ASSERT_OK(svc_->block(operator_, pfx("203.0.113.9"), std::chrono::minutes(10), "short"));
  Policy p;
  p.name = "payments";
  p.selector = {{"dept", "payments"}};
  p.profile.threshold = 50;
  ASSERT_OK(svc_->setPolicy(admin_, p));
  ASSERT_OK(svc_->isolate(operator_, "web-2", ""));
  advance(61 * kSec);
  svc_->tick();  // both floods end (history); the silent link is closed
  EXPECT_TRUE(conn->closed());
  conn = connect(web1, 0, 2);
  sendFrom(conn, proto::Report{3, 0, {detection("192.0.2.9", 600 * kSec)}});  // one active
  auto floods_before = svc_->floods(true);
  auto blocks_before = svc_->blocks();
  auto eps_before = svc_->endpoints();
  const uint64_t version = (*eps_before)[0].policy_version;
  conn.reset();

  open();  // a console restart on the same database

  auto floods = svc_->floods(true);
  ASSERT_EQ(floods_before->size(), 3u);
  ASSERT_EQ(floods->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const FloodView& a = (*floods_before)[i];
    const FloodView& b = (*floods)[i];
    EXPECT_EQ(a.flood.id, b.flood.id);
    EXPECT_EQ(a.flood.source, b.flood.source);
    EXPECT_EQ(a.flood.active, b.flood.active);
    EXPECT_EQ(a.flood.endpoints.size(), b.flood.endpoints.size());
    EXPECT_EQ(a.started_at_ms, b.started_at_ms);
    EXPECT_EQ(a.ended_at_ms, b.ended_at_ms);
  }
  EXPECT_EQ(svc_->floods(false)->size(), 1u);
  auto blocks = svc_->blocks();
  ASSERT_EQ(blocks->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*blocks)[i].block.source, (*blocks_before)[i].block.source);
    EXPECT_EQ((*blocks)[i].expires_at_ms, (*blocks_before)[i].expires_at_ms);
    EXPECT_EQ((*blocks)[i].block.reason, (*blocks_before)[i].block.reason);
  }
  auto policies = svc_->policies();
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].profile.threshold, 50u);
  auto eps = svc_->endpoints();
  ASSERT_EQ(eps->size(), 2u);
  EXPECT_EQ((*eps)[0].policy, "payments");
  EXPECT_FALSE((*eps)[0].isolated);
  EXPECT_TRUE((*eps)[1].isolated);
  // The agent resumes: the console says which reports it has, and the
  // desired state is at the version it was.
  auto again = connect(web1, version, 0);
  auto out = again->take();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(std::get<proto::Welcome>(out[0]).last_report_seq, 3u);
  // After a restart every endpoint's desired version is the restored one: an
  // agent behind it resyncs from a snapshot of the same state.
  ASSERT_EQ(out.size(), 2u);
  const proto::Snapshot snap = std::get<proto::Snapshot>(out[1]);
  EXPECT_GE(snap.version, version);
  EXPECT_EQ(snap.blocks.size(), 2u);
  EXPECT_EQ(snap.policy.name, "payments");
  EXPECT_EQ(snap.policy.threshold, 50u);
  EXPECT_FALSE(snap.isolation.on);
  auto up_to_date = connect(web1, snap.version, 3);
  EXPECT_EQ(up_to_date->take().size(), 1u);  // welcome only
  // New floods do not reuse ids.
  sendFrom(up_to_date, proto::Report{4, 0, {detection("192.0.2.10", 700 * kSec)}});
  auto after = svc_->floods(false);
  EXPECT_GT(after->back().flood.id, floods->back().flood.id);
}

TEST_F(ServiceTest, ExpiredBlocksLeaveTheStoreAndTheAgents) {
  auto ep = enrollAgent("web-1");
  auto conn = connect(ep);
  conn->take();
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::chrono::seconds(30), ""));
  auto delta = conn->take();
  ASSERT_EQ(delta.size(), 1u);
  const proto::Delta add = std::get<proto::Delta>(delta[0]);
  EXPECT_EQ(add.ops[0].kind, proto::OpKind::kBlockAdd);
  EXPECT_EQ(add.ops[0].block.expires_in_ms, 30000u);
  sendFrom(conn, proto::Ack{add.version});
  advance(31 * kSec);
  svc_->tick();
  auto out = conn->take();
  ASSERT_FALSE(out.empty());
  const proto::Delta remove = std::get<proto::Delta>(out.back());
  EXPECT_EQ(remove.ops[0].kind, proto::OpKind::kBlockRemove);
  EXPECT_TRUE(svc_->blocks()->empty());
  open();
  EXPECT_TRUE(svc_->blocks()->empty());
}

TEST_F(ServiceTest, AnExpiredBlockFoundAtRestartIsRemovedByTheFirstTick) {
  ASSERT_OK(svc_->block(operator_, pfx("192.0.2.7"), std::chrono::seconds(30), ""));
  svc_.reset();
  advance(60 * kSec);  // the console was down when it expired
  open();
  ASSERT_EQ(svc_->blocks()->size(), 1u);
  svc_->tick();
  EXPECT_TRUE(svc_->blocks()->empty());
  open();
  EXPECT_TRUE(svc_->blocks()->empty());
}

// A console killed between the writes of one action (here: the second write
// fails) must come back with the agents' view consistent with its own: a
// block it restores reaches an agent that reconnects at the version it had.
TEST_F(ServiceTest, AnActionCutBetweenItsWritesLeavesNoBlockAgentsMiss) {
  for (const char* write : {"putMeta", "putBlock"}) {
    SCOPED_TRACE(write);
    test::FailingStore* failing = nullptr;
    wrap_ = [&](std::unique_ptr<Store> inner) {
      auto f = std::make_unique<test::FailingStore>(std::move(inner));
      failing = f.get();
      return std::unique_ptr<Store>(std::move(f));
    };
    open();
    const std::string name = std::string("ep-") + write;
    auto ep = enrollAgent(name);
    auto conn = connect(ep);
    const uint64_t applied = std::get<proto::Snapshot>(conn->take().back()).version;
    sendFrom(conn, proto::Ack{applied});
    failing->failing = {write};
    EXPECT_ERROR(svc_->block(operator_, pfx("192.0.2.77"), std::nullopt, ""), Errc::kIo);
    conn.reset();
    wrap_ = nullptr;
    open();  // the restart
    auto again = connect(ep, applied);
    auto out = again->take();
    const bool restored = !svc_->blocks()->empty();
    if (restored) {
      ASSERT_EQ(out.size(), 2u) << "the console restored the block but did not send it";
      EXPECT_EQ(std::get<proto::Snapshot>(out[1]).blocks.size(), 1u);
      ASSERT_OK(svc_->unblock(operator_, pfx("192.0.2.77")));
    }
  }
}

}  // namespace
}  // namespace sg::console
