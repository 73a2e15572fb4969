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
  // The CSR is checked before the token is spent, so a bad one can be retried.
  auto csr = pki::csrFromPem(csr_pem);
  if (!csr) return fail(makeError(Errc::kInvalidArgument, "csr: " + csr.error().message()));

  std::lock_guard<std::mutex> lock(mu_);
  auto existing = records_.find(name);
  if (existing != records_.end() && !existing->second.revoked) {
    return fail(makeError(Errc::kAlreadyExists,
                          "endpoint '" + name + "' is enrolled (revoke it first to re-enroll)"));
  }
  const int64_t now_ms = wall_();
  auto consumed = store_->consumeEnrollmentToken(pki::secretHash(token->secret), now_ms);
  if (!consumed) {
    if (consumed.error().code() == Errc::kNotFound) {
      return fail(unauthenticated("unknown enrollment token"));
    }
    return fail(consumed.error());  // kPermissionDenied: used or expired
  }
  SG_READ(cert, pki::signCsr(ca_cert_, ca_key_, *csr, name));
  SG_READ(pem, pki::certToPem(cert->get()));
  SG_READ(hash, certSha256(cert->get()));

  EndpointRecord r;
  r.name = name;
  r.labels = consumed->labels;
  r.credential_hash = *hash;
  r.enrolled_at_ms = now_ms;
  SG_TRY(store_->putEndpoint(r));
  records_[name] = r;
  dirty_.erase(name);
  // A fresh agent numbers its reports from 1 again.
  correlator_->restoreSeq(name, 0);
  SG_TRY(desired_->upsertEndpoint(name, r.labels));  // a revoked one's state went with it
  updateFleetSize();
  SG_TRY(saveVersion());
  std::string labels;
  for (const auto& [k, v] : r.labels) labels += (labels.empty() ? "" : ",") + k + "=" + v;
  SG_TRY(auditLocked("agent:" + name, "enroll", name, labels));
  return EnrollResult{name, std::move(*pem), ca_pem_};
}

}  // namespace sg::console
