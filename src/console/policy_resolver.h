// PolicyResolver: which threshold profile an endpoint runs. A policy attaches
// a profile (threshold, window, block duration, enforcer) to a label
// selector; a selector lists labels (name, dept, type, org) that must all
// match the endpoint's. Of the matching policies the most specific wins:
//   1. the one whose most specific label is more specific, in the order
//      name > dept > type > org (then the next label, and so on: selectors
//      compare as 4-bit masks name=8, dept=4, type=2, org=1);
//   2. then the newest (highest revision: the desired-state version that set it);
//   3. then the lexically smallest policy name.
// An empty selector matches every endpoint (a fleet-wide default); with no
// match the console's default profile applies, named "default".
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "proto/messages.h"

namespace sg::console {

// Endpoint labels by key: "org", "type", "dept" (the endpoint's name is apart).
using Labels = std::map<std::string, std::string>;

struct Policy {
  std::string name;
  Labels selector;              // keys: name, dept, type, org
  proto::PolicyParams profile;  // profile.name is set to `name`
  uint64_t revision = 0;        // set by whoever stores it (DesiredState: its version)
  bool operator==(const Policy&) const = default;
};

// The labels a selector may use, most specific first.
extern const char* const kSelectorKeys[4];

Result<void> validateLabels(const Labels& labels);  // endpoint labels: org, type, dept
Result<void> validatePolicy(const Policy& policy);
Result<void> validateProfile(const proto::PolicyParams& profile);

class PolicyResolver {
 public:
  explicit PolicyResolver(proto::PolicyParams defaults);

  Result<void> set(Policy policy);  // adds or replaces by name
  bool remove(const std::string& name);

  // The profile for one endpoint (its name and labels).
  proto::PolicyParams resolve(const std::string& endpoint, const Labels& labels) const;
  const Policy* find(const std::string& name) const;
  std::vector<Policy> list() const;  // by name

 private:
  static bool matches(const Policy& p, const std::string& endpoint, const Labels& labels);
  static unsigned specificity(const Policy& p);

  proto::PolicyParams defaults_;
  std::map<std::string, Policy> policies_;
};

}  // namespace sg::console
