// WfpApi: the Fwpm* calls syn-guard makes, one virtual per call and nothing
// more, so that WfpEngine's filter construction is tested against a fake that
// checks every field (fake_wfp_api.h) — Wine has no filtering engine.
// RealWfpApi forwards to fwpuclnt.dll. Every method returns the Win32/HRESULT
// code the real call returns (ERROR_SUCCESS = 0).
#pragma once

#include "win/win_compat.h"

namespace sg::win {

class WfpApi {
 public:
  virtual ~WfpApi() = default;
  virtual DWORD engineOpen(const FWPM_SESSION0* session, HANDLE* engine) = 0;
  virtual DWORD engineClose(HANDLE engine) = 0;
  virtual DWORD transactionBegin(HANDLE engine) = 0;
  virtual DWORD transactionCommit(HANDLE engine) = 0;
  virtual DWORD transactionAbort(HANDLE engine) = 0;
  virtual DWORD providerAdd(HANDLE engine, const FWPM_PROVIDER0* provider) = 0;
  virtual DWORD subLayerAdd(HANDLE engine, const FWPM_SUBLAYER0* sublayer) = 0;
  virtual DWORD filterAdd(HANDLE engine, const FWPM_FILTER0* filter, UINT64* id) = 0;
  virtual DWORD filterDeleteById(HANDLE engine, UINT64 id) = 0;
  // FwpmLayerGetByKey0's layerId (the run-time id net events carry).
  virtual DWORD layerGetId(HANDLE engine, const GUID* key, UINT16* id) = 0;
  virtual DWORD netEventSubscribe(HANDLE engine, const FWPM_NET_EVENT_SUBSCRIPTION0* subscription,
                                  FWPM_NET_EVENT_CALLBACK0 callback, void* context,
                                  HANDLE* events) = 0;
  virtual DWORD netEventUnsubscribe(HANDLE engine, HANDLE events) = 0;
};

class RealWfpApi final : public WfpApi {
 public:
  DWORD engineOpen(const FWPM_SESSION0* session, HANDLE* engine) override;
  DWORD engineClose(HANDLE engine) override;
  DWORD transactionBegin(HANDLE engine) override;
  DWORD transactionCommit(HANDLE engine) override;
  DWORD transactionAbort(HANDLE engine) override;
  DWORD providerAdd(HANDLE engine, const FWPM_PROVIDER0* provider) override;
  DWORD subLayerAdd(HANDLE engine, const FWPM_SUBLAYER0* sublayer) override;
  DWORD filterAdd(HANDLE engine, const FWPM_FILTER0* filter, UINT64* id) override;
  DWORD filterDeleteById(HANDLE engine, UINT64 id) override;
  DWORD layerGetId(HANDLE engine, const GUID* key, UINT16* id) override;
  DWORD netEventSubscribe(HANDLE engine, const FWPM_NET_EVENT_SUBSCRIPTION0* subscription,
                          FWPM_NET_EVENT_CALLBACK0 callback, void* context,
                          HANDLE* events) override;
  DWORD netEventUnsubscribe(HANDLE engine, HANDLE events) override;
};

}  // namespace sg::win
