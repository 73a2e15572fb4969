// libFuzzer target for the config-file path: the bytes are read as a TOML
// config, a duration, a prefix and an address. Nothing may crash, and what
// parses must survive its own round trip (a broken invariant aborts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/address.h"
#include "core/config.h"
#include "core/duration.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto config = sg::parseConfigToml(text, "fuzz.toml");
  if (config.ok()) require(sg::validateConfig(*config).ok());

  auto duration = sg::parseDuration(text);
  if (duration.ok()) {
    require(duration->count() >= 0);
    auto again = sg::parseDuration(sg::formatDuration(*duration));
    require(again.ok() && *again == *duration);
  }

  auto prefix = sg::parsePrefix(text);
  if (prefix.ok()) {
    auto again = sg::parsePrefix(prefix->str());
    require(again.ok() && *again == *prefix);
    require(prefix->contains(prefix->addr));
  }

  auto address = sg::parseAddress(text);
  if (address.ok()) {
    auto again = sg::parseAddress(address->str());
    require(again.ok() && *again == *address);
    for (uint8_t len : {uint8_t{1}, uint8_t{64}, uint8_t{128}}) {
      (void)sg::formatSource(sg::sourceKey(*address, len), len);
    }
  }
  return 0;
}
