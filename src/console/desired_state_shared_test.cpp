// DesiredState as one of several consoles: versions from a shared counter,
// and deltas only from versions acknowledged to this console.
#include <gtest/gtest.h>

#include "console/desired_state.h"
#include "test_helpers.h"

namespace sg::console {
namespace {

Prefix pfx(const char* text) { return *parsePrefix(text); }

TEST(DesiredStateShared, VersionsComeFromTheCounterAndNeverGoBack) {
  FakeClock clock;
  uint64_t counter = 40;
  DesiredStateOptions options;
  options.next_version = [&] { return ++counter; };
  DesiredState state(options, clock, 3);
  EXPECT_EQ(*state.addBlock(pfx("192.0.2.7"), std::nullopt, "a", ""), 41u);
  counter = 10;  // a counter behind this console's version is not followed back
  EXPECT_EQ(*state.addBlock(pfx("192.0.2.8"), std::nullopt, "a", ""), 42u);
  state.advanceTo(100);
  options.next_version = nullptr;
  EXPECT_EQ(*state.addBlock(pfx("192.0.2.9"), std::nullopt, "a", ""), 101u);
}

TEST(DesiredStateShared, DeltasOnlyFromAVersionAckedToThisConsole) {
  FakeClock clock;
  DesiredStateOptions options;
  options.delta_only_from_own_acks = true;
  DesiredState state(options, clock);
  ASSERT_OK(state.upsertEndpoint("web-1", {}));
  ASSERT_OK(state.setConnected("web-1", true));
  const uint64_t v1 = *state.addBlock(pfx("192.0.2.7"), std::nullopt, "a", "");
  ASSERT_OK(state.onAck("web-1", v1));
  const uint64_t v2 = *state.addBlock(pfx("192.0.2.8"), std::nullopt, "a", "");
  auto own = state.catchUp("web-1", v1);
  ASSERT_TRUE(own.ok() && own->has_value());
  EXPECT_TRUE(std::holds_alternative<proto::Delta>(**own));
  // The same number from another console (or from before a restart) means
  // other changes: a snapshot, even when it equals the current version.
  ASSERT_OK(state.restoreAck("web-1", v2));
  for (uint64_t claimed : {v2, v1 - 1, uint64_t{7}}) {
    auto other = state.catchUp("web-1", claimed);
    ASSERT_TRUE(other.ok() && other->has_value()) << claimed;
    EXPECT_TRUE(std::holds_alternative<proto::Snapshot>(**other)) << claimed;
  }
}

}  // namespace
}  // namespace sg::console
