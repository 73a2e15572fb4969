#include "proto/envelope.h"

#include "proto/codec.h"
#include "proto/limits.h"

namespace sg::proto {

Result<Envelope> openEnvelope(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) {
    return makeError(Errc::kInvalidArgument, "message of " + std::to_string(bytes.size()) +
                                                 " bytes is over the limit of " +
                                                 std::to_string(kMaxMessageBytes));
  }
  SG_TRY(checkDepth(bytes, kMaxDepth));
  Envelope env;
  env.body = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (env.body.is_discarded()) return makeError(Errc::kInvalidArgument, "not valid JSON");
  SG_READ(reader, FieldReader::of(env.body, "message"));
  SG_READ(version, reader->u64("v"));
  if (*version < kMinProtocolVersion || *version > kProtocolVersion) {
    return makeError(Errc::kInvalidArgument, std::string(kUnsupportedVersion) + " " +
                                                 std::to_string(*version) + " (this side speaks " +
                                                 std::to_string(kMinProtocolVersion) + " to " +
                                                 std::to_string(kProtocolVersion) + ")");
  }
  env.version = static_cast<uint32_t>(*version);
  SG_READ(type, reader->str("type", 32));
  env.type = *type;
  return env;
}

bool isUnsupportedVersion(const Error& error) {
  return error.message().rfind(kUnsupportedVersion, 0) == 0;
}

Result<FieldReader> openReader(const Envelope& env) {
  SG_READ(reader, FieldReader::of(env.body, env.type));
  // Already checked by openEnvelope; read so that done() counts them.
  SG_TRY(reader->u64("v"));
  SG_TRY(reader->str("type", 32));
  return std::move(*reader);
}

std::string sealEnvelope(const char* type, nlohmann::json body, uint32_t version) {
  body["v"] = version;
  body["type"] = type;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sg::proto
