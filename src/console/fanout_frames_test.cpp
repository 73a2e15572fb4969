#include "console/fanout_frames.h"

#include <gtest/gtest.h>

#include "proto/codec.h"

namespace sg::console {
namespace {

proto::Delta blockDelta(uint64_t from, uint64_t to, const char* source,
                        std::optional<uint64_t> expires_in_ms = std::nullopt) {
  proto::DeltaOp op;
  op.kind = proto::OpKind::kBlockAdd;
  op.block.source = *parsePrefix(source);
  op.block.expires_in_ms = expires_in_ms;
  return proto::Delta{from, to, {op}};
}

TEST(FanoutFrames, EqualMessagesShareOneEncoding) {
  FanoutFrames frames;
  auto a = frames.frame(blockDelta(4, 5, "192.0.2.7"), proto::kProtocolVersion);
  auto b = frames.frame(blockDelta(4, 5, "192.0.2.7"), proto::kProtocolVersion);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(frames.encoded(), 1u);
  EXPECT_EQ(*a, proto::encode(blockDelta(4, 5, "192.0.2.7")));  // what encode gives
}

TEST(FanoutFrames, DifferentMessagesGetTheirOwn) {
  FanoutFrames frames;
  auto a = frames.frame(blockDelta(4, 5, "192.0.2.7"), proto::kProtocolVersion);
  auto from3 = frames.frame(blockDelta(3, 5, "192.0.2.7"), proto::kProtocolVersion);
  auto ttl = frames.frame(blockDelta(4, 5, "192.0.2.7", 600'000), proto::kProtocolVersion);
  auto other = frames.frame(proto::Snapshot{5, {}, {}, {}}, proto::kProtocolVersion);
  EXPECT_NE(a.get(), from3.get());
  EXPECT_NE(a.get(), ttl.get());
  EXPECT_NE(*a, *ttl);
  EXPECT_NE(a.get(), other.get());
  EXPECT_EQ(frames.encoded(), 4u);
  EXPECT_EQ(frames.frame(blockDelta(3, 5, "192.0.2.7"), proto::kProtocolVersion).get(),
            from3.get());
  EXPECT_EQ(frames.encoded(), 4u);
}

// A version-1 agent and a version-2 agent behind one fan-out: each gets the
// envelope of its own hello, never the other's bytes.
TEST(FanoutFrames, LinksAtDifferentProtocolVersionsNeverShare) {
  FanoutFrames frames;
  auto v1 = frames.frame(blockDelta(4, 5, "192.0.2.7"), 1);
  auto v2 = frames.frame(blockDelta(4, 5, "192.0.2.7"), 2);
  EXPECT_NE(v1.get(), v2.get());
  EXPECT_EQ(*v1, proto::encode(blockDelta(4, 5, "192.0.2.7"), 1));
  EXPECT_EQ(*v2, proto::encode(blockDelta(4, 5, "192.0.2.7"), 2));
  EXPECT_EQ(frames.frame(blockDelta(4, 5, "192.0.2.7"), 1).get(), v1.get());
}

// Past max_kept distinct messages the rest are encoded each time (correct,
// only not shared): a fan-out with many versions in flight stays bounded.
TEST(FanoutFrames, KeepsAtMostMaxKept) {
  FanoutFrames frames(2);
  (void)frames.frame(blockDelta(1, 5, "192.0.2.7"), proto::kProtocolVersion);
  (void)frames.frame(blockDelta(2, 5, "192.0.2.7"), proto::kProtocolVersion);
  auto third = frames.frame(blockDelta(3, 5, "192.0.2.7"), proto::kProtocolVersion);
  auto again = frames.frame(blockDelta(3, 5, "192.0.2.7"), proto::kProtocolVersion);
  EXPECT_NE(third.get(), again.get());
  EXPECT_EQ(*third, *again);
  EXPECT_EQ(frames.encoded(), 4u);
}

}  // namespace
}  // namespace sg::console
