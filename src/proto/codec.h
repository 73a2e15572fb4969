// The one parser per direction of the agent <-> console protocol, and the
// encoders. A parser accepts exactly the messages docs/protocol.md describes
// for its direction and returns an error that says what is wrong with anything
// else: not JSON, too large or too deep, wrong protocol version, unknown type
// (or the other direction's), a missing, unknown or mistyped field, a list or
// string past its limit (limits.h), a value out of range.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "proto/messages.h"

namespace sg::proto {

// What the console accepts from an agent.
Result<AgentMessage> parseAgentMessage(std::string_view bytes);
// What an agent accepts from the console.
Result<ConsoleMessage> parseConsoleMessage(std::string_view bytes);
// The parsers' error was a version this side does not speak (the message's
// "v"): a console closes such a link with kCloseUnsupportedVersion.
bool isUnsupportedVersion(const Error& error);

// One JSON object, {"v":<version>,"type":...,...}. The caller keeps lists
// within limits.h; a message built within them stays under kMaxMessageBytes.
// A hello carries its own `protocol` as "v" (`version` is ignored for it);
// a report at version 1 leaves out port_floods (the caller strips them
// first: ConsoleLinkCore counts what a version-1 link cannot carry).
// Console messages have the same shape in versions 1 and 2.
std::string encode(const AgentMessage& message, uint32_t version = kProtocolVersion);
std::string encode(const ConsoleMessage& message, uint32_t version = kProtocolVersion);

// The "type" of a message, as on the wire ("hello", "snapshot", ...).
const char* typeName(const AgentMessage& message);
const char* typeName(const ConsoleMessage& message);

}  // namespace sg::proto
