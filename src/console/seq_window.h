// Which report sequence numbers of one endpoint were seen, for idempotent
// ingest: the highest seq and a 64-bit map of those just below it (as IPsec's
// anti-replay window). A seq more than 64 below the highest counts as seen:
// it is dropped as a duplicate (and counted by the caller).
#pragma once

#include <cstdint>

namespace sg::console {

class SeqWindow {
 public:
  static constexpr uint64_t kWidth = 64;

  // True the first time `seq` (>= 1) is offered; false for a repeat or a seq
  // too old to tell.
  bool accept(uint64_t seq);
  bool seen(uint64_t seq) const;
  uint64_t highest() const { return highest_; }
  // Every seq up to this was accepted (what an agent may drop from its queue).
  uint64_t contiguous() const { return contiguous_; }
  // After a restart: everything up to `seq` counts as seen.
  void restore(uint64_t seq);

 private:
  uint64_t highest_ = 0;
  uint64_t bits_ = 0;  // bit i: highest_ - i was seen
  uint64_t contiguous_ = 0;
};

}  // namespace sg::console
