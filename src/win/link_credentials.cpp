#include "win/link_credentials.h"

#include <nlohmann/json.hpp>

#include "files/state_file.h"
#include "win/csr_der.h"

namespace sg::win {

Result<ConsoleEndpoint> parseConsoleEndpoint(const std::string& url) {
  const std::string scheme = "https://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    return Error(Errc::kInvalidArgument, "console URL must start with https://");
  }
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find_first_of("/@") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "console URL: expected https://HOST[:PORT], no path");
  }
  ConsoleEndpoint out;
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) {
      return Error(Errc::kInvalidArgument, "console URL: no ']' after the IPv6 address");
    }
    out.host = rest.substr(1, close - 1);
    const std::string after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return Error(Errc::kInvalidArgument, "console URL: bad port");
    }
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t colon = rest.find(':');
    if (colon != std::string::npos && rest.find(':', colon + 1) != std::string::npos) {
      return Error(Errc::kInvalidArgument, "console URL: write an IPv6 address in brackets");
    }
    out.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return Error(Errc::kInvalidArgument, "console URL: bad port");
    }
  }
  if (out.host.empty()) return Error(Errc::kInvalidArgument, "console URL: no host");
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port) == 0 || std::stoi(port) > 65535) {
      return Error(Errc::kInvalidArgument, "console URL: bad port");
    }
    out.port = static_cast<uint16_t>(std::stoi(port));
  }
  return out;
}

namespace {

Result<std::string> readPart(const std::string& state_dir, const char* file) {
  auto text = readSmallFile(state_dir + "/" + file);
  if (!text.ok()) {
    return Error(text.error().code(), state_dir + "/" + file +
                                          ": the credentials are incomplete (" +
                                          text.error().message() + ")");
  }
  return text;
}

// agent.key (PEM), else the sealed agent.key.dpapi.
Result<std::string> readKey(const std::string& state_dir, const KeyUnsealer& unseal) {
  auto plain = readSmallFile(state_dir + "/agent.key");
  if (plain.ok() || plain.error().code() != Errc::kNotFound)
    return readPart(state_dir, "agent.key");
  auto sealed = readSmallFile(state_dir + "/agent.key.dpapi");
  if (!sealed.ok()) {
    return Error(sealed.error().code(),
                 state_dir + "/agent.key (or agent.key.dpapi): the credentials are incomplete (" +
                     sealed.error().message() + ")");
  }
  if (!unseal) {
    return Error(Errc::kInvalidArgument,
                 state_dir + "/agent.key.dpapi: a sealed key, readable only on its Windows host");
  }
  auto der = unseal(*sealed);
  if (!der.ok()) return der.error().context(state_dir + "/agent.key.dpapi");
  return der::toPem(*der, "PRIVATE KEY");
}

}  // namespace

Result<void> checkKeyMatchesCert(const LinkCredentials& creds) {
  auto key = der::fromPem(creds.key_pem, "PRIVATE KEY");
  auto point = key.ok() ? der::pkcs8P256Point(*key) : Result<std::string>(key.error());
  if (!point.ok()) return Ok{};
  SG_READ(spki, der::p256Spki(*point));
  auto cert = der::fromPem(creds.cert_pem, "CERTIFICATE");
  auto cert_spki = cert.ok() ? der::certSpki(*cert) : Result<std::string>(cert.error());
  if (!cert_spki.ok()) return cert_spki.error().context("agent.crt");
  if (*cert_spki != *spki) {
    return Error(Errc::kInvalidArgument,
                 "agent.key is not the key of agent.crt: enroll again with a new token");
  }
  return Ok{};
}

Result<std::optional<LinkCredentials>> loadLinkCredentials(const std::string& state_dir,
                                                           const KeyUnsealer& unseal) {
  const std::string meta_path = state_dir + "/console.json";
  auto meta = readSmallFile(meta_path);
  if (!meta.ok()) {
    if (meta.error().code() == Errc::kNotFound) return std::optional<LinkCredentials>{};
    return meta.error();
  }
  auto j = nlohmann::json::parse(*meta, nullptr, /*allow_exceptions=*/false);
  LinkCredentials c;
  if (j.is_object() && j.contains("url") && j["url"].is_string() && j.contains("name") &&
      j["name"].is_string()) {
    c.url = j["url"].get<std::string>();
    c.name = j["name"].get<std::string>();
    if (j.contains("token_sha256") && j["token_sha256"].is_string()) {
      c.token_sha256 = j["token_sha256"].get<std::string>();
    }
  }
  if (c.url.empty() || c.name.empty()) {
    return Error(Errc::kInvalidArgument, meta_path + ": expected {\"url\",\"name\",...}");
  }
  SG_READ(ca, readPart(state_dir, "ca.crt"));
  SG_READ(cert, readPart(state_dir, "agent.crt"));
  SG_READ(key, readKey(state_dir, unseal));
  c.ca_pem = *ca;
  c.cert_pem = *cert;
  c.key_pem = *key;
  return std::optional<LinkCredentials>{std::move(c)};
}

}  // namespace sg::win
