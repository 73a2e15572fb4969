// libFuzzer target for the REST API's request parsing (src/console/api_body.h):
// the bytes go to every body parser, and as a query string and a path
// capture. Nothing may crash or exhaust memory; every refusal is
// kInvalidArgument (a 400, never a 500); what parses holds its invariants (a
// policy passes validatePolicy, a source survives its own round trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "console/api_body.h"
#include "console/web_static.h"
#include "proto/field_reader.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

template <typename T>
void refusedAs400(const sg::Result<T>& r) {
  if (!r.ok()) require(r.error().code() == sg::Errc::kInvalidArgument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = sg::console::api;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto block = api::parseBlockBody(bytes);
  refusedAs400(block);
  if (block.ok()) {
    auto again = sg::parsePrefix(sg::proto::prefixText(block->source));
    require(again.ok() && *again == block->source);
    require(!block->ttl || block->ttl->count() > 0);
    require(block->reason.size() <= api::kMaxReasonBytes);
  }
  refusedAs400(api::parseIsolateBody(bytes));
  refusedAs400(api::parseEscalateBody(bytes));
  refusedAs400(api::parseEmptyBody(bytes));
  auto policy = api::parsePolicyBody("fuzz", bytes);
  refusedAs400(policy);
  if (policy.ok()) require(sg::console::validatePolicy(*policy).ok());
  auto token = api::parseTokenBody(bytes);
  refusedAs400(token);
  if (token.ok()) require(!token->name.empty() && token->name.size() <= api::kMaxTokenNameBytes);
  auto enroll = api::parseEnrollmentTokenBody(bytes);
  refusedAs400(enroll);
  if (enroll.ok()) require(sg::console::validateLabels(enroll->labels).ok());

  // The dashboard's bodies (docs/dashboard.md).
  auto session = api::parseSessionBody(bytes);
  refusedAs400(session);
  if (session.ok()) require(session->size() <= 256);
  auto ack = api::parseAcknowledgeBody(bytes);
  refusedAs400(ack);
  if (ack.ok()) require(ack->size() <= api::kMaxNoteBytes);
  auto preview = api::parsePolicyPreviewBody(bytes);
  refusedAs400(preview);
  if (preview.ok()) {
    require(!preview->name.empty());
    require(preview->remove || (sg::console::validatePolicy(preview->policy).ok() &&
                                preview->policy.name == preview->name));
  }
  // And what the static files' resolver makes of a path: nothing with a
  // "." segment, a NUL or a backslash is ever resolved.
  if (auto rel = sg::console::webRelativePath("/" + std::string(bytes))) {
    require(rel->find('\0') == std::string::npos && rel->find('\\') == std::string::npos);
    require(rel->find("/.") == std::string::npos && (rel->empty() || (*rel)[0] != '.'));
  }

  refusedAs400(api::parseQuery(bytes, {"after", "before", "limit", "q", "all"}));
  refusedAs400(api::percentDecode(bytes));
  refusedAs400(api::parseUint(bytes, "n", 1000));
  return 0;
}
