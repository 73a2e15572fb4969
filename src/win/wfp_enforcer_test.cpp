// WfpEngine and WfpEnforcer against FakeWfpApi: every field of every filter
// (runs under Wine: Windows types, no filtering engine).
#include "win/wfp_enforcer.h"

#include <gtest/gtest.h>

#include "test_helpers.h"
#include "win/fake_wfp_api.h"

namespace sg::win {
namespace {

using test::FakeWfpApi;
using test::RecordedFilter;
using test::sameGuid;

Prefix prefix(const char* text) { return *parsePrefix(text); }

struct Fixture {
  FakeWfpApi api;
  FakeClock clock;
  WfpEnforcer enforcer{WfpEngine::open(&api).value(), &clock};
};

std::vector<RecordedFilter> filtersOf(const FakeWfpApi& api) {
  std::vector<RecordedFilter> out;
  for (const auto& [id, f] : api.filters) out.push_back(f);
  return out;
}

TEST(WfpEngine, OpensADynamicSessionWithItsProviderAndSublayer) {
  FakeWfpApi api;
  {
    auto engine = WfpEngine::open(&api);
    ASSERT_OK(engine);
    EXPECT_EQ(api.session_flags, compat::kSessionFlagDynamic);
    EXPECT_EQ(api.session_name, L"syn-guard");
    ASSERT_EQ(api.providers.size(), 1u);
    EXPECT_TRUE(sameGuid(api.providers[0], kProviderKey));
    EXPECT_EQ(api.provider_flags, 0u);  // not persistent
    ASSERT_EQ(api.sublayers.size(), 1u);
    EXPECT_TRUE(sameGuid(api.sublayers[0], kSublayerKey));
    EXPECT_EQ(api.sublayer_weight, kSublayerWeight);
    EXPECT_EQ(api.commits, 1);
    EXPECT_FALSE(api.in_txn);
    ASSERT_OK(engine->addFilter(planBlock(prefix("192.0.2.7"))[0]));
    EXPECT_EQ(api.filters.size(), 1u);
  }
  // The handle closed: the dynamic session's filters are gone with it.
  EXPECT_FALSE(api.open);
  EXPECT_TRUE(api.filters.empty());
}

TEST(WfpEngine, AnIpv4HostBlockIsFwpUint32AtAcceptAndInboundTransport) {
  Fixture fx;
  ASSERT_OK(fx.enforcer.block(BlockSpec{*parseAddress("192.0.2.7"), 64, Nanos(60'000'000'000)}));
  auto filters = filtersOf(fx.api);
  ASSERT_EQ(filters.size(), 2u);
  EXPECT_TRUE(sameGuid(filters[0].layer, compat::kLayerAleAuthRecvAcceptV4));
  EXPECT_TRUE(sameGuid(filters[1].layer, compat::kLayerInboundTransportV4));
  for (const RecordedFilter& f : filters) {
    EXPECT_EQ(f.name, L"syn-guard block 192.0.2.7/32");
    EXPECT_EQ(f.flags, 0u);
    EXPECT_TRUE(sameGuid(f.provider, kProviderKey));
    EXPECT_TRUE(sameGuid(f.sublayer, kSublayerKey));
    EXPECT_EQ(f.weight_type, FWP_UINT8);
    EXPECT_EQ(f.weight, kWeightBlock);
    EXPECT_EQ(f.action, static_cast<FWP_ACTION_TYPE>(FWP_ACTION_BLOCK));
    ASSERT_EQ(f.conditions.size(), 1u);
    EXPECT_TRUE(sameGuid(f.conditions[0].field, compat::kConditionIpRemoteAddress));
    EXPECT_EQ(f.conditions[0].match, FWP_MATCH_EQUAL);
    EXPECT_EQ(f.conditions[0].type, FWP_UINT32);
    EXPECT_EQ(f.conditions[0].u32, 0xc0000207u);  // host byte order
  }
}

TEST(WfpEngine, PrefixesAreAddressAndMaskOrPrefixLength) {
  Fixture fx;
  ASSERT_OK(fx.enforcer.blockPrefix(prefix("198.51.100.0/24"), Nanos(1'000'000'000)));
  ASSERT_OK(
      fx.enforcer.block(BlockSpec{*parseAddress("2001:db8:1:2::"), 64, Nanos(1'000'000'000)}));
  ASSERT_OK(fx.enforcer.blockPrefix(prefix("2001:db8::1"), Nanos(1'000'000'000)));
  auto filters = filtersOf(fx.api);
  ASSERT_EQ(filters.size(), 6u);
  EXPECT_EQ(filters[0].conditions[0].type, FWP_V4_ADDR_MASK);
  EXPECT_EQ(filters[0].conditions[0].v4.addr, 0xc6336400u);
  EXPECT_EQ(filters[0].conditions[0].v4.mask, 0xffffff00u);
  EXPECT_TRUE(sameGuid(filters[2].layer, compat::kLayerAleAuthRecvAcceptV6));
  EXPECT_TRUE(sameGuid(filters[3].layer, compat::kLayerInboundTransportV6));
  EXPECT_EQ(filters[2].conditions[0].type, FWP_V6_ADDR_MASK);
  EXPECT_EQ(filters[2].conditions[0].v6.prefixLength, 64);
  EXPECT_EQ(filters[2].conditions[0].v6.addr[7], 0x02);
  EXPECT_EQ(filters[4].conditions[0].type, FWP_BYTE_ARRAY16_TYPE);
  EXPECT_EQ(filters[4].conditions[0].bytes16[15], 0x01);
}

TEST(WfpEngine, AFilterOfTheWrongFamilyIsRefusedBeforeWfpSeesIt) {
  FakeWfpApi api;
  auto engine = WfpEngine::open(&api);
  ASSERT_OK(engine);
  FilterSpec f = planBlock(prefix("192.0.2.7"))[0];
  f.layer = WfpLayer::kAleRecvAcceptV6;
  EXPECT_ERROR(engine->addFilter(f), Errc::kInvalidArgument);
  EXPECT_TRUE(api.filters.empty());
}

TEST(WfpEngine, TheFakeRefusesWhatTheEngineRefuses) {
  // The fake is only worth its checks: a seed-style FWP_V4_ADDR_MASK on an
  // IPv6 layer is FWP_E_TYPE_MISMATCH (0x80320027).
  FakeWfpApi api;
  auto engine = WfpEngine::open(&api);
  ASSERT_OK(engine);
  GUID provider = kProviderKey;
  FWP_V4_ADDR_AND_MASK mask{0xc0000200, 0xffffff00};
  FWPM_FILTER_CONDITION0 cond{};
  cond.fieldKey = compat::kConditionIpRemoteAddress;
  cond.matchType = FWP_MATCH_EQUAL;
  cond.conditionValue.type = FWP_V4_ADDR_MASK;
  cond.conditionValue.v4AddrMask = &mask;
  wchar_t name[] = L"x";
  FWPM_FILTER0 f{};
  f.displayData.name = name;
  f.providerKey = &provider;
  f.layerKey = compat::kLayerInboundTransportV6;
  f.subLayerKey = kSublayerKey;
  f.weight.type = FWP_UINT8;
  f.weight.uint8 = 1;
  f.action.type = FWP_ACTION_BLOCK;
  f.numFilterConditions = 1;
  f.filterCondition = &cond;
  UINT64 id = 0;
  EXPECT_EQ(api.filterAdd(reinterpret_cast<HANDLE>(0x5eed), &f, &id),
            static_cast<DWORD>(FWP_E_TYPE_MISMATCH));
  EXPECT_EQ(wfpErrorText("FwpmFilterAdd0", static_cast<DWORD>(FWP_E_TYPE_MISMATCH)),
            "FwpmFilterAdd0: 0x80320027 (FWP_E_TYPE_MISMATCH)");
  f.layerKey = compat::kLayerInboundTransportV4;
  f.weight.uint8 = 16;
  EXPECT_EQ(api.filterAdd(reinterpret_cast<HANDLE>(0x5eed), &f, &id),
            static_cast<DWORD>(FWP_E_INVALID_WEIGHT));
  f.weight.uint8 = 1;
  mask.mask = 0xff00ff00;
  EXPECT_EQ(api.filterAdd(reinterpret_cast<HANDLE>(0x5eed), &f, &id),
            static_cast<DWORD>(FWP_E_INVALID_NET_MASK));
}

TEST(WfpEnforcer, ARefreshMovesTheExpiryAndKeepsTheFilters) {
  Fixture fx;
  const BlockSpec spec{*parseAddress("192.0.2.7"), 64, Nanos(10'000'000'000)};
  ASSERT_OK(fx.enforcer.block(spec));
  auto ids = fx.enforcer.filterIds(prefix("192.0.2.7"));
  ASSERT_EQ(ids.size(), 2u);
  fx.clock.advance(8'000'000'000);
  ASSERT_OK(fx.enforcer.block(spec));
  EXPECT_EQ(fx.enforcer.filterIds(prefix("192.0.2.7")), ids);
  EXPECT_EQ(fx.api.filters.size(), 2u);
  fx.clock.advance(8'000'000'000);  // 16 s: past the first expiry, not the refreshed one
  auto gone = fx.enforcer.sweepExpired();
  ASSERT_OK(gone);
  EXPECT_TRUE(gone->empty());
  fx.clock.advance(2'000'000'000);
  gone = fx.enforcer.sweepExpired();
  ASSERT_OK(gone);
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].str(), "192.0.2.7/32");
  EXPECT_TRUE(fx.api.filters.empty());
  EXPECT_EQ(fx.api.deletes, 2);
  EXPECT_EQ(fx.enforcer.blockCount(), 0u);
}

TEST(WfpEnforcer, UnblockRemovesByIdAndAnAbsentBlockIsNoError) {
  Fixture fx;
  ASSERT_OK(fx.enforcer.block(BlockSpec{*parseAddress("192.0.2.7"), 64, Nanos(10)}));
  ASSERT_OK(fx.enforcer.block(BlockSpec{*parseAddress("192.0.2.8"), 64, Nanos(10)}));
  ASSERT_OK(fx.enforcer.unblock(*parseAddress("192.0.2.7"), 64));
  EXPECT_EQ(fx.api.filters.size(), 2u);
  for (const auto& [id, f] : fx.api.filters) EXPECT_EQ(f.conditions[0].u32, 0xc0000208u);
  ASSERT_OK(fx.enforcer.unblock(*parseAddress("192.0.2.7"), 64));
}

TEST(WfpEnforcer, AHalfAddedBlockIsRolledBack) {
  Fixture fx;
  fx.api.failFilterAdd(2, ERROR_ACCESS_DENIED);
  auto r = fx.enforcer.block(BlockSpec{*parseAddress("192.0.2.7"), 64, Nanos(10)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("ERROR_ACCESS_DENIED"), std::string::npos)
      << r.error().message();
  EXPECT_TRUE(fx.api.filters.empty());
  EXPECT_EQ(fx.enforcer.blockCount(), 0u);
}

TEST(WfpEnforcer, TheAllowlistIsReplacedAsAWhole) {
  Fixture fx;
  ASSERT_OK(fx.enforcer.setAllowlist({prefix("127.0.0.0/8"), prefix("::1")}));
  EXPECT_EQ(fx.api.filters.size(), 4u);
  for (const auto& [id, f] : fx.api.filters) {
    EXPECT_EQ(f.action, static_cast<FWP_ACTION_TYPE>(FWP_ACTION_PERMIT));
    EXPECT_EQ(f.weight, kWeightAllow);
  }
  ASSERT_OK(fx.enforcer.setAllowlist({prefix("10.0.0.0/8")}));
  ASSERT_EQ(fx.api.filters.size(), 2u);
  EXPECT_EQ(fx.api.filters.begin()->second.conditions[0].v4.mask, 0xff000000u);
}

TEST(WfpIsolation, IsolateReplacesTheSetAndReleaseRemovesIt) {
  FakeWfpApi api;
  auto engine = WfpEngine::open(&api);
  ASSERT_OK(engine);
  WfpIsolation iso(&*engine);
  EXPECT_FALSE(iso.isolate(IsolationSpec{}).ok());  // no console: refused
  auto spec = parseIsolationSpec({"192.0.2.1"}, {});
  ASSERT_OK(spec);
  ASSERT_OK(iso.isolate(*spec));
  EXPECT_TRUE(iso.isolated());
  const size_t first = api.filters.size();
  EXPECT_EQ(first, 3u * 4 + 8);
  size_t blocks_without_condition = 0;
  for (const auto& [id, f] : api.filters) {
    if (f.conditions.empty()) {
      blocks_without_condition++;
      EXPECT_EQ(f.action, static_cast<FWP_ACTION_TYPE>(FWP_ACTION_BLOCK));
    }
  }
  EXPECT_EQ(blocks_without_condition, 8u);
  auto wider = parseIsolationSpec({"192.0.2.1"}, {"198.51.100.0/24"});
  ASSERT_OK(iso.isolate(*wider));
  EXPECT_EQ(api.filters.size(), first + 4);
  ASSERT_OK(iso.release());
  EXPECT_TRUE(api.filters.empty());
  EXPECT_FALSE(iso.isolated());
}

}  // namespace
}  // namespace sg::win
