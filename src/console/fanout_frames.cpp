#include "console/fanout_frames.h"

#include "proto/codec.h"

namespace sg::console {

std::shared_ptr<const std::string> FanoutFrames::frame(const proto::ConsoleMessage& message,
                                                       uint32_t version) {
  for (const Kept& k : kept_) {
    if (k.version == version && k.message == message) return k.bytes;
  }
  ++encoded_;
  auto bytes = std::make_shared<const std::string>(proto::encode(message, version));
  if (kept_.size() < max_kept_) kept_.push_back(Kept{version, message, bytes});
  return bytes;
}

}  // namespace sg::console
