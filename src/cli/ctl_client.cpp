// ctl's connection: the console's URL, token and CA from flags, environment
// or defaults; one HTTPS request per call.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/ctl.h"
#include "net/https_client.h"

namespace sg::cli::ctl {

namespace {

// The first of: the flag, the environment variable, the default.
std::string pick(const std::string& flag, const Env& env, const char* var, const char* fallback) {
  if (!flag.empty()) return flag;
  const char* v = env ? env(var) : nullptr;
  if (v != nullptr && *v != '\0') return v;
  return fallback;
}

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Error badUrl(const std::string& url, const std::string& why) {
  return makeError(Errc::kInvalidArgument,
                   "console URL '" + url + "': " + why + " (e.g. https://127.0.0.1:8443)");
}

}  // namespace

Result<Settings> parseConsoleUrl(const std::string& url) {
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) return badUrl(url, "must start with https://");
  std::string rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return badUrl(url, "no path allowed");
  Settings s;
  s.url = url;
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos) return badUrl(url, "unclosed [");
    s.host = rest.substr(1, close - 1);
    std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return badUrl(url, "junk after ]");
      port_text = after.substr(1);
      if (port_text.empty()) return badUrl(url, "empty port");
    }
  } else {
    size_t colon = rest.find(':');
    s.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return badUrl(url, "empty port");
    }
  }
  if (s.host.empty()) return badUrl(url, "no host");
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) {
      return badUrl(url, "bad port");
    }
    int port = std::stoi(port_text);
    if (port < 1 || port > 65535) return badUrl(url, "bad port");
    s.port = static_cast<uint16_t>(port);
  }
  return s;
}

Result<Settings> resolveSettings(const Flags& flags, const Env& env, const ReadFile& read_file) {
  SG_READ(s, parseConsoleUrl(pick(flags.console, env, "SYN_GUARD_CONSOLE", kDefaultConsole)));
  const std::string token_file =
      pick(flags.token_file, env, "SYN_GUARD_TOKEN_FILE", kDefaultTokenFile);
  auto token = read_file(token_file);
  if (!token) {
    return makeError(Errc::kInvalidArgument, "cannot read the API token from " + token_file + " (" +
                                                 token.error().message() +
                                                 "); give --token-file or SYN_GUARD_TOKEN_FILE");
  }
  s->token = trimmed(*token);
  if (s->token.empty() || s->token.find_first_of(" \t\r\n") != std::string::npos) {
    return makeError(Errc::kInvalidArgument,
                     "the token file " + token_file + " does not hold one token on one line");
  }
  const std::string ca_file = pick(flags.ca_file, env, "SYN_GUARD_CA_FILE", kDefaultCaFile);
  auto ca = read_file(ca_file);
  if (!ca) {
    return makeError(Errc::kInvalidArgument, "cannot read the console's CA from " + ca_file + " (" +
                                                 ca.error().message() +
                                                 "); give --ca-file or SYN_GUARD_CA_FILE");
  }
  s->ca_pem = *ca;
  return std::move(*s);
}

Transport httpsTransport() {
  return [](const Settings& s, const Request& r) -> Result<Reply> {
    net::HttpsTarget target;
    target.host = s.host;
    target.port = s.port;
    target.tls.ca_pem = s.ca_pem;
    SG_READ(reply, net::httpsRequest(target, r.method, r.path, r.body, "Bearer " + s.token));
    return Reply{reply->status, std::move(reply->body)};
  };
}

Io defaultIo() {
  Io io;
  io.transport = httpsTransport();
  io.env = [](const char* name) -> const char* { return std::getenv(name); };
  io.read_file = [](const std::string& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(Errc::kNotFound, "no such file or not readable");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (ss.str().size() > 1024 * 1024) return makeError(Errc::kInvalidArgument, "over 1 MiB");
    return ss.str();
  };
  io.out = &std::cout;
  io.err = &std::cerr;
  return io;
}

}  // namespace sg::cli::ctl
