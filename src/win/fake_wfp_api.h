// FakeWfpApi: an in-memory filtering engine for WfpEngine's tests (Wine has
// none). It keeps a deep copy of every object added and refuses what the real
// engine refuses for the fields syn-guard sets: an unknown layer, sublayer or
// provider, a weight that is not FWP_UINT8 0..15, an action other than block
// or permit, a remote-address condition whose type does not fit the layer's
// family (FWP_E_TYPE_MISMATCH, the seed's 0x80320027), a mask that is not a
// prefix, calls on a closed or unknown handle. Closing a dynamic session's
// handle deletes its objects, as the engine does.
#pragma once

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "win/wfp_api.h"
#include "win/wfp_engine.h"

namespace sg::win::test {

inline bool sameGuid(const GUID& a, const GUID& b) {
  return std::memcmp(&a, &b, sizeof(GUID)) == 0;
}

struct RecordedCondition {
  GUID field{};
  FWP_MATCH_TYPE match = FWP_MATCH_EQUAL;
  FWP_DATA_TYPE type = FWP_EMPTY;
  UINT32 u32 = 0;
  FWP_V4_ADDR_AND_MASK v4{};
  FWP_V6_ADDR_AND_MASK v6{};
  UINT8 bytes16[16] = {};
};

struct RecordedFilter {
  std::wstring name;
  UINT32 flags = 0;
  GUID provider{};
  GUID layer{};
  GUID sublayer{};
  FWP_DATA_TYPE weight_type = FWP_EMPTY;
  UINT8 weight = 0;
  FWP_ACTION_TYPE action = 0;
  std::vector<RecordedCondition> conditions;
};

class FakeWfpApi final : public WfpApi {
 public:
  // Injected failure: the n-th filterAdd from now (1 = the next) returns `code`.
  void failFilterAdd(int nth, DWORD code) {
    fail_in_ = nth;
    fail_code_ = code;
  }

  DWORD engineOpen(const FWPM_SESSION0* session, HANDLE* engine) override {
    if (session == nullptr || engine == nullptr) return ERROR_INVALID_PARAMETER;
    session_flags = session->flags;
    session_name = session->displayData.name ? session->displayData.name : L"";
    open = true;
    *engine = kHandle;
    return ERROR_SUCCESS;
  }
  DWORD engineClose(HANDLE engine) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    open = false;
    if (session_flags & compat::kSessionFlagDynamic) {
      filters.clear();
      providers.clear();
      sublayers.clear();
    }
    return ERROR_SUCCESS;
  }
  DWORD transactionBegin(HANDLE engine) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    in_txn = true;
    return ERROR_SUCCESS;
  }
  DWORD transactionCommit(HANDLE engine) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    in_txn = false;
    commits++;
    return ERROR_SUCCESS;
  }
  DWORD transactionAbort(HANDLE engine) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    in_txn = false;
    return ERROR_SUCCESS;
  }
  DWORD providerAdd(HANDLE engine, const FWPM_PROVIDER0* p) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (p == nullptr || p->displayData.name == nullptr) return ERROR_INVALID_PARAMETER;
    for (const GUID& g : providers) {
      if (sameGuid(g, p->providerKey)) return static_cast<DWORD>(FWP_E_ALREADY_EXISTS);
    }
    providers.push_back(p->providerKey);
    provider_flags = p->flags;
    return ERROR_SUCCESS;
  }
  DWORD subLayerAdd(HANDLE engine, const FWPM_SUBLAYER0* s) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (s == nullptr || s->displayData.name == nullptr) return ERROR_INVALID_PARAMETER;
    if (s->providerKey == nullptr || !knownProvider(*s->providerKey)) {
      return static_cast<DWORD>(FWP_E_PROVIDER_NOT_FOUND);
    }
    sublayers.push_back(s->subLayerKey);
    sublayer_weight = s->weight;
    return ERROR_SUCCESS;
  }
  DWORD filterAdd(HANDLE engine, const FWPM_FILTER0* f, UINT64* id) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (fail_in_ > 0 && --fail_in_ == 0) return fail_code_;
    if (f == nullptr || id == nullptr || f->displayData.name == nullptr)
      return ERROR_INVALID_PARAMETER;
    if (f->providerKey == nullptr || !knownProvider(*f->providerKey)) {
      return static_cast<DWORD>(FWP_E_PROVIDER_NOT_FOUND);
    }
    bool sub = false;
    for (const GUID& g : sublayers) sub = sub || sameGuid(g, f->subLayerKey);
    if (!sub) return static_cast<DWORD>(FWP_E_SUBLAYER_NOT_FOUND);
    const std::optional<bool> v6 = layerFamily(f->layerKey);
    if (!v6) return static_cast<DWORD>(FWP_E_LAYER_NOT_FOUND);
    if (f->weight.type != FWP_UINT8 || f->weight.uint8 > 15) {
      return static_cast<DWORD>(FWP_E_INVALID_WEIGHT);
    }
    if (f->action.type != FWP_ACTION_BLOCK && f->action.type != FWP_ACTION_PERMIT) {
      return static_cast<DWORD>(FWP_E_INVALID_ACTION_TYPE);
    }
    RecordedFilter r;
    r.name = f->displayData.name;
    r.flags = f->flags;
    r.provider = *f->providerKey;
    r.layer = f->layerKey;
    r.sublayer = f->subLayerKey;
    r.weight_type = f->weight.type;
    r.weight = f->weight.uint8;
    r.action = f->action.type;
    if (f->numFilterConditions > 0 && f->filterCondition == nullptr) return ERROR_INVALID_PARAMETER;
    for (UINT32 i = 0; i < f->numFilterConditions; i++) {
      const FWPM_FILTER_CONDITION0& c = f->filterCondition[i];
      RecordedCondition rc;
      rc.field = c.fieldKey;
      rc.match = c.matchType;
      rc.type = c.conditionValue.type;
      if (!sameGuid(c.fieldKey, compat::kConditionIpRemoteAddress)) {
        return static_cast<DWORD>(FWP_E_CONDITION_NOT_FOUND);
      }
      if (c.matchType != FWP_MATCH_EQUAL) return static_cast<DWORD>(FWP_E_MATCH_TYPE_MISMATCH);
      switch (c.conditionValue.type) {
        case FWP_UINT32:
          if (*v6) return static_cast<DWORD>(FWP_E_TYPE_MISMATCH);
          rc.u32 = c.conditionValue.uint32;
          break;
        case FWP_V4_ADDR_MASK:
          if (*v6) return static_cast<DWORD>(FWP_E_TYPE_MISMATCH);
          if (c.conditionValue.v4AddrMask == nullptr) return ERROR_INVALID_PARAMETER;
          rc.v4 = *c.conditionValue.v4AddrMask;
          if (!contiguous(rc.v4.mask) || (rc.v4.addr & ~rc.v4.mask) != 0) {
            return static_cast<DWORD>(FWP_E_INVALID_NET_MASK);
          }
          break;
        case FWP_BYTE_ARRAY16_TYPE:
          if (!*v6) return static_cast<DWORD>(FWP_E_TYPE_MISMATCH);
          if (c.conditionValue.byteArray16 == nullptr) return ERROR_INVALID_PARAMETER;
          std::memcpy(rc.bytes16, c.conditionValue.byteArray16->byteArray16, 16);
          break;
        case FWP_V6_ADDR_MASK:
          if (!*v6) return static_cast<DWORD>(FWP_E_TYPE_MISMATCH);
          if (c.conditionValue.v6AddrMask == nullptr) return ERROR_INVALID_PARAMETER;
          rc.v6 = *c.conditionValue.v6AddrMask;
          if (rc.v6.prefixLength > 128) return static_cast<DWORD>(FWP_E_INVALID_NET_MASK);
          break;
        default:
          return static_cast<DWORD>(FWP_E_TYPE_MISMATCH);
      }
      r.conditions.push_back(rc);
    }
    *id = next_id_++;
    filters[*id] = r;
    return ERROR_SUCCESS;
  }
  DWORD filterDeleteById(HANDLE engine, UINT64 id) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (filters.erase(id) == 0) return static_cast<DWORD>(FWP_E_FILTER_NOT_FOUND);
    deletes++;
    return ERROR_SUCCESS;
  }

  // Run-time layer ids: ALE receive/accept V4 44, V6 46 (the values of
  // FWPS_LAYER_ALE_AUTH_RECV_ACCEPT_V4/V6), the other layers from 100.
  DWORD layerGetId(HANDLE engine, const GUID* key, UINT16* id) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (layer_lookup_error != ERROR_SUCCESS) return layer_lookup_error;
    UINT16 next = 100;
    for (WfpLayer l :
         {WfpLayer::kAleRecvAcceptV4, WfpLayer::kAleRecvAcceptV6, WfpLayer::kInboundTransportV4,
          WfpLayer::kInboundTransportV6, WfpLayer::kAleConnectV4, WfpLayer::kAleConnectV6,
          WfpLayer::kOutboundTransportV4, WfpLayer::kOutboundTransportV6}) {
      const UINT16 value = l == WfpLayer::kAleRecvAcceptV4   ? 44
                           : l == WfpLayer::kAleRecvAcceptV6 ? 46
                                                             : next++;
      if (sameGuid(layerKey(l), *key)) {
        *id = value;
        return ERROR_SUCCESS;
      }
    }
    return static_cast<DWORD>(FWP_E_LAYER_NOT_FOUND);
  }
  DWORD netEventSubscribe(HANDLE engine, const FWPM_NET_EVENT_SUBSCRIPTION0* subscription,
                          FWPM_NET_EVENT_CALLBACK0 callback, void* context,
                          HANDLE* events) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (subscribe_error != ERROR_SUCCESS) return subscribe_error;
    if (subscription == nullptr || callback == nullptr || events == nullptr)
      return ERROR_INVALID_PARAMETER;
    subscription_template = subscription->enumTemplate != nullptr;
    subscription_conditions =
        subscription->enumTemplate ? subscription->enumTemplate->numFilterConditions : 0;
    net_callback_ = callback;
    net_context_ = context;
    *events = kEventsHandle;
    return ERROR_SUCCESS;
  }
  DWORD netEventUnsubscribe(HANDLE engine, HANDLE events) override {
    if (DWORD rc = check(engine); rc != ERROR_SUCCESS) return rc;
    if (events != kEventsHandle || net_callback_ == nullptr) return ERROR_INVALID_HANDLE;
    net_callback_ = nullptr;
    unsubscribes++;
    return ERROR_SUCCESS;
  }
  // Delivers one net event as the engine's callback thread would.
  bool deliver(const FWPM_NET_EVENT1* event) {
    if (net_callback_ == nullptr) return false;
    net_callback_(net_context_, event);
    return true;
  }
  bool subscribed() const { return net_callback_ != nullptr; }

  static std::optional<bool> layerFamily(const GUID& layer) {
    for (WfpLayer l :
         {WfpLayer::kAleRecvAcceptV4, WfpLayer::kAleRecvAcceptV6, WfpLayer::kInboundTransportV4,
          WfpLayer::kInboundTransportV6, WfpLayer::kAleConnectV4, WfpLayer::kAleConnectV6,
          WfpLayer::kOutboundTransportV4, WfpLayer::kOutboundTransportV6}) {
      if (sameGuid(layerKey(l), layer)) return isV6Layer(l);
    }
    return std::nullopt;
  }

  // State, for the tests to read.
  bool open = false;
  bool in_txn = false;
  int commits = 0;
  int deletes = 0;
  UINT32 session_flags = 0;
  std::wstring session_name;
  UINT32 provider_flags = 0;
  UINT16 sublayer_weight = 0;
  std::vector<GUID> providers;
  std::vector<GUID> sublayers;
  std::map<UINT64, RecordedFilter> filters;
  DWORD layer_lookup_error = ERROR_SUCCESS;
  DWORD subscribe_error = ERROR_SUCCESS;
  bool subscription_template = false;
  UINT32 subscription_conditions = 0;
  int unsubscribes = 0;

 private:
  static inline const HANDLE kHandle = reinterpret_cast<HANDLE>(0x5eed);
  static inline const HANDLE kEventsHandle = reinterpret_cast<HANDLE>(0xe7e7);
  FWPM_NET_EVENT_CALLBACK0 net_callback_ = nullptr;
  void* net_context_ = nullptr;
  DWORD check(HANDLE engine) const {
    return open && engine == kHandle ? ERROR_SUCCESS : ERROR_INVALID_HANDLE;
  }
  bool knownProvider(const GUID& g) const {
    for (const GUID& p : providers) {
      if (sameGuid(p, g)) return true;
    }
    return false;
  }
  static bool contiguous(UINT32 mask) { return (~mask & (~mask + 1)) == 0; }
  UINT64 next_id_ = 1000;
  int fail_in_ = 0;
  DWORD fail_code_ = 0;
};

}  // namespace sg::win::test
