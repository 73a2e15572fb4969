// The port_flood_* keys of the config file and their validation.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/config.h"
#include "test_helpers.h"

namespace sg {
namespace {

TEST(PortFloodConfig, KeysAreReadAndValidated) {
  auto r = parseConfigToml(
      "port_flood = false\nport_flood_floor = 250.5\nport_flood_factor = 4\n"
      "port_flood_collapse = 0\nport_flood_window = \"2s\"\nport_flood_learn = \"1h\"\n"
      "port_flood_warmup = \"0s\"\nport_flood_end_after = \"500ms\"\n"
      "port_flood_prefix_blocks = false\nport_flood_concentration = 0.9\n"
      "port_flood_max_prefixes = 2\nport_flood_max_dsts = 4096\n"
      "port_flood_signature_drop = false\nport_flood_signature_coverage = 0.9\n"
      "port_flood_signature_normal_share = 0\n",
      "test");
  ASSERT_OK(r);
  const PortFloodOptions& o = r->port_flood;
  EXPECT_FALSE(o.enabled);
  EXPECT_EQ(o.floor, 250.5);
  EXPECT_EQ(o.factor, 4);
  EXPECT_EQ(o.collapse, 0);
  EXPECT_EQ(o.rate_window, std::chrono::seconds(2));
  EXPECT_EQ(o.learn_window, std::chrono::hours(1));
  EXPECT_EQ(o.warmup, Nanos(0));
  EXPECT_EQ(o.end_after, std::chrono::milliseconds(500));
  EXPECT_FALSE(o.prefix_blocks);
  EXPECT_FALSE(o.signature_drop);
  EXPECT_EQ(o.signature_coverage, 0.9);
  EXPECT_EQ(o.signature_normal_share, 0);
  EXPECT_EQ(o.concentration, 0.9);
  EXPECT_EQ(o.max_prefixes, 2u);
  EXPECT_EQ(o.max_dsts, 4096u);

  auto bad = parseConfigToml("port_flood_factor = 1.2\n", "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("port_flood_factor"), std::string::npos)
      << bad.error().message();
  EXPECT_ERROR(parseConfigToml("port_flood_floor = \"many\"\n", "test"), Errc::kInvalidArgument);
  EXPECT_ERROR(parseConfigToml("port_flood_window = \"10ms\"\n", "test"), Errc::kInvalidArgument);
}

// deploy/syn-guard.toml documents every port_flood key with its default.
TEST(PortFloodConfig, TheExampleFileHoldsTheDefaults) {
  const char* dir = std::getenv("SYNGUARD_SOURCE_DIR");
  const std::string source_dir = dir != nullptr ? dir : SYNGUARD_SOURCE_DIR_FALLBACK;
  AgentConfig other;
  other.port_flood = {false,
                      1,
                      2,
                      0,
                      std::chrono::seconds(9),
                      std::chrono::seconds(9),
                      std::chrono::seconds(9),
                      std::chrono::seconds(9),
                      0.5,
                      1,
                      false,
                      64,
                      false,
                      0.9,
                      0.02};
  auto r = loadConfigFile(source_dir + "/deploy/syn-guard.toml", other);
  ASSERT_OK(r);
  const PortFloodOptions d;
  const PortFloodOptions& o = r->port_flood;
  EXPECT_EQ(o.enabled, d.enabled);
  EXPECT_EQ(o.floor, d.floor);
  EXPECT_EQ(o.factor, d.factor);
  EXPECT_EQ(o.collapse, d.collapse);
  EXPECT_EQ(o.rate_window, d.rate_window);
  EXPECT_EQ(o.learn_window, d.learn_window);
  EXPECT_EQ(o.warmup, d.warmup);
  EXPECT_EQ(o.end_after, d.end_after);
  EXPECT_EQ(o.concentration, d.concentration);
  EXPECT_EQ(o.max_prefixes, d.max_prefixes);
  EXPECT_EQ(o.prefix_blocks, d.prefix_blocks);
  EXPECT_EQ(o.signature_drop, d.signature_drop);
  EXPECT_EQ(o.signature_coverage, d.signature_coverage);
  EXPECT_EQ(o.signature_normal_share, d.signature_normal_share);
  EXPECT_EQ(o.max_dsts, d.max_dsts);
}

}  // namespace
}  // namespace sg
