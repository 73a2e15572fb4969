// libFuzzer target for the control protocol (one JSON request line from a
// local client, src/agent/control_protocol.h). Nothing may crash, every
// rejection says why, and what parses must survive its own round trip (a
// broken invariant aborts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/control_protocol.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto req = sg::agent::parseControlRequest(line);
  if (!req.ok()) {
    require(!req.error().message().empty());
    return 0;
  }
  const bool has_src =
      req->cmd == sg::agent::ControlCmd::kBlock || req->cmd == sg::agent::ControlCmd::kUnblock;
  require(req->for_ms == 0 || req->cmd == sg::agent::ControlCmd::kBlock);
  require(req->for_ms <= 7ull * 24 * 3600 * 1000);
  auto again = sg::agent::parseControlRequest(sg::agent::encodeControlRequest(*req));
  require(again.ok());
  require(again->cmd == req->cmd && again->for_ms == req->for_ms);
  if (has_src) require(again->src == req->src && again->prefix == req->prefix);
  return 0;
}
