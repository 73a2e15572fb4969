// libFuzzer target for the agent <-> console protocol: the bytes are parsed as
// a message from an agent and as one from the console. Nothing may crash or
// exhaust memory, and what parses must survive its own round trip:
// parse(encode(m)) == m (a broken invariant aborts). Both protocol versions
// (1, and 2 with report.port_floods) parse; a hello keeps its version, and
// a version-1 report re-encoded at version 2 gains only an empty port_floods.
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
      auto v1 = sg::proto::parseAgentMessage(sg::proto::encode(*from_agent, 1));
      require(v1.ok() && std::get<sg::proto::Report>(*v1).port_floods.empty() &&
              std::get<sg::proto::Report>(*v1).events == r->events);
    }
  }
  auto from_console = sg::proto::parseConsoleMessage(bytes);
  if (from_console.ok()) {
    auto again = sg::proto::parseConsoleMessage(sg::proto::encode(*from_console));
    require(again.ok() && *again == *from_console);
  }
  return 0;
}
