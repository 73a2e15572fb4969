// ErrorOnce: the failures of one operation that the agent works around
// (a hand-off that fails leaves XDP dropping, ...). Each is counted by the
// caller; only the first of a run is worth a log line, and the success that
// ends the run says how many failed in it. So a broken enforcer costs two
// lines, not one per block or per scrape.
#pragma once

#include <cstdint>

namespace sg::agent {

class ErrorOnce {
 public:
  // A failure: true when it starts a run (log it).
  bool failed() { return run_++ == 0; }
  // A success: the failures of the run it ends (0: none, nothing to log).
  uint64_t succeeded() {
    uint64_t n = run_;
    run_ = 0;
    return n;
  }

 private:
  uint64_t run_ = 0;
};

}  // namespace sg::agent
