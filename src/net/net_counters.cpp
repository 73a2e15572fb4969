#include "net/net_counters.h"

namespace sg::net {

void appendPrometheus(std::string& out, const NetCounters& counters, std::string_view prefix) {
  for (size_t i = 0; i < kNetCounterNames.size(); ++i) {
    std::string name = std::string(prefix) + std::string(kNetCounterNames[i]) + "_total";
    out += "# TYPE " + name + " counter\n";
    out += name + " " + std::to_string(counters.get(static_cast<NetCounter>(i))) + "\n";
  }
}

}  // namespace sg::net
