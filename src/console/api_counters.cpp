#include "console/api_counters.h"

namespace sg::console {

void ApiCounters::count(int status) {
  add(ApiCounter::kRequests);
  switch (status) {
    case 400:
      add(ApiCounter::kBadRequests);
      break;
    case 401:
      add(ApiCounter::kUnauthenticated);
      break;
    case 403:
      add(ApiCounter::kForbidden);
      break;
    case 404:
      add(ApiCounter::kNotFound);
      break;
    case 409:
      add(ApiCounter::kConflicts);
      break;
    case 429:
      add(ApiCounter::kExhausted);
      break;
    default:
      if (status >= 500) add(ApiCounter::kInternalErrors);
      break;
  }
}

void appendPrometheus(std::string& out, const ApiCounters& counters) {
  for (size_t i = 0; i < kApiCounterNames.size(); ++i) {
    const std::string name = "syn_guard_api_" + std::string(kApiCounterNames[i]) + "_total";
    out += "# TYPE " + name + " counter\n";
    out += name + " " + std::to_string(counters.get(static_cast<ApiCounter>(i))) + "\n";
  }
}

}  // namespace sg::console
