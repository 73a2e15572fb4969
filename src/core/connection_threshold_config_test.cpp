// connection_threshold: its default, its checks, its TOML key and what the
// kernel is given (bpf/sg_handshake.h).
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/kernel_config.h"
#include "test_helpers.h"

namespace sg {
namespace {

TEST(ConnectionThresholdConfig, DefaultsToTenTimesTheFloodThresholdCappedAtTheMaximum) {
  AgentConfig c;
  EXPECT_EQ(connectionThreshold(c), 2000u);
  c.threshold = 50;
  EXPECT_EQ(connectionThreshold(c), 500u) << "follows a changed flood threshold (console policy)";
  c.threshold = 900'000;
  EXPECT_EQ(connectionThreshold(c), 1'000'000u);
  c.connection_threshold = 950'000;
  EXPECT_EQ(connectionThreshold(c), 950'000u);
  EXPECT_EQ(toKernelConfig(c).conn_threshold, 950'000u);
}

TEST(ConnectionThresholdConfig, EqualToTheFloodThresholdTurnsHandshakeCountingOff) {
  AgentConfig c;
  c.connection_threshold = c.threshold;
  EXPECT_OK(validateConfig(c));
  EXPECT_EQ(toKernelConfig(c).conn_threshold, 0u);
  c.threshold = 1'000'000;  // the default can only equal it
  c.connection_threshold = 0;
  EXPECT_EQ(toKernelConfig(c).conn_threshold, 0u);
}

TEST(ConnectionThresholdConfig, BelowTheFloodThresholdOrOutOfRangeIsRejected) {
  AgentConfig c;
  c.connection_threshold = 199;
  auto r = validateConfig(c);
  EXPECT_ERROR(r, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().message(),
            "connection_threshold: 199 is below the flood threshold 200 (0 takes 10x it)");
  c.connection_threshold = 1'000'001;
  auto big = validateConfig(c);
  EXPECT_ERROR(big, Errc::kInvalidArgument);
  EXPECT_EQ(big.error().message(), "connection_threshold: 1000001 is out of range (0..1000000)");
}

TEST(ConnectionThresholdConfig, ReadFromTheTomlKey) {
  auto c = parseConfigToml("flood_threshold = 100\nconnection_threshold = 5000\n", "c.toml");
  ASSERT_OK(c);
  EXPECT_EQ(c->connection_threshold, 5000u);
  EXPECT_EQ(toKernelConfig(*c).conn_threshold, 5000u);
  auto bad = parseConfigToml("connection_threshold = -3\n", "c.toml");
  EXPECT_ERROR(bad, Errc::kInvalidArgument);
  EXPECT_EQ(bad.error().message(),
            "connection_threshold at c.toml:1: -3 is out of range (0..1000000)");
  auto low = parseConfigToml("connection_threshold = 10\n", "c.toml");
  EXPECT_ERROR(low, Errc::kInvalidArgument);
}

}  // namespace
}  // namespace sg
