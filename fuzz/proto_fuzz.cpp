// libFuzzer target for the agent <-> console protocol: the bytes are parsed as
// a message from an agent and as one from the console. Nothing may crash or
// exhaust memory, and what parses must survive its own round trip:
// parse(encode(m)) == m (a broken invariant aborts).
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
  }
  auto from_console = sg::proto::parseConsoleMessage(bytes);
  if (from_console.ok()) {
    auto again = sg::proto::parseConsoleMessage(sg::proto::encode(*from_console));
    require(again.ok() && *again == *from_console);
  }
  return 0;
}
