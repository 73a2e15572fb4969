// ConsoleService: API-token authentication, token issuing and agent
// enrollment (a one-time token + the agent's CSR -> its client certificate).
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "console/service_impl.h"
#include "console/service_tokens.h"
#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/hex.h"
#include "pki/token.h"

namespace sg::console {

namespace {

Error unauthenticated(const std::string& why) { return makeError(Errc::kUnauthenticated, why); }

// Why the CSR's key may not be an agent's ("" when it may): an EC key on
// P-256 (what agents make) or P-384.
std::string csrKeyProblem(const pki::X509Req& csr) {
  EVP_PKEY* pub = X509_REQ_get0_pubkey(csr.get());
  if (pub == nullptr) return "no public key";
  if (EVP_PKEY_is_a(pub, "EC") != 1) return "the key must be EC P-256 or P-384";
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pub, group, sizeof group, &len) != 1) return "unknown EC curve";
  const std::string g(group, len);
  if (g != "prime256v1" && g != "secp384r1") return "the key must be EC P-256 or P-384";
  return "";
}

// SHA-256 of the certificate's DER, hex: what the TLS layer reports as
// PeerInfo::cert_sha256 for the same certificate.
Result<std::string> certSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) {
    return makeError(Errc::kIo, "certificate digest failed");
  }
  return pki::toHex(md, len);
}

}  // namespace

Result<Actor> ConsoleServiceImpl::authenticate(const std::string& authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    ++counters_.auth_failures;
    return unauthenticated("missing Authorization: Bearer token");
  }
  if (authorization.compare(0, kBearer.size(), kBearer) != 0) {
    ++counters_.auth_failures;
    return unauthenticated("Authorization must be 'Bearer sgA_...'");
  }
  auto token = pki::parseToken(std::string_view(authorization).substr(kBearer.size()));
  if (!token || token->kind != pki::TokenKind::kApi) {
    ++counters_.auth_failures;
    return unauthenticated(token ? "not an API token" : token.error().message());
  }
  const std::string hash = pki::secretHash(token->secret);
  std::lock_guard<std::mutex> lock(mu_);
  auto record = store_->findApiToken(hash);
  if (!record) {
    ++counters_.auth_failures;
    if (record.error().code() == Errc::kNotFound) return unauthenticated("unknown API token");
    return record.error();
  }
  if (!pki::constantTimeEqual(record->token_hash, hash) || record->revoked) {
    ++counters_.auth_failures;
    return unauthenticated("unknown API token");
  }
  return Actor{record->name, record->role};
}

Result<std::string> ConsoleServiceImpl::createApiToken(const Actor& who, const std::string& name,
                                                       Role role) {
  SG_TRY(requireRole(who, Role::kAdmin, "token create"));
  std::lock_guard<std::mutex> lock(mu_);
  SG_READ(token, issueApiToken(*store_, name, role, wall_()));
  SG_TRY(auditLocked(who.name, "api_token_create", name, roleName(role)));
  return std::move(*token);
}

Result<std::string> ConsoleServiceImpl::createEnrollmentToken(const Actor& who,
                                                              const Labels& labels,
                                                              std::optional<Nanos> ttl) {
  SG_TRY(requireRole(who, Role::kAdmin, "enrollment token create"));
  std::lock_guard<std::mutex> lock(mu_);
  const Nanos life = ttl.value_or(options_.enrollment_ttl);
  SG_READ(token, issueEnrollmentToken(*store_, ca_pin_, labels, life, wall_()));
  std::string details;
  for (const auto& [k, v] : labels) details += (details.empty() ? "" : ",") + k + "=" + v;
  SG_TRY(auditLocked(who.name, "enrollment_token_create", "", details));
  return std::move(*token);
}

Result<EnrollResult> ConsoleServiceImpl::enroll(const std::string& token_text,
                                                const std::string& csr_pem,
                                                const std::string& name) {
  auto fail = [this](Error e) {
    ++counters_.enroll_failures;
    return e;
  };
  if (!validEndpointName(name)) {
    return fail(makeError(Errc::kInvalidArgument, "name must be [A-Za-z0-9._-]{1,64}"));
  }
  auto token = pki::parseToken(token_text);
  if (!token) return fail(unauthenticated(token.error().message()));
  if (token->kind != pki::TokenKind::kEnrollment)
    return fail(unauthenticated("not an enrollment token"));
  // The CSR (format, key, signature) is checked and the certificate made
  // before the token is spent, so a bad CSR leaves the token usable.
  auto csr = pki::csrFromPem(csr_pem);
  if (!csr) return fail(makeError(Errc::kInvalidArgument, "csr: " + csr.error().message()));
  if (auto why = csrKeyProblem(*csr); !why.empty()) {
    return fail(makeError(Errc::kInvalidArgument, "csr: " + why));
  }
  auto cert = pki::signCsr(ca_cert_, ca_key_, *csr, name);
  if (!cert) return fail(makeError(Errc::kInvalidArgument, "csr: " + cert.error().message()));
  SG_READ(pem, pki::certToPem(cert->get()));
  SG_READ(hash, certSha256(cert->get()));

  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now_ms = wall_();
  EndpointRecord fresh;
  fresh.name = name;
  fresh.credential_hash = *hash;
  fresh.enrolled_at_ms = now_ms;
  // One transaction decides, whatever this console's records say (another
  // console may have enrolled or revoked the name): the token is spent and
  // the endpoint written only when the name is free or revoked.
  auto stored = store_->enrollEndpoint(pki::secretHash(token->secret), now_ms, std::move(fresh));
  if (!stored) {
    if (stored.error().code() == Errc::kNotFound) {
      return fail(unauthenticated("unknown enrollment token"));
    }
    return fail(stored.error());  // kPermissionDenied: used or expired; kAlreadyExists
  }
  const EndpointRecord& r = *stored;
  // An older link of that name (a revoked credential) goes.
  if (auto l = link_of_.find(name); l != link_of_.end()) {
    dropLink(links_.find(l->second), kClosePolicy, "endpoint enrolled again: credential replaced");
  }
  records_[name] = r;
  dirty_.erase(name);
  // A fresh agent numbers its reports from 1 again.
  correlator_->restoreSeq(name, 0);
  SG_TRY(desired_->upsertEndpoint(name, r.labels));  // a revoked one's state went with it
  updateFleetSize();
  liveEndpoint(name);
  SG_TRY(saveVersion());
  std::string labels;
  for (const auto& [k, v] : r.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
  SG_TRY(auditLocked("agent:" + name, "enroll", name, labels));
  return EnrollResult{name, std::move(*pem), ca_pem_};
}

}  // namespace sg::console
