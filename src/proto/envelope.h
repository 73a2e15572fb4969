// The envelope every message shares: {"v":<version>,"type":"<type>",...}.
// Internal to the codec.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "proto/field_reader.h"

namespace sg::proto {

struct Envelope {
  nlohmann::json body;  // the whole object; `reader` reads it
  std::string type;
  uint32_t version = 0;  // "v": kMinProtocolVersion..kProtocolVersion
};

// Size, depth, JSON, version and type checks. The "v" and "type" fields of
// the returned body are already read: body fields are read through a
// FieldReader made with openReader().
Result<Envelope> openEnvelope(std::string_view bytes);
// The start of the error of a message in a version this side does not speak.
inline constexpr const char* kUnsupportedVersion = "unsupported protocol version";
// A FieldReader over the envelope's body with "v" and "type" marked read.
Result<FieldReader> openReader(const Envelope& env);

// Adds "v" (`version`) and "type" to `body` and serialises it.
std::string sealEnvelope(const char* type, nlohmann::json body, uint32_t version);

}  // namespace sg::proto
