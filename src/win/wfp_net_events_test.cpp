// WfpNetEvents against FakeWfpApi (Wine has no filtering engine): the
// subscription, the layers' run-time ids, and each kind of event counted.
#include "win/wfp_net_events.h"

#include <gtest/gtest.h>

#include <optional>

#include "win/fake_wfp_api.h"

namespace sg::win {
namespace {

constexpr UINT16 kAcceptV4 = 44;  // FakeWfpApi's ids (FWPS_LAYER_ALE_AUTH_RECV_ACCEPT_V4/V6)
constexpr UINT16 kAcceptV6 = 46;

struct Drop {
  FWPM_NET_EVENT_CLASSIFY_DROP1 detail{};
  FWPM_NET_EVENT1 event{};
  Drop(UINT64 filter, UINT16 layer, UINT8 protocol = 6) {
    detail.filterId = filter;
    detail.layerId = layer;
    event.type = FWPM_NET_EVENT_TYPE_CLASSIFY_DROP;
    event.header.flags = compat::kNetEventFlagIpProtocolSet;
    event.header.ipProtocol = protocol;
    event.classifyDrop = &detail;
  }
};

class WfpNetEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = WfpEngine::open(&api_);
    ASSERT_TRUE(e.ok());
    engine_.emplace(std::move(e).value());
    FilterSpec spec;
    spec.remote = parsePrefix("192.0.2.7/32").value();
    spec.name = "block 192.0.2.7";
    auto id = engine_->addFilter(spec);
    ASSERT_TRUE(id.ok()) << id.error().message();
    ours_ = *id;
  }
  test::FakeWfpApi api_;
  std::optional<WfpEngine> engine_;
  uint64_t ours_ = 0;
  NetEventCounts counts_;
};

TEST_F(WfpNetEventsTest, SubscribesToEveryEventAndUnsubscribesWhenDone) {
  {
    auto n = WfpNetEvents::subscribe(*engine_, &counts_);
    ASSERT_TRUE(n.ok()) << n.error().message();
    EXPECT_TRUE(api_.subscribed());
    EXPECT_TRUE(api_.subscription_template);
    EXPECT_EQ(api_.subscription_conditions, 0u);
  }
  EXPECT_FALSE(api_.subscribed());
  EXPECT_EQ(api_.unsubscribes, 1);
}

TEST_F(WfpNetEventsTest, DropsByOurFiltersAndOthersAttemptsAtAleAcceptOnly) {
  auto n = WfpNetEvents::subscribe(*engine_, &counts_);
  ASSERT_TRUE(n.ok());
  Drop ours_accept(ours_, kAcceptV4);
  Drop ours_transport(ours_, 101);
  Drop firewall_accept_v6(77, kAcceptV6);
  Drop firewall_udp(77, kAcceptV4, 17);
  for (const Drop* d : {&ours_accept, &ours_transport, &firewall_accept_v6, &firewall_udp}) {
    ASSERT_TRUE(api_.deliver(&d->event));
  }
  EXPECT_EQ(counts_.drops_ours, 2u);
  EXPECT_EQ(counts_.attempts_blocked, 1u);
  EXPECT_EQ(counts_.drops_other, 2u);
  EXPECT_EQ(counts_.attempts_dropped_other, 1u);
  // Without the protocol set, a drop is not taken for a TCP attempt.
  Drop unknown_protocol(ours_, kAcceptV4);
  unknown_protocol.event.header.flags = 0;
  api_.deliver(&unknown_protocol.event);
  EXPECT_EQ(counts_.drops_ours, 3u);
  EXPECT_EQ(counts_.attempts_blocked, 1u);
}

TEST_F(WfpNetEventsTest, AFilterDeletedIsNoLongerOurs) {
  auto n = WfpNetEvents::subscribe(*engine_, &counts_);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(engine_->deleteFilter(ours_).ok());
  Drop late(ours_, kAcceptV4);
  api_.deliver(&late.event);
  EXPECT_EQ(counts_.drops_ours, 0u);
  EXPECT_EQ(counts_.attempts_dropped_other, 1u);
}

TEST_F(WfpNetEventsTest, OtherTypesAndMalformedEventsAreCountedApart) {
  auto n = WfpNetEvents::subscribe(*engine_, &counts_);
  ASSERT_TRUE(n.ok());
  FWPM_NET_EVENT1 ike{};
  ike.type = FWPM_NET_EVENT_TYPE_IKEEXT_MM_FAILURE;
  FWPM_NET_EVENT1 no_detail{};
  no_detail.type = FWPM_NET_EVENT_TYPE_CLASSIFY_DROP;
  api_.deliver(&ike);
  api_.deliver(&no_detail);
  api_.deliver(nullptr);
  EXPECT_EQ(counts_.other_events, 1u);
  EXPECT_EQ(counts_.malformed, 2u);
  EXPECT_EQ(counts_.drops_ours + counts_.drops_other, 0u);
}

TEST_F(WfpNetEventsTest, AnEngineRefusingTheLayerLookupOrTheSubscriptionIsAnError) {
  api_.layer_lookup_error = static_cast<DWORD>(FWP_E_LAYER_NOT_FOUND);
  auto no_layer = WfpNetEvents::subscribe(*engine_, &counts_);
  ASSERT_FALSE(no_layer.ok());
  EXPECT_NE(no_layer.error().message().find("FwpmLayerGetByKey0"), std::string::npos);
  api_.layer_lookup_error = ERROR_SUCCESS;
  api_.subscribe_error = ERROR_ACCESS_DENIED;
  auto refused = WfpNetEvents::subscribe(*engine_, &counts_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("FwpmNetEventSubscribe0"), std::string::npos);
  EXPECT_FALSE(api_.subscribed());
}

}  // namespace
}  // namespace sg::win
