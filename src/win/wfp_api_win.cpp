#include "win/wfp_api.h"

namespace sg::win {

DWORD RealWfpApi::engineOpen(const FWPM_SESSION0* session, HANDLE* engine) {
  return FwpmEngineOpen0(nullptr, RPC_C_AUTHN_WINNT, nullptr, session, engine);
}
DWORD RealWfpApi::engineClose(HANDLE engine) { return FwpmEngineClose0(engine); }
DWORD RealWfpApi::transactionBegin(HANDLE engine) { return FwpmTransactionBegin0(engine, 0); }
DWORD RealWfpApi::transactionCommit(HANDLE engine) { return FwpmTransactionCommit0(engine); }
DWORD RealWfpApi::transactionAbort(HANDLE engine) { return FwpmTransactionAbort0(engine); }
DWORD RealWfpApi::providerAdd(HANDLE engine, const FWPM_PROVIDER0* provider) {
  return FwpmProviderAdd0(engine, provider, nullptr);
}
DWORD RealWfpApi::subLayerAdd(HANDLE engine, const FWPM_SUBLAYER0* sublayer) {
  return FwpmSubLayerAdd0(engine, sublayer, nullptr);
}
DWORD RealWfpApi::filterAdd(HANDLE engine, const FWPM_FILTER0* filter, UINT64* id) {
  return FwpmFilterAdd0(engine, filter, nullptr, id);
}
DWORD RealWfpApi::filterDeleteById(HANDLE engine, UINT64 id) {
  return FwpmFilterDeleteById0(engine, id);
}
DWORD RealWfpApi::layerGetId(HANDLE engine, const GUID* key, UINT16* id) {
  FWPM_LAYER0* layer = nullptr;
  const DWORD rc = FwpmLayerGetByKey0(engine, key, &layer);
  if (rc == ERROR_SUCCESS) *id = layer->layerId;
  if (layer != nullptr) FwpmFreeMemory0(reinterpret_cast<void**>(&layer));
  return rc;
}
DWORD RealWfpApi::netEventSubscribe(HANDLE engine, const FWPM_NET_EVENT_SUBSCRIPTION0* subscription,
                                    FWPM_NET_EVENT_CALLBACK0 callback, void* context,
                                    HANDLE* events) {
  return FwpmNetEventSubscribe0(engine, subscription, callback, context, events);
}
DWORD RealWfpApi::netEventUnsubscribe(HANDLE engine, HANDLE events) {
  return FwpmNetEventUnsubscribe0(engine, events);
}

}  // namespace sg::win
