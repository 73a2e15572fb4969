#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "core/config_checks.h"
#include "test_helpers.h"

namespace sg {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

#ifndef SYNGUARD_SOURCE_DIR_FALLBACK
#define SYNGUARD_SOURCE_DIR_FALLBACK "."
#endif

TEST(ValidateConfigTest, DefaultsAreValid) { EXPECT_OK(validateConfig(AgentConfig{})); }

TEST(ValidateConfigTest, NamesFieldValueAndRange) {
  struct Case {
    std::function<void(AgentConfig&)> change;
    const char* message;
  };
  const Case cases[] = {
      {[](AgentConfig& c) { c.threshold = 0; }, "threshold: 0 is out of range (1..1000000)"},
      {[](AgentConfig& c) { c.threshold = 1000001; },
       "threshold: 1000001 is out of range (1..1000000)"},
      {[](AgentConfig& c) { c.window = Nanos(0); }, "window: 0s is out of range (1ms..1h)"},
      {[](AgentConfig& c) { c.window = hours(1) + milliseconds(1); },
       "window: 1h1ms is out of range (1ms..1h)"},
      {[](AgentConfig& c) { c.block_duration = hours(25); },
       "block_duration: 25h is out of range (1ms..24h)"},
      {[](AgentConfig& c) { c.max_block_level = 17; },
       "max_block_level: 17 is out of range (0..16)"},
      {[](AgentConfig& c) { c.repeat_memory = hours(721); },
       "repeat_memory: 721h is out of range (0s..720h)"},
      {[](AgentConfig& c) { c.ipv6_prefix = 0; }, "ipv6_prefix: 0 is out of range (1..128)"},
      {[](AgentConfig& c) { c.ipv6_prefix = 129; }, "ipv6_prefix: 129 is out of range (1..128)"},
      {[](AgentConfig& c) { c.max_sources = 1023; },
       "max_sources: 1023 is out of range (1024..16777216)"},
      {[](AgentConfig& c) { c.max_blocks = 15; }, "max_blocks: 15 is out of range (16..1048576)"},
      {[](AgentConfig& c) { c.admit_per_sec = 0; },
       "admit_per_sec: 0 is out of range (1..10000000)"},
      {[](AgentConfig& c) { c.admit_min = 1000001; },
       "admit_min: 1000001 is out of range (0..1000000)"},
      {[](AgentConfig& c) { c.events_per_sec = 0; },
       "events_per_sec: 0 is out of range (1..1000000)"},
      {[](AgentConfig& c) {
         c.interfaces = {"eth0", "eth0"};
       },
       "interfaces: 'eth0' is listed twice"},
      {[](AgentConfig& c) { c.interfaces = {""}; }, "interfaces: empty interface name"},
      {[](AgentConfig& c) { c.interfaces = {"a-very-long-ifname"}; },
       "interfaces: interface name 'a-very-long-ifname' is longer than 15 bytes"},
      {[](AgentConfig& c) { c.interfaces = {"eth 0"}; },
       "interfaces: 'eth 0' is not a valid interface name"},
      {[](AgentConfig& c) { c.nft_table = ""; }, "nft_table: empty nftables table name"},
      {[](AgentConfig& c) { c.nft_table = "1abc"; },
       "nft_table: '1abc' is not a valid nftables table name"},
      {[](AgentConfig& c) { c.control_socket = "agent.sock"; },
       "control_socket: 'agent.sock' is not an absolute path"},
      {[](AgentConfig& c) { c.control_socket = "/" + std::string(107, 'x'); },
       "control_socket: socket path is longer than 107 bytes"},
      {[](AgentConfig& c) { c.metrics_listen = "127.0.0.1"; },
       "metrics_listen: '127.0.0.1' has no port"},
  };
  for (const auto& c : cases) {
    AgentConfig config;
    c.change(config);
    auto r = validateConfig(config);
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_EQ(r.error().message().substr(0, std::string(c.message).size()), c.message);
  }
}

TEST(ValidateConfigTest, RangeEndsAreAccepted) {
  AgentConfig c;
  c.threshold = 1;
  c.window = milliseconds(1);
  c.block_duration = hours(24);
  c.max_block_level = 16;
  c.repeat_memory = Nanos(0);
  c.ipv6_prefix = 128;
  c.max_sources = 16u << 20;
  c.max_blocks = 16;
  c.admit_min = 0;
  c.interfaces = {"eth0", "veth-sg.100"};
  c.metrics_listen = "";
  EXPECT_OK(validateConfig(c));
}

TEST(ListenAddressTest, AcceptsHostPort) {
  for (const char* text : {"", "127.0.0.1:9469", "0.0.0.0:0", "[::1]:9469", "[::]:65535",
                           "localhost:9469", "metrics.example.net:80"}) {
    SCOPED_TRACE(text);
    EXPECT_OK(limits::checkListenAddress(text));
  }
}

TEST(ListenAddressTest, RejectsWithReason) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"127.0.0.1", "has no port"},
      {"127.0.0.1:", "port '' is not a number"},
      {"127.0.0.1:65536", "port '65536' is not a number in 0..65535"},
      {"127.0.0.1:99999999", "port '99999999'"},
      {"127.0.0.1:-1", "port '-1'"},
      {"::1:9469", "needs brackets"},
      {"[::1]", "not a listen address"},
      {"[::1]9469", "not a listen address"},
      {"[127.0.0.1]:80", "not an IPv6 address"},
      {"[::g]:80", "not an IPv6 address"},
      {":9469", "has no host"},
      {"1.2.3:80", "not an IPv4 address or host name"},
      {"bad_host:80", "not an IPv4 address or host name"},
      {" 127.0.0.1:80", "not an IPv4 address or host name"},
  };
  for (const auto& c : cases) {
    auto r = limits::checkListenAddress(c.text);
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find(c.says), std::string::npos)
        << c.text << " -> " << r.error().message();
  }
}

TEST(EnumNamesTest, ParseAndNameRoundTrip) {
  for (auto kind : {EnforcerKind::kXdp, EnforcerKind::kNftables, EnforcerKind::kNone}) {
    auto back = parseEnforcer(enforcerName(kind));
    ASSERT_OK(back);
    EXPECT_EQ(*back, kind);
  }
  EXPECT_EQ(std::string(enforcerName(EnforcerKind::kNftables)), "nftables");
  auto mode = parseXdpMode("generic");
  ASSERT_OK(mode);
  EXPECT_EQ(*mode, XdpMode::kGeneric);
  auto fmt = parseLogFormat("json");
  ASSERT_OK(fmt);
  EXPECT_EQ(*fmt, LogFormat::kJson);
}

TEST(EnumNamesTest, ErrorsListTheAcceptedValues) {
  auto e = parseEnforcer("iptables");
  EXPECT_ERROR(e, Errc::kInvalidArgument);
  EXPECT_EQ(e.error().message(), "unknown enforcer 'iptables' (use xdp, nftables or none)");
  auto m = parseXdpMode("XDP");
  EXPECT_ERROR(m, Errc::kInvalidArgument);
  EXPECT_EQ(m.error().message(), "unknown XDP mode 'XDP' (use auto, native or generic)");
  auto f = parseLogFormat("");
  EXPECT_ERROR(f, Errc::kInvalidArgument);
  EXPECT_EQ(f.error().message(), "unknown log format '' (use text or json)");
}

// deploy/syn-guard.toml documents every key with its default value: it must
// load, and give exactly the defaults.
TEST(DeployConfigTest, ExampleFileLoadsAndHoldsTheDefaults) {
  const char* dir = std::getenv("SYNGUARD_SOURCE_DIR");
  const std::string source_dir = dir != nullptr ? dir : SYNGUARD_SOURCE_DIR_FALLBACK;
  auto r = loadConfigFile(source_dir + "/deploy/syn-guard.toml");
  ASSERT_OK(r);
  const AgentConfig d;
  const AgentConfig& c = *r;
  EXPECT_EQ(c.interfaces, d.interfaces);
  EXPECT_EQ(c.threshold, d.threshold);
  EXPECT_EQ(c.window, d.window);
  EXPECT_EQ(c.block_duration, d.block_duration);
  EXPECT_EQ(c.max_block_level, d.max_block_level);
  EXPECT_EQ(c.repeat_memory, d.repeat_memory);
  EXPECT_EQ(c.ipv6_prefix, d.ipv6_prefix);
  EXPECT_EQ(c.allow.size(), d.allow.size());
  EXPECT_EQ(c.enforcer, d.enforcer);
  EXPECT_EQ(c.xdp_mode, d.xdp_mode);
  EXPECT_EQ(c.max_sources, d.max_sources);
  EXPECT_EQ(c.max_blocks, d.max_blocks);
  EXPECT_EQ(c.admit_per_sec, d.admit_per_sec);
  EXPECT_EQ(c.admit_min, d.admit_min);
  EXPECT_EQ(c.events_per_sec, d.events_per_sec);
  EXPECT_EQ(c.nft_table, d.nft_table);
  EXPECT_EQ(c.log_format, d.log_format);
  EXPECT_EQ(c.metrics_listen, d.metrics_listen);
  EXPECT_EQ(c.control_socket, d.control_socket);
  // Loading from a different base proves each key is really in the file.
  AgentConfig other;
  other.threshold = 1;
  other.window = std::chrono::seconds(1);
  other.enforcer = EnforcerKind::kNone;
  other.metrics_listen = "";
  auto over = loadConfigFile(source_dir + "/deploy/syn-guard.toml", other);
  ASSERT_OK(over);
  EXPECT_EQ(over->threshold, d.threshold);
  EXPECT_EQ(over->window, d.window);
  EXPECT_EQ(over->enforcer, d.enforcer);
  EXPECT_EQ(over->metrics_listen, d.metrics_listen);
}

}  // namespace
}  // namespace sg
