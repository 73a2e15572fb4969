// One suite for every Store implementation: each TEST_P runs against the
// backends the executable instantiates StoreTest with (store_test.h).
#include "console/store_test.h"

namespace sg::console {
namespace {

EndpointRecord endpoint(const char* name) {
  EndpointRecord e;
  e.name = name;
  e.labels = {{"org", "acme"}, {"dept", "payments"}};
  e.credential_hash = std::string("h-") + name;
  e.enrolled_at_ms = 1'700'000'000'000;
  e.allowed_peers = {"10.0.0.1"};
  e.applied_version = 7;
  e.last_report_seq = 41;
  return e;
}

TEST_P(StoreTest, EndpointsRoundTripAndReplace) {
  EXPECT_ERROR(store_->getEndpoint("web-1"), Errc::kNotFound);
  ASSERT_OK(store_->putEndpoint(endpoint("web-2")));
  ASSERT_OK(store_->putEndpoint(endpoint("web-1")));
  EXPECT_EQ(*store_->getEndpoint("web-1"), endpoint("web-1"));
  EndpointRecord revoked = endpoint("web-1");
  revoked.revoked = true;
  revoked.isolated = true;
  ASSERT_OK(store_->putEndpoint(revoked));
  auto all = store_->listEndpoints();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], revoked);  // by name
  EXPECT_EQ((*all)[1].name, "web-2");
}

TEST_P(StoreTest, EnrollmentTokensWorkOnceAndExpire) {
  ASSERT_OK(store_->putEnrollmentToken({"t1", {{"org", "acme"}}, 2000, false}));
  ASSERT_OK(store_->putEnrollmentToken({"t2", {}, 1000, false}));
  EXPECT_ERROR(store_->consumeEnrollmentToken("nope", 500), Errc::kNotFound);
  EXPECT_ERROR(store_->consumeEnrollmentToken("t2", 1000), Errc::kPermissionDenied);  // expired
  auto t = store_->consumeEnrollmentToken("t1", 1500);
  ASSERT_OK(t);
  EXPECT_EQ(t->labels.at("org"), "acme");
  EXPECT_TRUE(t->used);
  EXPECT_ERROR(store_->consumeEnrollmentToken("t1", 1500), Errc::kPermissionDenied);  // replayed
  reopen();
  EXPECT_ERROR(store_->consumeEnrollmentToken("t1", 1500), Errc::kPermissionDenied);
}

// Enrollment is one conditional write: the token is spent and the endpoint
// written only when the name is free or revoked, whatever the caller's
// memory says (another console may hold the name).
TEST_P(StoreTest, EnrollEndpointTakesOnlyAFreeOrRevokedName) {
  ASSERT_OK(store_->putEnrollmentToken({"t1", {{"org", "acme"}}, 5000, false}));
  ASSERT_OK(store_->putEnrollmentToken({"t2", {{"org", "globex"}}, 5000, false}));
  EndpointRecord first;
  first.name = "web-1";
  first.credential_hash = "h1";
  first.enrolled_at_ms = 100;
  auto e = store_->enrollEndpoint("t1", 1000, first);
  ASSERT_OK(e);
  EXPECT_EQ(e->labels.at("org"), "acme");  // the token's labels
  EXPECT_EQ(*store_->getEndpoint("web-1"), *e);

  EndpointRecord second = first;
  second.credential_hash = "h2";
  EXPECT_ERROR(store_->enrollEndpoint("t2", 1000, second), Errc::kAlreadyExists);
  EXPECT_EQ(store_->getEndpoint("web-1")->credential_hash, "h1");  // not taken over
  EXPECT_ERROR(store_->enrollEndpoint("t1", 1000, second), Errc::kPermissionDenied);  // spent
  EXPECT_ERROR(store_->enrollEndpoint("nope", 1000, second), Errc::kNotFound);

  // Revoked: the name is free again, and the refused token t2 still works.
  EXPECT_TRUE(*store_->revokeEndpoint("web-1"));
  auto again = store_->enrollEndpoint("t2", 1000, second);
  ASSERT_OK(again);
  EXPECT_EQ(store_->getEndpoint("web-1")->credential_hash, "h2");
  EXPECT_FALSE(store_->getEndpoint("web-1")->revoked);
  EXPECT_EQ(store_->getEndpoint("web-1")->labels.at("org"), "globex");
  EXPECT_ERROR(store_->consumeEnrollmentToken("t2", 1000), Errc::kPermissionDenied);
  EXPECT_FALSE(*store_->revokeEndpoint("web-9"));
}

// The tick's batch: one result per update, in order, each as
// updateEndpointLink would have done it (more than one PostgreSQL
// transaction's worth: 600).
TEST_P(StoreTest, LinkWritesInABatchMatchOneByOne) {
  for (int i = 0; i < 600; ++i) {
    ASSERT_OK(store_->putEndpoint(endpoint(("web-" + std::to_string(i)).c_str())));
  }
  std::vector<EndpointLinkUpdate> batch;
  for (int i = 0; i < 600; ++i) {
    const std::string name = "web-" + std::to_string(i);
    batch.push_back({name, "h-" + name, {uint64_t(i) + 1, 50, 1234}});
  }
  batch[7].credential_hash = "h-other";       // not its current credential
  batch.push_back({"web-x", "h-web-x", {}});  // unknown
  ASSERT_TRUE(*store_->revokeEndpoint("web-9"));
  auto matched = store_->updateEndpointLinks(batch);
  ASSERT_OK(matched);
  ASSERT_EQ(matched->size(), 601u);
  for (size_t i = 0; i < 601; ++i) {
    EXPECT_EQ((*matched)[i], i != 7 && i != 9 && i != 600) << i;
  }
  EXPECT_EQ(store_->getEndpoint("web-599")->applied_version, 600u);
  EXPECT_EQ(store_->getEndpoint("web-7")->applied_version, 7u);
  EXPECT_EQ(store_->getEndpoint("web-9")->applied_version, 7u);
  EXPECT_EQ(store_->getEndpoint("web-3")->last_report_seq, 50u);
  EXPECT_OK(store_->updateEndpointLinks({}));
}

// What a link writes back never undoes the operator's fields, and only
// lands for the endpoint's current, unrevoked credential.
TEST_P(StoreTest, LinkWritesNeverUndoARevokeOrAnIsolation) {
  ASSERT_OK(store_->putEndpoint(endpoint("web-1")));  // credential "h-web-1", seq 41
  EXPECT_TRUE(*store_->setEndpointIsolation("web-1", true, {"10.0.0.9"}));
  EXPECT_TRUE(*store_->updateEndpointLink("web-1", "h-web-1", {9, 50, 1234}));
  auto e = store_->getEndpoint("web-1");
  EXPECT_TRUE(e->isolated);
  EXPECT_EQ(e->allowed_peers, std::vector<std::string>{"10.0.0.9"});
  EXPECT_EQ(e->applied_version, 9u);
  EXPECT_EQ(e->last_report_seq, 50u);
  EXPECT_EQ(e->last_heartbeat_ms, 1234);
  // A late write from an older link: seq and heartbeat never go back.
  EXPECT_TRUE(*store_->updateEndpointLink("web-1", "h-web-1", {10, 40, 1000}));
  e = store_->getEndpoint("web-1");
  EXPECT_EQ(e->applied_version, 10u);
  EXPECT_EQ(e->last_report_seq, 50u);
  EXPECT_EQ(e->last_heartbeat_ms, 1234);
  EXPECT_FALSE(*store_->updateEndpointLink("web-1", "h-other", {11, 60, 2000}));
  EXPECT_FALSE(*store_->updateEndpointLink("web-9", "h-web-1", {11, 60, 2000}));
  EXPECT_TRUE(*store_->setEndpointIsolation("web-1", false, {}));
  EXPECT_FALSE(store_->getEndpoint("web-1")->isolated);

  EXPECT_TRUE(*store_->revokeEndpoint("web-1"));
  EXPECT_FALSE(*store_->updateEndpointLink("web-1", "h-web-1", {12, 70, 3000}));
  EXPECT_FALSE(*store_->setEndpointIsolation("web-1", true, {}));
  e = store_->getEndpoint("web-1");
  EXPECT_TRUE(e->revoked);
  EXPECT_FALSE(e->isolated);
  EXPECT_EQ(e->applied_version, 10u);
}

TEST_P(StoreTest, ApiTokensCarryARole) {
  ASSERT_OK(store_->putApiToken({"hash-a", "alice", Role::kOperator, 5, false}));
  auto t = store_->findApiToken("hash-a");
  ASSERT_OK(t);
  EXPECT_EQ(t->role, Role::kOperator);
  EXPECT_EQ(t->name, "alice");
  EXPECT_ERROR(store_->findApiToken("hash-b"), Errc::kNotFound);
}

TEST_P(StoreTest, FloodsListActiveOrAll) {
  ASSERT_OK(store_->putFlood({1, "192.0.2.7", true, 10, 20, R"({"severity":"HIGH"})"}));
  ASSERT_OK(store_->putFlood({2, "198.51.100.0/24", true, 11, 21, "{}"}));
  ASSERT_OK(store_->putFlood({1, "192.0.2.7", false, 10, 30, R"({"severity":"HIGH"})"}));
  EXPECT_EQ(store_->listFloods(false)->size(), 1u);
  auto all = store_->listFloods(true);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, 1u);
  EXPECT_FALSE((*all)[0].active);
  EXPECT_EQ(store_->getFlood(1)->last_seen_ms, 30);
  EXPECT_ERROR(store_->getFlood(3), Errc::kNotFound);
}

// The console's ingest writes the floods of the reports that arrived
// together in one call: all of them, one transaction (one version bump).
TEST_P(StoreTest, FloodsWrittenInABatchAreAllThereInOneTransaction) {
  ASSERT_OK(store_->putFlood({1, "192.0.2.7", true, 10, 20, "{}"}));
  const uint64_t before = *store_->resourceVersion();
  std::vector<FloodRecord> batch;
  for (uint64_t id = 1; id <= 300; ++id) {  // more than one PostgreSQL pipeline
    batch.push_back({id, "10.0." + std::to_string(id / 256) + "." + std::to_string(id % 256),
                     id % 2 == 0, 10, static_cast<int64_t>(100 + id), "{}"});
  }
  ASSERT_OK(store_->putFloods(batch));
  ASSERT_OK(store_->putFloods({}));
  auto all = store_->listFloods(true);
  ASSERT_EQ(all->size(), 300u);
  EXPECT_EQ(store_->listFloods(false)->size(), 150u);
  EXPECT_EQ(store_->getFlood(1)->last_seen_ms, 101);  // replaced
  EXPECT_EQ(store_->getFlood(300)->source, "10.0.1.44");
  EXPECT_LE(*store_->resourceVersion() - before, 2u);  // SQLite 1, PostgreSQL 256 a transaction
}

TEST_P(StoreTest, BlocksPoliciesIncidentsAudit) {
  ASSERT_OK(store_->putBlock({"192.0.2.7", std::nullopt, "alice", "flood 1", 3, 100}));
  ASSERT_OK(store_->putBlock({"10.0.0.0/8", 5000, "bob", "", 4, 101}));
  auto blocks = store_->listBlocks();
  ASSERT_EQ(blocks->size(), 2u);
  EXPECT_EQ((*blocks)[0].expires_at_ms, 5000);  // "10.0.0.0/8" sorts first
  EXPECT_FALSE((*blocks)[1].expires_at_ms.has_value());
  EXPECT_TRUE(*store_->deleteBlock("10.0.0.0/8"));
  EXPECT_FALSE(*store_->deleteBlock("10.0.0.0/8"));

  Policy p{"payments",
           {{"dept", "payments"}},
           {"payments", 50, 2000, 600000, EnforcerKind::kNftables},
           9};
  ASSERT_OK(store_->putPolicy(p));
  EXPECT_EQ(store_->listPolicies()->at(0), p);
  EXPECT_TRUE(*store_->deletePolicy("payments"));
  EXPECT_TRUE(store_->listPolicies()->empty());

  auto id = store_->putIncident({0, 1, "escalated", "alice", 100, "pending"});
  ASSERT_OK(id);
  EXPECT_GT(*id, 0u);
  ASSERT_OK(store_->putIncident({*id, 1, "escalated", "alice", 100, "delivered to 2 webhooks"}));
  auto incidents = store_->listIncidents();
  ASSERT_EQ(incidents->size(), 1u);
  EXPECT_EQ((*incidents)[0].webhook_status, "delivered to 2 webhooks");

  auto a1 = store_->appendAudit({0, 100, "alice", "block", "192.0.2.7", "flood 1"});
  auto a2 = store_->appendAudit({0, 101, "bob", "unblock", "10.0.0.0/8", ""});
  EXPECT_LT(*a1, *a2);
  auto audit = store_->listAudit(0, 10);
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].actor, "alice");
  EXPECT_EQ(store_->listAudit(*a1, 10)->size(), 1u);
  EXPECT_EQ(store_->listAudit(0, 1)->size(), 1u);
}

TEST_P(StoreTest, NewIncidentIdsFollowTheLargestGivenOne) {
  ASSERT_OK(store_->putIncident({10, 1, "imported", "alice", 100, ""}));
  auto next = store_->putIncident({0, 2, "new", "bob", 101, ""});
  ASSERT_OK(next);
  EXPECT_EQ(*next, 11u);
  EXPECT_EQ(store_->listIncidents()->size(), 2u);
}

TEST_P(StoreTest, ListsSortByBytesAndKeepTextAsGiven) {
  ASSERT_OK(store_->putEndpoint(endpoint("web-1")));
  ASSERT_OK(store_->putEndpoint(endpoint("Web-2")));  // 'W' < 'w' in bytes
  ASSERT_OK(store_->putEndpoint(endpoint("caf\xc3\xa9 'quoted' \"x\"; --")));
  auto all = store_->listEndpoints();
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "Web-2");
  EXPECT_EQ((*all)[1].name, "caf\xc3\xa9 'quoted' \"x\"; --");
  EXPECT_EQ((*all)[2].name, "web-1");
}

TEST_P(StoreTest, ResourceVersionRisesWithEveryWriteAndNeverGoesBack) {
  const uint64_t v0 = *store_->resourceVersion();
  ASSERT_OK(store_->putMeta("desired_version", "12"));
  const uint64_t v1 = *store_->resourceVersion();
  EXPECT_GT(v1, v0);
  (void)store_->consumeEnrollmentToken("nope", 0);  // a failed write changes nothing
  EXPECT_EQ(*store_->resourceVersion(), v1);
  reopen();
  EXPECT_EQ(*store_->resourceVersion(), v1);
  EXPECT_EQ(**store_->getMeta("desired_version"), "12");
  EXPECT_FALSE(store_->getMeta("other")->has_value());
}

TEST_P(StoreTest, CountersRiseByOneAndSurviveReopen) {
  EXPECT_EQ(*store_->nextCounter("desired_version"), 1u);
  EXPECT_EQ(*store_->nextCounter("desired_version"), 2u);
  EXPECT_EQ(*store_->nextCounter("flood_id"), 1u);
  reopen();
  EXPECT_EQ(*store_->nextCounter("desired_version"), 3u);
  ASSERT_OK(store_->putMeta("bad", "x"));
  EXPECT_FALSE(store_->nextCounter("bad").ok());  // not a number
}

TEST_P(StoreTest, ClaimMetaKeepsTheFirstClaimUntilCleared) {
  EXPECT_EQ(*store_->claimMeta("flood:192.0.2.7", "4"), "4");
  EXPECT_EQ(*store_->claimMeta("flood:192.0.2.7", "9"), "4");
  ASSERT_OK(store_->putMeta("flood:192.0.2.7", ""));
  EXPECT_EQ(*store_->claimMeta("flood:192.0.2.7", "9"), "9");
}

TEST_P(StoreTest, NothingIsLostAcrossReopen) {
  ASSERT_OK(store_->putEndpoint(endpoint("web-1")));
  ASSERT_OK(store_->putBlock({"192.0.2.7", std::nullopt, "alice", "", 3, 100}));
  ASSERT_OK(store_->putFlood({1, "192.0.2.7", true, 10, 20, "{}"}));
  ASSERT_OK(store_->putApiToken({"h", "alice", Role::kAdmin, 5, false}));
  ASSERT_OK(store_->appendAudit({0, 100, "alice", "block", "192.0.2.7", ""}));
  reopen();
  EXPECT_EQ(*store_->getEndpoint("web-1"), endpoint("web-1"));
  EXPECT_EQ(store_->listBlocks()->size(), 1u);
  EXPECT_EQ(store_->listFloods(false)->size(), 1u);
  EXPECT_EQ(store_->findApiToken("h")->role, Role::kAdmin);
  EXPECT_EQ(store_->listAudit(0, 10)->size(), 1u);
}

}  // namespace
}  // namespace sg::console
