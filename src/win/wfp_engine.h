// WfpEngine: one dynamic WFP session (FWPM_SESSION_FLAG_DYNAMIC) holding
// syn-guard's provider, its sublayer and its filters. Closing the engine
// handle (destructor, or the process dying) makes the filtering engine delete
// every object of the session: a crashed agent leaves no block behind, as the
// XDP link and nftables timeouts do on Linux. Filters are built from
// FilterSpec (wfp_plan.h) and removed by the id WFP returns.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

#include "core/result.h"
#include "win/wfp_api.h"
#include "win/wfp_plan.h"

namespace sg::win {

// syn-guard's own keys (random, fixed: the same on every host).
inline constexpr GUID kProviderKey = {
    0x5118478f, 0x496a, 0x46a7, {0x95, 0xf5, 0x0c, 0x74, 0x59, 0x13, 0x6a, 0x74}};
inline constexpr GUID kSublayerKey = {
    0x45f1cfe0, 0xbc41, 0x4082, {0x8e, 0xf1, 0x0f, 0x9c, 0xec, 0x54, 0x69, 0x47}};
// The sublayer's weight among the engine's sublayers (UINT16).
inline constexpr UINT16 kSublayerWeight = 0x8000;

const GUID& layerKey(WfpLayer layer);

// The ids of the filters an engine added and has not deleted: net events,
// on the engine's callback thread, ask whether a drop was syn-guard's.
class FilterIdSet {
 public:
  void add(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    ids_.insert(id);
  }
  void remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    ids_.erase(id);
  }
  bool contains(uint64_t id) const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.count(id) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<uint64_t> ids_;
};

class WfpEngine {
 public:
  // Opens a dynamic session and adds the provider and sublayer (in one
  // transaction). `api` must outlive the engine.
  static Result<WfpEngine> open(WfpApi* api);
  WfpEngine(WfpEngine&& other) noexcept;
  WfpEngine& operator=(WfpEngine&&) = delete;
  WfpEngine(const WfpEngine&) = delete;
  ~WfpEngine();

  // Adds one filter; returns its id.
  Result<uint64_t> addFilter(const FilterSpec& spec);
  // Removes it; an id WFP no longer knows (FWP_E_FILTER_NOT_FOUND) is not an error.
  Result<void> deleteFilter(uint64_t id);

  // For the net event subscription (wfp_net_events.h).
  WfpApi* api() const { return api_; }
  HANDLE handle() const { return handle_; }
  std::shared_ptr<const FilterIdSet> ownedFilters() const { return owned_; }

 private:
  WfpEngine(WfpApi* api, HANDLE handle) : api_(api), handle_(handle) {}
  WfpApi* api_;
  HANDLE handle_;
  std::shared_ptr<FilterIdSet> owned_ = std::make_shared<FilterIdSet>();
};

// "FwpmFilterAdd0: 0x80320027 (FWP_E_TYPE_MISMATCH)" for the common codes.
std::string wfpErrorText(const char* call, DWORD code);

}  // namespace sg::win
