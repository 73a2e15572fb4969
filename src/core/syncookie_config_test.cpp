#include "core/syncookie_config.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "test_helpers.h"

namespace sg {
namespace {

TEST(SynCookieConfig, OffByDefaultWithTheListenersUsualParameters) {
  const AgentConfig c;
  EXPECT_EQ(c.syncookies.mode, SynCookieMode::kOff);
  EXPECT_EQ(c.syncookies.mss4, 1460);
  EXPECT_EQ(c.syncookies.mss6, 1440);
  EXPECT_FALSE(c.syncookies.wscale.has_value()) << "auto: the listener's own";
  EXPECT_OK(validateConfig(c));
}

TEST(SynCookieConfig, ReadFromTheConfigFile) {
  auto c = parseConfigToml(
      "syncookies = \"xdp\"\nsyncookie_mss4 = 1400\nsyncookie_mss6 = 1380\n"
      "syncookie_wscale = 9\nsyncookie_ttl = 50\nsyncookie_nft_table = \"sp\"\n",
      "test.toml", AgentConfig{});
  ASSERT_OK(c);
  EXPECT_EQ(c->syncookies.mode, SynCookieMode::kXdp);
  EXPECT_EQ(c->syncookies.mss4, 1400);
  EXPECT_EQ(c->syncookies.mss6, 1380);
  EXPECT_EQ(c->syncookies.wscale, 9);
  auto a = parseConfigToml("syncookie_wscale = \"auto\"\n", "test.toml", *c);
  ASSERT_OK(a);
  EXPECT_FALSE(a->syncookies.wscale.has_value());
  EXPECT_EQ(c->syncookies.ttl, 50);
  EXPECT_EQ(c->syncookies.nft_table, "sp");
  auto n = parseConfigToml("syncookies = \"nftables\"\n", "test.toml", AgentConfig{});
  ASSERT_OK(n);
  EXPECT_EQ(n->syncookies.mode, SynCookieMode::kNftables);
}

TEST(SynCookieConfig, OutOfRangeValuesAreRefusedNamingTheKey) {
  for (const char* bad : {"syncookies = \"on\"", "syncookie_mss4 = 100", "syncookie_mss6 = 65000",
                          "syncookie_wscale = 15", "syncookie_wscale = \"big\"",
                          "syncookie_ttl = 0", "syncookie_nft_table = \"a b\""}) {
    auto c = parseConfigToml(bad, "test.toml", AgentConfig{});
    ASSERT_FALSE(c.ok()) << bad;
    const std::string key(bad, std::string(bad).find(' '));
    EXPECT_NE(c.error().message().find(key), std::string::npos) << c.error().message();
  }
  SynCookieConfig c;
  c.wscale = 15;
  EXPECT_FALSE(validateSynCookieConfig(c).ok());
}

// Linux's choice for a listener (tcp_select_initial_window): the default
// sysctls (tcp_rmem max 6 MiB, rmem_max 208 KiB) give 7; a tuned 32 MiB, 10.
TEST(SynCookieConfig, TheListenersWindowScaleAsLinuxPicksIt) {
  EXPECT_EQ(listenerWindowScale(6291456, 212992), 7);
  EXPECT_EQ(listenerWindowScale(33554432, 4194304), 10);
  EXPECT_EQ(listenerWindowScale(131072, 16777216), 9) << "rmem_max counts too";
  EXPECT_EQ(listenerWindowScale(4096, 4096), 0);
  EXPECT_EQ(listenerWindowScale(uint64_t{1} << 40, 0), 14);
}

TEST(SynCookieConfig, ModeNames) {
  for (SynCookieMode m : {SynCookieMode::kOff, SynCookieMode::kXdp, SynCookieMode::kNftables}) {
    auto back = parseSynCookieMode(synCookieModeName(m));
    ASSERT_OK(back);
    EXPECT_EQ(*back, m);
  }
}

}  // namespace
}  // namespace sg
