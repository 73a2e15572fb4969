// Strict parsing of the REST API's request bodies, query strings and path
// captures (docs/api.md). A body is one JSON object of known fields, each of
// one type and bound: an unknown field, a wrong type or a bad value is an
// kInvalidArgument error naming the field ("body.ttl: ..."), which the API
// returns as a 400. The server already bounds the body's size; this bounds
// its nesting, its strings and its lists before building anything.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "console/policy_resolver.h"
#include "console/store.h"
#include "core/address.h"
#include "core/duration.h"
#include "core/result.h"

namespace sg::console::api {

// Bounds of the bodies' strings.
constexpr size_t kMaxReasonBytes = 256;    // block/isolate reason
constexpr size_t kMaxNoteBytes = 1024;     // escalation note
constexpr size_t kMaxTokenNameBytes = 64;  // API token name
constexpr size_t kMaxBodyDepth = 4;        // the deepest body nests 2

// POST /v1/blocks {"source", "ttl"?, "reason"?}; no ttl: permanent.
struct BlockBody {
  Prefix source;
  std::optional<Nanos> ttl;
  std::string reason;
};
Result<BlockBody> parseBlockBody(std::string_view body);

// POST /v1/endpoints/{name}/isolate {"reason"?}
Result<std::string> parseIsolateBody(std::string_view body);
// POST /v1/floods/{id}/escalate {"note"?}
Result<std::string> parseEscalateBody(std::string_view body);
// Bodies of actions that take none (release, revoke): empty or {}.
Result<void> parseEmptyBody(std::string_view body);

// PUT /v1/policies/{name} {"selector", "flood_threshold"?, "flood_window"?,
// "block_duration"?, "enforcer"?}; absent profile fields take the built-in
// defaults (proto::PolicyParams). The result passed validatePolicy.
Result<Policy> parsePolicyBody(const std::string& name, std::string_view body);

// POST /v1/tokens {"name", "role"}
struct TokenBody {
  std::string name;
  Role role = Role::kViewer;
};
Result<TokenBody> parseTokenBody(std::string_view body);

// POST /v1/enrollment-tokens {"labels", "ttl"?}
struct EnrollmentTokenBody {
  Labels labels;
  std::optional<Nanos> ttl;
};
Result<EnrollmentTokenBody> parseEnrollmentTokenBody(std::string_view body);

// POST /v1/session {"token": "sgA_..."} -> the token text (checked by the service).
Result<std::string> parseSessionBody(std::string_view body);
// POST /v1/floods/{id}/acknowledge {"note"?}
Result<std::string> parseAcknowledgeBody(std::string_view body);
// POST /v1/policy-preview: PUT /v1/policies/{name}'s body plus "name", or
// {"name", "delete": true}.
struct PolicyPreviewBody {
  Policy policy;        // when !remove
  std::string name;     // the policy's name
  bool remove = false;  // "delete": true
};
Result<PolicyPreviewBody> parsePolicyPreviewBody(std::string_view body);

// "a=1&b=x%2Fy" -> {a: "1", b: "x/y"}; only the names in `allowed` (another:
// kInvalidArgument naming it); a name given twice is an error too.
Result<std::map<std::string, std::string>> parseQuery(std::string_view query,
                                                      std::initializer_list<const char*> allowed);
// "%2F" -> "/"; a '%' not followed by two hex digits is an error. '+' stays.
Result<std::string> percentDecode(std::string_view text);
// A decimal unsigned integer (no sign, no spaces, no leading '+'), at most `max`.
Result<uint64_t> parseUint(std::string_view text, const std::string& what, uint64_t max);
// "true" | "false"
Result<bool> parseBool(std::string_view text, const std::string& what);

}  // namespace sg::console::api
