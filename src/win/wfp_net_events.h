// WfpNetEvents: the filtering engine's own net events
// (FwpmNetEventSubscribe0), counted into NetEventCounts. A classify drop
// names the filter that dropped and the layer (its run-time id, resolved at
// start with FwpmLayerGetByKey0): a drop by one of syn-guard's filters is a
// blocked source's packet or, at ALE receive/accept over TCP, its connection
// attempt; a drop by another filter at that layer is an attempt no accept
// event shows. WFP collects these events by default (a machine-wide setting,
// FWPM_ENGINE_COLLECT_NET_EVENTS, left as the administrator set it) into a
// small circular log: under a flood they are sampled by the engine, so the
// counts are a lower bound. Wine has no filtering engine: the decoding and
// the subscription are tested against FakeWfpApi only. Windows only.
#pragma once

#include <memory>

#include "core/result.h"
#include "win/net_event_counts.h"
#include "win/wfp_engine.h"

namespace sg::win {

class WfpNetEvents {
 public:
  // Subscribes on `engine`'s session; `engine` and `counts` must outlive it.
  static Result<std::unique_ptr<WfpNetEvents>> subscribe(const WfpEngine& engine,
                                                         NetEventCounts* counts);
  ~WfpNetEvents();
  WfpNetEvents(const WfpNetEvents&) = delete;
  WfpNetEvents& operator=(const WfpNetEvents&) = delete;

  // One event, as the engine's callback delivers it (null: malformed).
  void onEvent(const FWPM_NET_EVENT1* event);

 private:
  WfpNetEvents(const WfpEngine& engine, NetEventCounts* counts);
  static void CALLBACK callback(void* context, const FWPM_NET_EVENT1* event);

  WfpApi* api_;
  HANDLE engine_;
  std::shared_ptr<const FilterIdSet> ours_;
  NetEventCounts* counts_;
  HANDLE events_ = nullptr;
  UINT16 accept_v4_ = 0;  // run-time ids of the ALE receive/accept layers
  UINT16 accept_v6_ = 0;
};

}  // namespace sg::win
