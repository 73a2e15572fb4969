#include "win/enroll.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/enroll_answer.h"
#include "files/state_file.h"
#include "win/csr_der.h"

namespace sg::win {
namespace {

constexpr std::string_view kEnrollPrefix = "sgE_";
constexpr size_t kSecretChars = 43;
constexpr size_t kPinChars = 64;
constexpr unsigned kSecretMode = 0600;  // POSIX only; the directory's ACL on Windows

bool equalConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

Result<std::string> pinOf(const std::string& cert_pem, EnrollBackend& backend) {
  SG_READ(der, der::fromPem(cert_pem, "CERTIFICATE"));
  SG_READ(spki, der::certSpki(*der));
  return der::hex(backend.sha256(*spki));
}

// console.json last: while the parts are replaced it is gone, so a failure
// half-way never pairs a new key with an old certificate.
Result<void> save(const std::string& dir, const LinkCredentials& c, const std::string& sealed_key,
                  EnrollBackend& backend) {
  SG_TRY(backend.prepareStateDir(dir));
  std::error_code ec;
  std::filesystem::remove(dir + "/console.json", ec);
  if (ec) return Error(Errc::kIo, "removing " + dir + "/console.json: " + ec.message());
  std::filesystem::remove(dir + "/agent.key", ec);  // a plain key from an earlier set
  SG_TRY(writeFileAtomic(dir + "/" + kSealedKeyFile, sealed_key, kSecretMode));
  SG_TRY(writeFileAtomic(dir + "/agent.crt", c.cert_pem, kSecretMode));
  SG_TRY(writeFileAtomic(dir + "/ca.crt", c.ca_pem, kSecretMode));
  const nlohmann::json meta{{"url", c.url}, {"name", c.name}, {"token_sha256", c.token_sha256}};
  return writeFileAtomic(dir + "/console.json", meta.dump(2) + "\n", kSecretMode);
}

}  // namespace

Result<EnrollToken> parseEnrollToken(std::string_view text) {
  if (text.substr(0, kEnrollPrefix.size()) != kEnrollPrefix) {
    return Error(Errc::kInvalidArgument, "not an enrollment token: expected the prefix sgE_");
  }
  const std::string_view rest = text.substr(kEnrollPrefix.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return Error(Errc::kInvalidArgument, "enrollment token: no '.<ca pin>' after the secret");
  }
  EnrollToken t{std::string(rest.substr(0, dot)), std::string(rest.substr(dot + 1))};
  if (t.secret.size() != kSecretChars ||
      t.secret.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
          std::string::npos) {
    return Error(Errc::kInvalidArgument,
                 "enrollment token: the secret must be 43 base64url characters");
  }
  if (t.ca_pin.rfind("sha256:", 0) == 0) t.ca_pin.erase(0, 7);
  if (t.ca_pin.size() != kPinChars ||
      t.ca_pin.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    return Error(Errc::kInvalidArgument, "enrollment token: the CA pin must be 64 hex digits");
  }
  for (char& c : t.ca_pin) c = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  return t;
}

Result<LinkCredentials> enrollAgent(const EnrollRequest& request, EnrollBackend& backend) {
  SG_READ(endpoint, parseConsoleEndpoint(request.url));
  auto token = parseEnrollToken(request.token);
  if (!token.ok()) return token.error().context("--enroll");
  if (auto v = agent::validateEndpointName(request.name); !v.ok())
    return v.error().context("--name");
  const std::string token_hash = der::hex(backend.sha256(token->secret));
  // Only console.json is read: the key (sealed) and the rest are replaced.
  auto meta = readSmallFile(request.state_dir + "/console.json");
  auto existing = nlohmann::json::parse(meta.ok() ? *meta : std::string(), nullptr, false);
  if (existing.is_object() && existing.value("token_sha256", "") == token_hash) {
    return Error(Errc::kAlreadyExists, "already enrolled with this token as '" +
                                           existing.value("name", "") + "' at " +
                                           existing.value("url", "") +
                                           ": start without --enroll (a new token re-enrolls)");
  }

  SG_READ(key, backend.generateKey());
  SG_READ(info, der::csrInfo(request.name, key->point));
  SG_READ(signature, backend.sign(*key, *info));
  SG_READ(csr, der::csr(*info, *signature));
  const nlohmann::json body{{"token", request.token},
                            {"csr", der::toPem(*csr, "CERTIFICATE REQUEST")},
                            {"name", request.name}};
  auto reply = backend.post(*endpoint, token->ca_pin, body.dump());
  if (!reply.ok()) return reply.error().context("enrolling with " + request.url);
  SG_READ(answer,
          agent::parseEnrollAnswer(reply->status, reply->body, "enrolling with " + request.url));
  LinkCredentials creds;
  creds.url = request.url;
  creds.name = answer->name;
  creds.cert_pem = answer->cert_pem;
  creds.ca_pem = answer->ca_pem;
  creds.token_sha256 = token_hash;
  // The CA to trust from now on must be the one the token pinned, and the
  // certificate must carry the key made here.
  auto ca_pin = pinOf(creds.ca_pem, backend);
  if (!ca_pin.ok() || !equalConstantTime(*ca_pin, token->ca_pin)) {
    return Error(Errc::kUnavailable, "enrolling with " + request.url +
                                         ": the CA in the reply is not the one the token pins");
  }
  SG_READ(spki, der::p256Spki(key->point));
  auto cert_der = der::fromPem(creds.cert_pem, "CERTIFICATE");
  auto cert_spki = cert_der.ok() ? der::certSpki(*cert_der) : Result<std::string>(cert_der.error());
  if (!cert_spki.ok() || *cert_spki != *spki) {
    return Error(Errc::kUnavailable, "enrolling with " + request.url +
                                         ": the certificate in the reply is not for this key");
  }
  SG_READ(pkcs8, der::p256Pkcs8(key->scalar, key->point));
  SG_READ(sealed, backend.seal(*pkcs8));
  SG_TRY(save(request.state_dir, creds, *sealed, backend));
  creds.key_pem = der::toPem(*pkcs8, "PRIVATE KEY");
  return creds;
}

}  // namespace sg::win
