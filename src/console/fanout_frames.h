// FanoutFrames: the messages of one fan-out, each encoded once and shared.
// A global block reaches 10,000 links as 10,000 equal deltas; encoding each
// (JSON, envelope) under the service's lock cost more than queuing it. Here
// a message equal to one already seen gets that one's bytes: every link then
// holds a reference to one immutable buffer until its write completes.
// Equal messages encode to equal bytes (the codec is deterministic), so
// sharing never changes what an agent receives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proto/messages.h"

namespace sg::console {

class FanoutFrames {
 public:
  // Up to `max_kept` distinct messages are remembered (compared one by one:
  // a fan-out has a few — one delta per version the links were at, a
  // snapshot for each endpoint too far behind); later ones are encoded each.
  explicit FanoutFrames(size_t max_kept = 8) : max_kept_(max_kept) {}

  // `version`: the link's protocol version (its hello's), which the
  // envelope carries: links at different versions never share bytes.
  std::shared_ptr<const std::string> frame(const proto::ConsoleMessage& message, uint32_t version);
  // Messages encoded so far (equal ones count once).
  size_t encoded() const { return encoded_; }

 private:
  size_t max_kept_;
  struct Kept {
    uint32_t version;
    proto::ConsoleMessage message;
    std::shared_ptr<const std::string> bytes;
  };
  std::vector<Kept> kept_;
  size_t encoded_ = 0;
};

}  // namespace sg::console
