// What the REST API answered, counted once here by outcome (the transport's
// own refusals, 413/431/429 and unknown paths, are in net::NetCounters). The
// console exports them as Prometheus metrics (syn_guard_api_<name>_total).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace sg::console {

#define SG_API_COUNTERS(X)                                                   \
  X(kRequests, "requests")               /* reached an API handler */        \
  X(kBadRequests, "bad_requests")        /* 400: body, query or path */      \
  X(kUnauthenticated, "unauthenticated") /* 401: no, bad or revoked token */ \
  X(kForbidden, "forbidden")             /* 403: role too low */             \
  X(kNotFound, "not_found")              /* 404: no such endpoint, flood */  \
  X(kConflicts, "conflicts")             /* 409 */                           \
  X(kExhausted, "exhausted")             /* 429: a table is full */          \
  X(kInternalErrors, "internal_errors")  /* 500: the console failed */

enum class ApiCounter : unsigned {
#define SG_API_ENUM(name, text) name,
  SG_API_COUNTERS(SG_API_ENUM)
#undef SG_API_ENUM
      kCount
};

inline constexpr std::array<std::string_view, static_cast<size_t>(ApiCounter::kCount)>
    kApiCounterNames = {
#define SG_API_NAME(name, text) text,
        SG_API_COUNTERS(SG_API_NAME)
#undef SG_API_NAME
};

class ApiCounters {
 public:
  void add(ApiCounter c) {
    values_[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t get(ApiCounter c) const {
    return values_[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }
  // One response's status: kRequests, plus its error's counter.
  void count(int status);

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ApiCounter::kCount)> values_{};
};

// Prometheus text format: "syn_guard_api_<name>_total <value>", a TYPE line each.
void appendPrometheus(std::string& out, const ApiCounters& counters);

}  // namespace sg::console
