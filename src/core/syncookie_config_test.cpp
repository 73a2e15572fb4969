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
  EXPECT_EQ(c.syncookies.wscale, 7);
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
  EXPECT_EQ(c->syncookies.ttl, 50);
  EXPECT_EQ(c->syncookies.nft_table, "sp");
  auto n = parseConfigToml("syncookies = \"nftables\"\n", "test.toml", AgentConfig{});
  ASSERT_OK(n);
  EXPECT_EQ(n->syncookies.mode, SynCookieMode::kNftables);
}

TEST(SynCookieConfig, OutOfRangeValuesAreRefusedNamingTheKey) {
  for (const char* bad :
       {"syncookies = \"on\"", "syncookie_mss4 = 100", "syncookie_mss6 = 65000",
        "syncookie_wscale = 15", "syncookie_ttl = 0", "syncookie_nft_table = \"a b\""}) {
    auto c = parseConfigToml(bad, "test.toml", AgentConfig{});
    ASSERT_FALSE(c.ok()) << bad;
    const std::string key(bad, std::string(bad).find(' '));
    EXPECT_NE(c.error().message().find(key), std::string::npos) << c.error().message();
  }
  SynCookieConfig c;
  c.wscale = 15;
  EXPECT_FALSE(validateSynCookieConfig(c).ok());
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
