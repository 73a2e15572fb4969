#include "console/policy_resolver.h"

#include "proto/limits.h"

namespace sg::console {

const char* const kSelectorKeys[4] = {"name", "dept", "type", "org"};

namespace {

unsigned keyWeight(const std::string& key) {
  for (unsigned i = 0; i < 4; ++i) {
    if (key == kSelectorKeys[i]) return 8u >> i;
  }
  return 0;
}

Result<void> validValue(const std::string& key, const std::string& value) {
  if (value.empty() || value.size() > 64) {
    return makeError(Errc::kInvalidArgument, "label " + key + ": value empty or over 64 bytes");
  }
  return Ok{};
}

}  // namespace

Result<void> validateLabels(const Labels& labels) {
  for (const auto& [k, v] : labels) {
    if (k != "org" && k != "type" && k != "dept") {
      return makeError(Errc::kInvalidArgument, "unknown label '" + k + "' (org, type, dept)");
    }
    SG_TRY(validValue(k, v));
  }
  return Ok{};
}

Result<void> validateProfile(const proto::PolicyParams& p) {
  constexpr uint64_t kHourMs = 3600 * 1000;
  if (p.threshold < 1 || p.threshold > proto::kMaxThreshold) {
    return makeError(Errc::kInvalidArgument, "threshold must be 1..1000000");
  }
  if (p.window_ms < 1 || p.window_ms > kHourMs) {
    return makeError(Errc::kInvalidArgument, "window must be 1ms..1h");
  }
  if (p.block_duration_ms < 1 || p.block_duration_ms > 24 * kHourMs) {
    return makeError(Errc::kInvalidArgument, "block duration must be 1ms..24h");
  }
  return Ok{};
}

Result<void> validatePolicy(const Policy& p) {
  if (p.name.empty() || p.name.size() > proto::kMaxPolicyNameBytes || p.name == "default") {
    return makeError(Errc::kInvalidArgument,
                     "policy name empty, over 64 bytes or the reserved 'default'");
  }
  for (const auto& [k, v] : p.selector) {
    if (keyWeight(k) == 0) {
      return makeError(Errc::kInvalidArgument,
                       "unknown selector label '" + k + "' (name, dept, type, org)");
    }
    SG_TRY(validValue(k, v));
  }
  return validateProfile(p.profile);
}

PolicyResolver::PolicyResolver(proto::PolicyParams defaults) : defaults_(std::move(defaults)) {
  defaults_.name = "default";
}

Result<void> PolicyResolver::set(Policy policy) {
  SG_TRY(validatePolicy(policy));
  policy.profile.name = policy.name;
  policies_[policy.name] = std::move(policy);
  return Ok{};
}

bool PolicyResolver::remove(const std::string& name) { return policies_.erase(name) > 0; }

bool PolicyResolver::matches(const Policy& p, const std::string& endpoint, const Labels& labels) {
  for (const auto& [k, v] : p.selector) {
    if (k == "name") {
      if (v != endpoint) return false;
      continue;
    }
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

unsigned PolicyResolver::specificity(const Policy& p) {
  unsigned mask = 0;
  for (const auto& [k, v] : p.selector) mask |= keyWeight(k);
  return mask;
}

proto::PolicyParams PolicyResolver::resolve(const std::string& endpoint,
                                            const Labels& labels) const {
  const Policy* best = nullptr;
  for (const auto& [name, p] : policies_) {  // by name: ties keep the smallest
    if (!matches(p, endpoint, labels)) continue;
    if (best == nullptr || specificity(p) > specificity(*best) ||
        (specificity(p) == specificity(*best) && p.revision > best->revision)) {
      best = &p;
    }
  }
  return best ? best->profile : defaults_;
}

const Policy* PolicyResolver::find(const std::string& name) const {
  auto it = policies_.find(name);
  return it == policies_.end() ? nullptr : &it->second;
}

std::vector<Policy> PolicyResolver::list() const {
  std::vector<Policy> out;
  for (const auto& [name, p] : policies_) out.push_back(p);
  return out;
}

}  // namespace sg::console
