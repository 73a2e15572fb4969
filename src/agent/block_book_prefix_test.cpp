// BlockBook's prefix blocks (Block Globally of a prefix) over FakeSensor.
#include <gtest/gtest.h>

#include "agent/block_book_fixture.h"

namespace sg::agent {
namespace {

Prefix prefix(const char* text) { return *parsePrefix(text); }

BlockBook makeBook(Fixture& f, Enforcer* enforcer = nullptr) {
  return BlockBook(f.sensor, enforcer, f.log, f.clock, f.config, [](uint32_t) { return ""; });
}

TEST(BlockBookPrefix, TimedPrefixBlockIsInTheKernelListedAndExpiresBySweep) {
  Fixture f;
  BlockBook book = makeBook(f);
  auto r = book.blockPrefix(prefix("198.51.100.0/24"), std::chrono::seconds(30));
  ASSERT_OK(r);
  EXPECT_EQ((*r)["src"], "198.51.100.0/24");
  EXPECT_EQ((*r)["prefix"], true);
  EXPECT_EQ((*r)["block_ms"], 30000);
  EXPECT_EQ((*r)["enforced_by"], "xdp");
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u);
  const sg_prefix_block& b = f.sensor.prefix_blocks[0].block;
  EXPECT_EQ(b.expires_ns, f.clock.nowNs() + 30'000'000'000ull);
  EXPECT_EQ(b.flags, SG_BLK_XDP_DROP | SG_BLK_MANUAL);
  EXPECT_TRUE(f.sensor.blocks.empty()) << "no per-source block for a prefix";
  EXPECT_EQ(book.knownPrefixBlocks(), 1u);
  EXPECT_EQ(book.nextExpiryNs(), b.expires_ns);
  f.clock.advance(29'000'000'000ull);
  book.sweep();
  EXPECT_EQ(book.nextSweepNs(), b.expires_ns + BlockBook::kExpirySlackNs)
      << "the sweep that removes it is due just after its expiry";
  EXPECT_EQ(f.sensor.prefix_blocks.size(), 1u);

  auto listed = book.blocksJson();
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0]["src"], "198.51.100.0/24");

  f.sensor.prefix_blocks[0].block.drops = 42;  // the kernel's count
  f.clock.advance(1'000'000'000ull);
  book.sweep();
  EXPECT_TRUE(f.sensor.prefix_blocks.empty()) << "the kernel only ignores it: the sweep removes it";
  EXPECT_EQ(book.knownPrefixBlocks(), 0u);
  EXPECT_EQ(book.counters().blocks_expired, 1u);
  const std::string text = f.logText();
  EXPECT_NE(text.find(R"("event":"block_expired")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("dropped":42)"), std::string::npos) << text;
}

TEST(BlockBookPrefix, AddressLengthPrefixesTakeThePerSourcePath) {
  Fixture f;  // counts IPv6 per /64
  BlockBook book = makeBook(f);
  ASSERT_OK(book.blockPrefix(prefix("192.0.2.7/32"), std::chrono::seconds(10)));
  ASSERT_OK(book.blockPrefix(prefix("2001:db8:1:2::/64"), std::chrono::seconds(10)));
  ASSERT_OK(book.blockPrefix(prefix("2001:db8:1:3:4::/80"), std::chrono::seconds(10)));
  EXPECT_TRUE(f.sensor.prefix_blocks.empty());
  ASSERT_EQ(f.sensor.blocks.size(), 3u);
  EXPECT_EQ(Address{f.sensor.blocks[2].key}.str(), "2001:db8:1:3::")
      << "longer than the counting prefix: the counted /64 is blocked, as for an address";
  ASSERT_OK(book.unblockPrefix(prefix("192.0.2.7/32")));
  EXPECT_EQ(f.sensor.blocks.size(), 2u);
}

TEST(BlockBookPrefix, Ipv6PrefixShorterThanTheCountingPrefixGoesToTheTrie) {
  Fixture f;
  BlockBook book = makeBook(f);
  ASSERT_OK(book.blockPrefix(prefix("2001:db8::/32"), std::chrono::seconds(10)));
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u);
  EXPECT_EQ(f.sensor.prefix_blocks[0].prefix.str(), "2001:db8::/32");
  ASSERT_OK(book.unblockPrefix(prefix("2001:db8::/32")));
  EXPECT_TRUE(f.sensor.prefix_blocks.empty());
  EXPECT_ERROR(book.unblockPrefix(prefix("2001:db8::/32")), Errc::kNotFound);
}

TEST(BlockBookPrefix, TheAllowlistWinsAndEverythingIsRefused) {
  Fixture f;
  f.config.allow.push_back(prefix("10.0.0.0/8"));
  f.config.allow.push_back(prefix("198.51.100.7/32"));
  BlockBook book = makeBook(f);
  auto covered = book.blockPrefix(prefix("10.1.0.0/16"), std::chrono::seconds(10));
  ASSERT_FALSE(covered.ok());
  EXPECT_EQ(covered.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(covered.error().message().find("allowlist (10.0.0.0/8)"), std::string::npos)
      << covered.error().message();
  auto partly = book.blockPrefix(prefix("198.51.100.0/24"), std::chrono::seconds(10));
  ASSERT_OK(partly);
  EXPECT_EQ((*partly)["allowlisted_inside"], nlohmann::json::array({"198.51.100.7/32"}))
      << "the kernel lets the allowlisted source through; the answer says so";
  EXPECT_ERROR(book.blockPrefix(prefix("0.0.0.0/0"), std::nullopt), Errc::kInvalidArgument);
  EXPECT_ERROR(book.blockPrefix(prefix("::/0"), std::nullopt), Errc::kInvalidArgument);
  EXPECT_ERROR(book.blockPrefix(prefix("192.0.2.0/24"), Nanos{0}), Errc::kInvalidArgument);
  f.config.enforcer = EnforcerKind::kNone;
  book.setConfig(f.config);
  EXPECT_ERROR(book.blockPrefix(prefix("192.0.2.0/24"), std::chrono::seconds(1)),
               Errc::kInvalidArgument);
}

TEST(BlockBookPrefix, TheLimitCountsPrefixBlocksAndRenewingIsIdempotent) {
  Fixture f;
  f.config.max_prefix_blocks = 2;
  BlockBook book = makeBook(f);
  ASSERT_OK(book.blockPrefix(prefix("10.0.0.0/8"), std::chrono::seconds(10)));
  ASSERT_OK(book.blockPrefix(prefix("172.16.0.0/12"), std::chrono::seconds(10)));
  EXPECT_ERROR(book.blockPrefix(prefix("192.168.0.0/16"), std::chrono::seconds(10)),
               Errc::kResourceExhausted);
  f.clock.advance(5'000'000'000ull);
  ASSERT_OK(book.blockPrefix(prefix("10.0.0.0/8"), std::chrono::seconds(10)));
  EXPECT_EQ(f.sensor.prefix_blocks.size(), 2u);
  EXPECT_EQ(f.sensor.prefix_blocks[0].block.expires_ns, f.clock.nowNs() + 10'000'000'000ull)
      << "blocking again renews the expiry";
}

TEST(BlockBookPrefix, PermanentPrefixBlockIsSavedApartAndRestoredAfterLostPins) {
  Fixture f;
  MemoryBlockStore store;
  {
    BlockBook book = makeBook(f);
    book.setStore(&store);
    auto r = book.blockPrefix(prefix("2001:db8::/32"), std::nullopt);
    ASSERT_OK(r);
    EXPECT_EQ((*r)["permanent"], true);
    EXPECT_EQ(store.saved.prefixes, std::vector<std::string>{"2001:db8::/32"});
    EXPECT_TRUE(store.saved.sources.empty());
    f.clock.advance(1'000'000'000'000ull);
    book.sweep();
    EXPECT_EQ(f.sensor.prefix_blocks.size(), 1u) << "permanent: never swept";
  }
  f.sensor.prefix_blocks.clear();  // a reboot: the pins are gone
  BlockBook again = makeBook(f);
  again.setStore(&store);
  again.restore();
  ASSERT_EQ(f.sensor.prefix_blocks.size(), 1u);
  EXPECT_EQ(f.sensor.prefix_blocks[0].prefix.str(), "2001:db8::/32");
  EXPECT_EQ(f.sensor.prefix_blocks[0].block.expires_ns, BlockBook::kPermanentNs);
  EXPECT_NE(f.logText().find(R"("from":"state file")"), std::string::npos);
  ASSERT_OK(again.unblockPrefix(prefix("2001:db8::/32")));
  EXPECT_TRUE(store.saved.empty());
}

TEST(BlockBookPrefix, NftablesTakesTimedPrefixBlocksAndXdpKeepsThemWhenItFails) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  BlockBook book = makeBook(f, &nft);
  auto r = book.blockPrefix(prefix("198.51.100.0/24"), std::chrono::seconds(30));
  ASSERT_OK(r);
  EXPECT_EQ((*r)["enforced_by"], "nftables");
  ASSERT_EQ(nft.calls.size(), 1u);
  EXPECT_EQ(nft.calls[0], "block 198.51.100.0/24 30000");
  EXPECT_TRUE(f.sensor.prefix_blocks[0].block.flags & SG_BLK_HANDED_OFF);
  ASSERT_OK(book.blockPrefix(prefix("2001:db8::/32"), std::nullopt));
  EXPECT_EQ(nft.calls.size(), 1u) << "XDP holds a permanent block: nftables elements time out";

  nft.fail = true;
  auto kept = book.blockPrefix(prefix("203.0.113.0/24"), std::chrono::seconds(30));
  ASSERT_OK(kept);
  EXPECT_EQ((*kept)["enforced_by"], "xdp");
  EXPECT_EQ(book.counters().enforcer_errors, 1u);
  ASSERT_OK(book.unblockPrefix(prefix("198.51.100.0/24")));
  EXPECT_EQ(nft.calls.back(), "unblock 198.51.100.0/24");
}

// An unblock whose kernel step succeeded but whose enforcer step failed
// leaves the book knowing a block the kernel no longer holds: the sweep
// forgets it, so it is neither listed nor scheduled.
TEST(BlockBookPrefix, TheSweepForgetsAPrefixBlockTheKernelNoLongerHolds) {
  Fixture f;
  BlockBook book = makeBook(f);
  ASSERT_OK(book.blockPrefix(prefix("198.51.100.0/24"), std::chrono::seconds(30)));
  f.sensor.prefix_blocks.clear();
  book.sweep();
  EXPECT_EQ(book.knownPrefixBlocks(), 0u);
  EXPECT_EQ(book.nextExpiryNs(), 0u);
}

// At start: a pinned prefix block handed to the dead agent's nftables table
// (the sensor took it back to XDP at load) goes to this agent's table again.
TEST(BlockBookPrefix, RestoreAdoptsPinnedPrefixBlocksAndHandsThemOffAgain) {
  Fixture f;
  f.config.enforcer = EnforcerKind::kNftables;
  FakeEnforcer nft;
  const uint64_t now = f.clock.nowNs();
  f.sensor.prefix_blocks.push_back(
      {prefix("198.51.100.0/24"), {now - 1, now + 20'000'000'000ull, 3, SG_BLK_XDP_DROP, {}}});
  f.sensor.prefix_blocks.push_back(
      {prefix("203.0.113.0/24"), {now - 9, now - 1, 0, SG_BLK_XDP_DROP, {}}});  // expired
  BlockBook book = makeBook(f, &nft);
  book.restore();
  EXPECT_EQ(book.knownPrefixBlocks(), 1u);
  ASSERT_EQ(nft.calls.size(), 1u);
  EXPECT_EQ(nft.calls[0], "block 198.51.100.0/24 20000");
  EXPECT_TRUE(f.sensor.prefix_blocks[0].block.flags & SG_BLK_HANDED_OFF);
  book.sweep();
  EXPECT_EQ(f.sensor.prefix_blocks.size(), 1u) << "the expired one is swept";
  EXPECT_NE(f.logText().find(R"("from":"pinned table")"), std::string::npos);
}

}  // namespace
}  // namespace sg::agent
