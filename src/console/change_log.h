// The recent changes of the desired state, for deltas: each entry is one op at
// one version, for every endpoint (target "") or for one. Bounded: the oldest
// entries go first, and an endpoint whose applied version is older than what
// the log still holds gets a snapshot instead of a delta.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.h"

namespace sg::console {

struct Change {
  uint64_t version = 0;
  std::string target;  // "" = every endpoint
  proto::DeltaOp op;   // block_add carries its expiry in `expires_at_ns`, not op.block
  std::optional<uint64_t> expires_at_ns;  // console clock; nullopt = permanent
};

class ChangeLog {
 public:
  explicit ChangeLog(size_t capacity, uint64_t floor_version = 0)
      : capacity_(capacity), floor_(floor_version) {}

  void append(Change change);
  // Changes for `endpoint` with from < version <= to, oldest first; nullopt
  // when the log no longer reaches back to `from`.
  std::optional<std::vector<const Change*>> since(const std::string& endpoint, uint64_t from,
                                                  uint64_t to) const;
  // Versions up to this are no longer (or were never) in the log.
  uint64_t floor() const { return floor_; }
  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  uint64_t floor_;
  std::deque<Change> entries_;
};

}  // namespace sg::console
