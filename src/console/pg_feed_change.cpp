#include "console/pg_feed_change.h"

#include <nlohmann/json.hpp>

namespace sg::console {

Result<StoreChange> parseChange(std::string_view payload) {
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  auto text = [&](const char* name) -> const nlohmann::json* {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? &*it : nullptr;
  };
  if (!j.is_object()) return makeError(Errc::kInvalidArgument, "change payload is not an object");
  const nlohmann::json *kind = text("kind"), *key = text("key"), *op = text("op"),
                       *origin = text("origin");
  auto version = j.find("version");
  if (!kind || !key || !op || !origin || version == j.end() || !version->is_number_unsigned()) {
    return makeError(Errc::kInvalidArgument,
                     "change payload lacks kind, key, op, origin or version");
  }
  return StoreChange{kind->get<std::string>(), key->get<std::string>(), op->get<std::string>(),
                     version->get<uint64_t>(), origin->get<std::string>()};
}

}  // namespace sg::console
