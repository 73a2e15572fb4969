#include "console/fanout_frames.h"

#include "proto/codec.h"

namespace sg::console {

std::shared_ptr<const std::string> FanoutFrames::frame(const proto::ConsoleMessage& message) {
  for (const auto& [kept, bytes] : kept_) {
    if (kept == message) return bytes;
  }
  ++encoded_;
  auto bytes = std::make_shared<const std::string>(proto::encode(message));
  if (kept_.size() < max_kept_) kept_.emplace_back(message, bytes);
  return bytes;
}

}  // namespace sg::console
