#include <cstdio>
#include <utility>

#include "win/wfp_engine.h"

namespace sg::win {
namespace {

wchar_t* wide(const std::wstring& s) { return const_cast<wchar_t*>(s.c_str()); }

std::wstring toWide(const std::string& s) { return std::wstring(s.begin(), s.end()); }

Error wfpError(const char* call, DWORD code) { return Error(Errc::kIo, wfpErrorText(call, code)); }

}  // namespace

std::string wfpErrorText(const char* call, DWORD code) {
  const char* name = "";
  switch (static_cast<HRESULT>(code)) {
    case FWP_E_ALREADY_EXISTS:
      name = " (FWP_E_ALREADY_EXISTS)";
      break;
    case FWP_E_TYPE_MISMATCH:
      name = " (FWP_E_TYPE_MISMATCH)";
      break;
    case FWP_E_FILTER_NOT_FOUND:
      name = " (FWP_E_FILTER_NOT_FOUND)";
      break;
    case FWP_E_INVALID_WEIGHT:
      name = " (FWP_E_INVALID_WEIGHT)";
      break;
    default:
      if (code == ERROR_ACCESS_DENIED) name = " (ERROR_ACCESS_DENIED: run as Administrator)";
  }
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%s: 0x%08lx%s", call, static_cast<unsigned long>(code), name);
  return buf;
}

const GUID& layerKey(WfpLayer layer) {
  switch (layer) {
    case WfpLayer::kAleRecvAcceptV4:
      return compat::kLayerAleAuthRecvAcceptV4;
    case WfpLayer::kAleRecvAcceptV6:
      return compat::kLayerAleAuthRecvAcceptV6;
    case WfpLayer::kInboundTransportV4:
      return compat::kLayerInboundTransportV4;
    case WfpLayer::kInboundTransportV6:
      return compat::kLayerInboundTransportV6;
    case WfpLayer::kAleConnectV4:
      return compat::kLayerAleAuthConnectV4;
    case WfpLayer::kAleConnectV6:
      return compat::kLayerAleAuthConnectV6;
    case WfpLayer::kOutboundTransportV4:
      return compat::kLayerOutboundTransportV4;
    case WfpLayer::kOutboundTransportV6:
      return compat::kLayerOutboundTransportV6;
  }
  std::abort();
}

Result<WfpEngine> WfpEngine::open(WfpApi* api) {
  std::wstring session_name = L"syn-guard";
  FWPM_SESSION0 session{};
  session.displayData.name = wide(session_name);
  session.flags = compat::kSessionFlagDynamic;
  HANDLE handle = nullptr;
  if (DWORD rc = api->engineOpen(&session, &handle); rc != ERROR_SUCCESS) {
    return wfpError("FwpmEngineOpen0", rc);
  }
  WfpEngine engine(api, handle);
  if (DWORD rc = api->transactionBegin(handle); rc != ERROR_SUCCESS) {
    return wfpError("FwpmTransactionBegin0", rc);
  }
  std::wstring provider_name = L"syn-guard";
  FWPM_PROVIDER0 provider{};
  provider.providerKey = kProviderKey;
  provider.displayData.name = wide(provider_name);
  DWORD rc = api->providerAdd(handle, &provider);
  if (rc == ERROR_SUCCESS || static_cast<HRESULT>(rc) == FWP_E_ALREADY_EXISTS) {
    std::wstring sublayer_name = L"syn-guard blocks";
    GUID provider_key = kProviderKey;
    FWPM_SUBLAYER0 sublayer{};
    sublayer.subLayerKey = kSublayerKey;
    sublayer.displayData.name = wide(sublayer_name);
    sublayer.providerKey = &provider_key;
    sublayer.weight = kSublayerWeight;
    rc = api->subLayerAdd(handle, &sublayer);
    if (rc != ERROR_SUCCESS && static_cast<HRESULT>(rc) != FWP_E_ALREADY_EXISTS) {
      api->transactionAbort(handle);
      return wfpError("FwpmSubLayerAdd0", rc);
    }
  } else {
    api->transactionAbort(handle);
    return wfpError("FwpmProviderAdd0", rc);
  }
  if (rc = api->transactionCommit(handle); rc != ERROR_SUCCESS) {
    return wfpError("FwpmTransactionCommit0", rc);
  }
  return engine;
}

WfpEngine::WfpEngine(WfpEngine&& other) noexcept
    : api_(other.api_),
      handle_(std::exchange(other.handle_, nullptr)),
      owned_(std::move(other.owned_)) {}

WfpEngine::~WfpEngine() {
  if (handle_ != nullptr) api_->engineClose(handle_);
}

Result<uint64_t> WfpEngine::addFilter(const FilterSpec& spec) {
  const std::wstring name = toWide(spec.name);
  GUID provider_key = kProviderKey;
  FWPM_FILTER0 f{};
  f.displayData.name = const_cast<wchar_t*>(name.c_str());
  f.providerKey = &provider_key;
  f.layerKey = layerKey(spec.layer);
  f.subLayerKey = kSublayerKey;
  f.weight.type = FWP_UINT8;
  f.weight.uint8 = spec.weight;
  f.action.type = spec.action == WfpAction::kBlock ? FWP_ACTION_BLOCK : FWP_ACTION_PERMIT;

  // The condition's value lives here until FwpmFilterAdd0 returns.
  FWPM_FILTER_CONDITION0 cond{};
  FWP_V4_ADDR_AND_MASK v4_mask{};
  FWP_V6_ADDR_AND_MASK v6_mask{};
  FWP_BYTE_ARRAY16 v6_addr{};
  if (spec.remote) {
    const RemoteCondition rc = remoteCondition(*spec.remote);
    if ((rc.kind == RemoteCondition::Kind::kV6Address ||
         rc.kind == RemoteCondition::Kind::kV6Prefix) != isV6Layer(spec.layer)) {
      return Error(Errc::kInvalidArgument, "filter for " + spec.remote->str() + " on layer " +
                                               layerName(spec.layer) + " of the other family");
    }
    cond.fieldKey = compat::kConditionIpRemoteAddress;
    cond.matchType = FWP_MATCH_EQUAL;
    switch (rc.kind) {
      case RemoteCondition::Kind::kV4Address:
        cond.conditionValue.type = FWP_UINT32;
        cond.conditionValue.uint32 = rc.v4;
        break;
      case RemoteCondition::Kind::kV4Mask:
        v4_mask.addr = rc.v4;
        v4_mask.mask = rc.v4_mask;
        cond.conditionValue.type = FWP_V4_ADDR_MASK;
        cond.conditionValue.v4AddrMask = &v4_mask;
        break;
      case RemoteCondition::Kind::kV6Address:
        std::copy(rc.v6, rc.v6 + 16, v6_addr.byteArray16);
        cond.conditionValue.type = FWP_BYTE_ARRAY16_TYPE;
        cond.conditionValue.byteArray16 = &v6_addr;
        break;
      case RemoteCondition::Kind::kV6Prefix:
        std::copy(rc.v6, rc.v6 + 16, v6_mask.addr);
        v6_mask.prefixLength = rc.v6_prefix;
        cond.conditionValue.type = FWP_V6_ADDR_MASK;
        cond.conditionValue.v6AddrMask = &v6_mask;
        break;
    }
    f.numFilterConditions = 1;
    f.filterCondition = &cond;
  }
  UINT64 id = 0;
  if (DWORD rc = api_->filterAdd(handle_, &f, &id); rc != ERROR_SUCCESS) {
    return wfpError("FwpmFilterAdd0", rc).context(spec.name);
  }
  owned_->add(id);
  return static_cast<uint64_t>(id);
}

Result<void> WfpEngine::deleteFilter(uint64_t id) {
  const DWORD rc = api_->filterDeleteById(handle_, id);
  if (rc == ERROR_SUCCESS || static_cast<HRESULT>(rc) == FWP_E_FILTER_NOT_FOUND) owned_->remove(id);
  if (rc == ERROR_SUCCESS || static_cast<HRESULT>(rc) == FWP_E_FILTER_NOT_FOUND) return Ok{};
  return wfpError("FwpmFilterDeleteById0", rc);
}

}  // namespace sg::win
