#include "agent/console_enroll.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "files/state_file.h"
#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/key.h"
#include "pki/pin.h"
#include "pki/token.h"

namespace sg::agent {
namespace {

constexpr unsigned kSecretMode = 0600;

const char* const kKeyFile = "agent.key";
const char* const kCertFile = "agent.crt";
const char* const kCaFile = "ca.crt";
const char* const kConsoleFile = "console.json";

std::string pathIn(const std::string& dir, const char* file) { return dir + "/" + file; }

Result<void> ensureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(Errc::kIo, "creating " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Error(Errc::kIo, "chmod 0700 " + dir + ": " + std::strerror(errno));
  }
  return Ok{};
}

Result<std::string> readPart(const std::string& dir, const char* file) {
  auto text = readSmallFile(pathIn(dir, file));
  if (!text) {
    if (text.error().code() == Errc::kNotFound) {
      return Error(Errc::kNotFound, pathIn(dir, file) +
                                        " is missing: the credentials are incomplete (enroll "
                                        "again with a new token)");
    }
    return text.error().context(pathIn(dir, file));
  }
  return text;
}

}  // namespace

Result<ConsoleUrl> parseConsoleUrl(std::string_view text) {
  const std::string_view scheme = "https://";
  if (text.substr(0, scheme.size()) != scheme) {
    return Error(Errc::kInvalidArgument, "console URL must start with https://");
  }
  std::string_view rest = text.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos || rest.find('@') != std::string_view::npos) {
    return Error(Errc::kInvalidArgument, "console URL: expected https://HOST[:PORT], no path");
  }
  ConsoleUrl out;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Error(Errc::kInvalidArgument, "console URL: no ']' after the IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':' || after.size() == 1) {
        return Error(Errc::kInvalidArgument, "console URL: bad port");
      }
      port = after.substr(1);
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return Error(Errc::kInvalidArgument, "console URL: write an IPv6 address in brackets");
    }
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return Error(Errc::kInvalidArgument, "console URL: bad port");
    }
  }
  if (out.host.empty()) return Error(Errc::kInvalidArgument, "console URL: no host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
      return Error(Errc::kInvalidArgument, "console URL: bad port");
    }
    const int value = std::stoi(std::string(port));
    if (value == 0 || value > 65535) return Error(Errc::kInvalidArgument, "console URL: bad port");
    out.port = static_cast<uint16_t>(value);
  }
  const bool v6 = out.host.find(':') != std::string::npos;
  out.text = "https://" + (v6 ? "[" + out.host + "]" : out.host) + ":" + std::to_string(out.port);
  return out;
}

std::string defaultEndpointName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

Result<std::optional<ConsoleCredentials>> loadCredentials(const std::string& state_dir) {
  auto meta = readSmallFile(pathIn(state_dir, kConsoleFile));
  if (!meta) {
    if (meta.error().code() == Errc::kNotFound) return std::optional<ConsoleCredentials>{};
    return meta.error().context(pathIn(state_dir, kConsoleFile));
  }
  auto j = nlohmann::json::parse(*meta, nullptr, /*allow_exceptions=*/false);
  auto str = [&j](const char* key) -> std::string {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
    return j[key].get<std::string>();
  };
  ConsoleCredentials c;
  c.url = str("url");
  c.name = str("name");
  c.token_sha256 = str("token_sha256");
  if (c.url.empty() || c.name.empty()) {
    return Error(Errc::kInvalidArgument,
                 pathIn(state_dir, kConsoleFile) + ": expected {\"url\",\"name\",...}");
  }
  SG_READ(key, readPart(state_dir, kKeyFile));
  SG_READ(cert, readPart(state_dir, kCertFile));
  SG_READ(ca, readPart(state_dir, kCaFile));
  c.key_pem = *key;
  c.cert_pem = *cert;
  c.ca_pem = *ca;
  return std::optional<ConsoleCredentials>{std::move(c)};
}

Result<void> saveCredentials(const std::string& state_dir, const ConsoleCredentials& c) {
  SG_TRY(ensureDir(state_dir));
  // console.json marks the set complete: gone while the parts are replaced,
  // written last, so a failure half-way never pairs a new key with an old
  // certificate (the agent then says it is not enrolled).
  if (::unlink(pathIn(state_dir, kConsoleFile).c_str()) != 0 && errno != ENOENT) {
    return Error(Errc::kIo,
                 "removing " + pathIn(state_dir, kConsoleFile) + ": " + std::strerror(errno));
  }
  SG_TRY(writeFileAtomic(pathIn(state_dir, kKeyFile), c.key_pem, kSecretMode));
  SG_TRY(writeFileAtomic(pathIn(state_dir, kCertFile), c.cert_pem, kSecretMode));
  SG_TRY(writeFileAtomic(pathIn(state_dir, kCaFile), c.ca_pem, kSecretMode));
  nlohmann::json meta{{"url", c.url}, {"name", c.name}, {"token_sha256", c.token_sha256}};
  return writeFileAtomic(pathIn(state_dir, kConsoleFile), meta.dump(2) + "\n", kSecretMode);
}

Result<ConsoleCredentials> enroll(const EnrollRequest& request, const EnrollPost& post) {
  SG_READ(url, parseConsoleUrl(request.url));
  auto token = pki::parseToken(request.token);
  if (!token) return token.error().context("--enroll");
  if (token->kind != pki::TokenKind::kEnrollment) {
    return Error(Errc::kInvalidArgument, "--enroll: an API token (sgA_), not an enrollment token");
  }
  const std::string name = request.name.empty() ? defaultEndpointName() : request.name;
  if (auto v = validateEndpointName(name); !v) return v.error().context("--name");
  const std::string token_hash = pki::secretHash(token->secret);
  SG_READ(existing, loadCredentials(request.state_dir));
  if (*existing && (*existing)->token_sha256 == token_hash) {
    return Error(Errc::kAlreadyExists, "already enrolled with this token as '" + (*existing)->name +
                                           "' at " + (*existing)->url +
                                           ": start without --enroll (a new token re-enrolls)");
  }
  SG_READ(key, pki::generateEcKey());
  SG_READ(csr, pki::makeCsr(*key, name));
  SG_READ(csr_pem, pki::csrToPem(*csr));
  SG_READ(key_pem, pki::keyToPem(*key));

  net::HttpsTarget target;
  target.host = url->host;
  target.port = url->port;
  target.tls.ca_pin = token->ca_pin;
  const nlohmann::json body{{"token", request.token}, {"csr", *csr_pem}, {"name", name}};
  auto reply = post ? post(target, "/v1/enroll", body.dump())
                    : net::httpsRequest(target, "POST", "/v1/enroll", body.dump());
  if (!reply) return reply.error().context("enrolling with " + url->text);
  SG_READ(answer, parseEnrollAnswer(reply->status, reply->body, "enrolling with " + url->text));
  ConsoleCredentials creds{url->text,        answer->name,   *key_pem,
                           answer->cert_pem, answer->ca_pem, token_hash};
  // The CA to trust from now on must be the one the token pinned.
  auto ca = pki::certFromPem(creds.ca_pem);
  if (!ca || !pki::pinMatches(ca->get(), token->ca_pin)) {
    return Error(Errc::kUnavailable, "enrolling with " + url->text +
                                         ": the CA in the reply is not the one the token pins");
  }
  SG_TRY(saveCredentials(request.state_dir, creds));
  return creds;
}

}  // namespace sg::agent
