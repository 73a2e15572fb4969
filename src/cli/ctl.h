// `syn-guard ctl`: the operator's CLI over the console's REST API
// (docs/api.md). A thin client: it finds the console, its token and its CA,
// sends one request per command (the audit log: pages), and prints the
// answer as an aligned table or, with --json, as the API's items.
//
// Exit codes: 0 done; 2 the user's mistake (bad flags, a 4xx from the API,
// an unreadable token or CA file); 1 the console is unreachable or failed
// (connection, TLS, 5xx, an answer that is not JSON).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "core/result.h"

namespace sg::cli::ctl {

// The local console's defaults (`syn-guard console` with no arguments).
constexpr const char* kDefaultConsole = "https://127.0.0.1:8443";
constexpr const char* kDefaultTokenFile = "/var/lib/syn-guard/console/admin.token";
constexpr const char* kDefaultCaFile = "/var/lib/syn-guard/console/ca.crt";

// What the flags said (empty: not given).
struct Flags {
  std::string console;
  std::string token_file;
  std::string ca_file;
};

// Where and how to talk to the console, resolved from the flags, then the
// environment (SYN_GUARD_CONSOLE, SYN_GUARD_TOKEN_FILE, SYN_GUARD_CA_FILE),
// then the defaults above.
struct Settings {
  std::string url;  // as given, for messages
  std::string host;
  uint16_t port = 8443;
  std::string token;   // the API token, without "Bearer "
  std::string ca_pem;  // trusted CA
};

using Env = std::function<const char*(const char*)>;
using ReadFile = std::function<Result<std::string>(const std::string& path)>;

// "https://host[:port][/]", host a name, an IPv4 address or [IPv6].
Result<Settings> parseConsoleUrl(const std::string& url);
// kInvalidArgument for a bad URL or an unreadable/empty token or CA file.
Result<Settings> resolveSettings(const Flags& flags, const Env& env, const ReadFile& read_file);

struct Request {
  std::string method;
  std::string path;  // with its query
  std::string body;
};
struct Reply {
  int status = 0;
  std::string body;
};
// Sends one request; an error only when no reply came (unreachable, TLS).
using Transport = std::function<Result<Reply>(const Settings&, const Request&)>;
Transport httpsTransport();

// Everything ctl touches outside itself, so its tests run without a console.
struct Io {
  Transport transport;
  Env env;
  ReadFile read_file;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};
Io defaultIo();

// Adds `ctl` and its subcommands to `app`.
void registerCtlWith(CLI::App& app, int* exit_code, std::shared_ptr<Io> io);

// ---- printing (ctl_print.cpp)

// The fleet line of GET /v1/port-floods ("" when no port flood is active).
std::string formatPortFleet(const nlohmann::json& fleet);

// An aligned table of a list's items: kind is "endpoints", "floods", "port-floods",
// "blocks", "incidents", "policies" or "audit". `all_floods` adds the
// floods' ACTIVE column. An empty list prints "no <kind>".
std::string formatTable(const std::string& kind, const nlohmann::json& items,
                        bool all_floods = false);
// Percent-encodes everything but letters, digits and "-._~:" (for a path
// segment: a prefix's '/' becomes %2F).
std::string encodeSegment(const std::string& text);

}  // namespace sg::cli::ctl
