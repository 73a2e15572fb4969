#include "win/wfp_net_events.h"

namespace sg::win {
namespace {

constexpr UINT8 kTcp = 6;

}  // namespace

WfpNetEvents::WfpNetEvents(const WfpEngine& engine, NetEventCounts* counts)
    : api_(engine.api()), engine_(engine.handle()), ours_(engine.ownedFilters()), counts_(counts) {}

Result<std::unique_ptr<WfpNetEvents>> WfpNetEvents::subscribe(const WfpEngine& engine,
                                                              NetEventCounts* counts) {
  std::unique_ptr<WfpNetEvents> n(new WfpNetEvents(engine, counts));
  const GUID v4 = layerKey(WfpLayer::kAleRecvAcceptV4);
  const GUID v6 = layerKey(WfpLayer::kAleRecvAcceptV6);
  if (DWORD rc = n->api_->layerGetId(n->engine_, &v4, &n->accept_v4_); rc != ERROR_SUCCESS) {
    return Error(Errc::kIo, wfpErrorText("FwpmLayerGetByKey0(ALE_AUTH_RECV_ACCEPT_V4)", rc));
  }
  if (DWORD rc = n->api_->layerGetId(n->engine_, &v6, &n->accept_v6_); rc != ERROR_SUCCESS) {
    return Error(Errc::kIo, wfpErrorText("FwpmLayerGetByKey0(ALE_AUTH_RECV_ACCEPT_V6)", rc));
  }
  // Every event from now on: no conditions, no time window.
  FWPM_NET_EVENT_ENUM_TEMPLATE0 every{};
  FWPM_NET_EVENT_SUBSCRIPTION0 subscription{};
  subscription.enumTemplate = &every;
  if (DWORD rc = n->api_->netEventSubscribe(n->engine_, &subscription, &WfpNetEvents::callback,
                                            n.get(), &n->events_);
      rc != ERROR_SUCCESS) {
    return Error(Errc::kIo, wfpErrorText("FwpmNetEventSubscribe0", rc));
  }
  return n;
}

WfpNetEvents::~WfpNetEvents() {
  // Returns once no callback runs any more.
  if (events_ != nullptr) api_->netEventUnsubscribe(engine_, events_);
}

void CALLBACK WfpNetEvents::callback(void* context, const FWPM_NET_EVENT1* event) {
  static_cast<WfpNetEvents*>(context)->onEvent(event);
}

void WfpNetEvents::onEvent(const FWPM_NET_EVENT1* event) {
  if (event == nullptr) {
    counts_->malformed++;
    return;
  }
  if (event->type != FWPM_NET_EVENT_TYPE_CLASSIFY_DROP) {
    counts_->other_events++;
    return;
  }
  const FWPM_NET_EVENT_CLASSIFY_DROP1* drop = event->classifyDrop;
  if (drop == nullptr) {
    counts_->malformed++;
    return;
  }
  const bool tcp = (event->header.flags & compat::kNetEventFlagIpProtocolSet) != 0 &&
                   event->header.ipProtocol == kTcp;
  const bool attempt = tcp && (drop->layerId == accept_v4_ || drop->layerId == accept_v6_);
  if (ours_->contains(drop->filterId)) {
    counts_->drops_ours++;
    if (attempt) counts_->attempts_blocked++;
  } else {
    counts_->drops_other++;
    if (attempt) counts_->attempts_dropped_other++;
  }
}

}  // namespace sg::win
