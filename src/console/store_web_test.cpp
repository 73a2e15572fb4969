// The Store suite's part for the dashboard (schema migration 2 and the audit
// search): run against every backend like store_test.cpp.
#include "console/store_test.h"

namespace sg::console {
namespace {

TEST_P(StoreTest, TheFirstAcknowledgementOfAFloodHolds) {
  EXPECT_ERROR(store_->getFloodAck(3), Errc::kNotFound);
  auto first = store_->acknowledgeFlood({3, "alice", 1000, "on it"});
  ASSERT_OK(first);
  EXPECT_EQ(*first, (FloodAckRecord{3, "alice", 1000, "on it"}));
  auto again = store_->acknowledgeFlood({3, "bob", 2000, ""});
  ASSERT_OK(again);
  EXPECT_EQ(*again, *first);  // unchanged
  ASSERT_OK(store_->acknowledgeFlood({9, "bob", 3000, ""}));
  ASSERT_OK(store_->acknowledgeFlood({1, "carol", 500, ""}));
  EXPECT_EQ(*store_->getFloodAck(3), *first);
  auto from3 = store_->listFloodAcks(3);
  ASSERT_OK(from3);
  ASSERT_EQ(from3->size(), 2u);
  EXPECT_EQ((*from3)[0].flood_id, 3u);
  EXPECT_EQ((*from3)[1].flood_id, 9u);
  reopen();
  EXPECT_EQ(store_->listFloodAcks(0)->size(), 3u);
}

TEST_P(StoreTest, AuditSearchPagesBothWaysAndMatchesAnyField) {
  for (int i = 1; i <= 7; ++i) {
    AuditRecord a;
    a.at_ms = i;
    a.actor = i % 2 == 0 ? "Alice" : "bob";
    a.action = i == 5 ? "block" : "isolate";
    a.target = i == 6 ? "WEB-1" : "db-2";
    a.details = i == 3 ? "ttl 10m; Payments outage" : "";
    ASSERT_OK(store_->appendAudit(a));
  }
  auto ids = [](const AuditPage& p) {
    std::vector<uint64_t> out;
    for (const auto& a : p.items) out.push_back(a.id);
    return out;
  };
  // Oldest first after an id.
  auto page = store_->searchAudit({"", 2, std::nullopt, 3});
  ASSERT_OK(page);
  EXPECT_EQ(ids(*page), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_TRUE(page->more);
  EXPECT_FALSE(store_->searchAudit({"", 4, std::nullopt, 3})->more);  // 5, 6, 7
  // Newest first before an id; 0: from the newest.
  page = store_->searchAudit({"", 0, uint64_t{0}, 3});
  EXPECT_EQ(ids(*page), (std::vector<uint64_t>{7, 6, 5}));
  EXPECT_TRUE(page->more);
  page = store_->searchAudit({"", 0, uint64_t{4}, 3});
  EXPECT_EQ(ids(*page), (std::vector<uint64_t>{3, 2, 1}));
  EXPECT_FALSE(page->more);
  // Case-insensitive substring of actor, action, target or details.
  EXPECT_EQ(ids(*store_->searchAudit({"alice", 0, uint64_t{0}, 10})),
            (std::vector<uint64_t>{6, 4, 2}));
  EXPECT_EQ(ids(*store_->searchAudit({"web-1", 0, std::nullopt, 10})), (std::vector<uint64_t>{6}));
  EXPECT_EQ(ids(*store_->searchAudit({"BLOCK", 0, std::nullopt, 10})), (std::vector<uint64_t>{5}));
  EXPECT_EQ(ids(*store_->searchAudit({"payments", 0, std::nullopt, 10})),
            (std::vector<uint64_t>{3}));
  EXPECT_EQ(ids(*store_->searchAudit({"%", 0, std::nullopt, 10})), (std::vector<uint64_t>{}));
  EXPECT_EQ(ids(*store_->searchAudit({"_", 0, std::nullopt, 10})), (std::vector<uint64_t>{}));
}

// Schema migration 3: port floods by target, replaced by id, listed active
// or newest-first-limited, and kept across a reopen.
TEST_P(StoreTest, PortFloodsRoundTripReplaceAndList) {
  EXPECT_ERROR(store_->getPortFlood("web-1/192.0.2.10:443/5"), Errc::kNotFound);
  PortFloodRecord a{"web-1/192.0.2.10:443/5", "web-1", true, 1000, 1500, R"({"rate":20000})"};
  PortFloodRecord b{"web-2/192.0.2.20:80/9", "web-2", true, 2000, 2100, R"({"rate":10})"};
  PortFloodRecord c{"web-1/192.0.2.10:22/1", "web-1", false, 500, 900, "{}"};
  const uint64_t before = *store_->resourceVersion();
  ASSERT_OK(store_->putPortFlood(a));
  ASSERT_OK(store_->putPortFlood(b));
  ASSERT_OK(store_->putPortFlood(c));
  EXPECT_GT(*store_->resourceVersion(), before);
  EXPECT_EQ(*store_->getPortFlood(a.id), a);
  auto active = store_->listPortFloods(false, 100);
  ASSERT_OK(active);
  EXPECT_EQ(*active, (std::vector<PortFloodRecord>{a, b}));
  auto all = store_->listPortFloods(true, 100);
  ASSERT_OK(all);
  EXPECT_EQ(*all, (std::vector<PortFloodRecord>{c, a, b}));  // by start
  auto newest = store_->listPortFloods(true, 2);
  ASSERT_OK(newest);
  EXPECT_EQ(*newest, (std::vector<PortFloodRecord>{a, b}));
  a.active = false;
  a.last_seen_ms = 3000;
  a.body = R"({"rate":0})";
  ASSERT_OK(store_->putPortFlood(a));
  reopen();
  EXPECT_EQ(*store_->getPortFlood(a.id), a);
  EXPECT_EQ(*store_->listPortFloods(false, 100), (std::vector<PortFloodRecord>{b}));
}

}  // namespace
}  // namespace sg::console
