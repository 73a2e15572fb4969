// libFuzzer target for the agent <-> console protocol: the bytes are parsed as
// a message from an agent and as one from the console. Nothing may crash or
// exhaust memory, and what parses must survive its own round trip:
// parse(encode(m)) == m (a broken invariant aborts). Every protocol version
// (1; 2 with report.port_floods; 3 with events' observed rate) parses; a
// hello keeps its version, and a report re-encoded at version 1 loses only
// its port floods and its events' rates.
// A version-2 report with port floods encoded at version 1 must not parse
// back with them (a version-1 link cannot carry them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/codec.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto from_agent = sg::proto::parseAgentMessage(bytes);
  if (from_agent.ok()) {
    auto again = sg::proto::parseAgentMessage(sg::proto::encode(*from_agent));
    require(again.ok() && *again == *from_agent);
    if (const auto* r = std::get_if<sg::proto::Report>(&*from_agent)) {
      // Versions 1 and 2 carry no observed rate (version 3 added it).
      auto unrated = r->events;
      for (auto& e : unrated) e.rate = 0;
      auto v1 = sg::proto::parseAgentMessage(sg::proto::encode(*from_agent, 1));
      require(v1.ok() && std::get<sg::proto::Report>(*v1).port_floods.empty() &&
              std::get<sg::proto::Report>(*v1).events == unrated);
    }
  }
  auto from_console = sg::proto::parseConsoleMessage(bytes);
  if (from_console.ok()) {
    auto again = sg::proto::parseConsoleMessage(sg::proto::encode(*from_console));
    require(again.ok() && *again == *from_console);
  }
  return 0;
}
