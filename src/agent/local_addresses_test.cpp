// LocalAddresses over FakeSensor: the host's addresses reach the sensor at
// each sync, a failure keeps the last good list and is logged once.
#include "agent/local_addresses.h"

#include <gtest/gtest.h>

#include "agent/block_book_fixture.h"

namespace sg::agent {
namespace {

TEST(LocalAddresses, EachSyncWritesTheHostsAddresses) {
  Fixture f;
  std::vector<Address> now{*parseAddress("198.51.100.1"), *parseAddress("2001:db8::1")};
  LocalAddresses local(f.sensor, f.log, [&now]() -> Result<std::vector<Address>> { return now; });
  EXPECT_FALSE(f.sensor.local.has_value());
  local.sync();
  ASSERT_TRUE(f.sensor.local.has_value());
  EXPECT_EQ(*f.sensor.local, now);
  now.pop_back();  // an address removed
  local.sync();
  EXPECT_EQ(f.sensor.local->size(), 1u);
  EXPECT_EQ(local.count(), 1u);
}

TEST(LocalAddresses, AFailureKeepsTheLastListAndIsLoggedOnce) {
  Fixture f;
  bool fail_read = false;
  LocalAddresses local(f.sensor, f.log, [&]() -> Result<std::vector<Address>> {
    if (fail_read) return Error(Errc::kIo, "getifaddrs: ENOMEM");
    return std::vector<Address>{*parseAddress("198.51.100.1")};
  });
  local.sync();
  fail_read = true;
  local.sync();
  local.sync();
  EXPECT_EQ(f.sensor.local->size(), 1u);
  EXPECT_EQ(local.errors(), 2u);
  fail_read = false;
  f.sensor.fail_local = true;
  local.sync();
  EXPECT_EQ(local.errors(), 3u);
  const std::string log = f.logText();
  size_t n = 0;
  for (size_t at = log.find("getifaddrs"); at != std::string::npos;
       at = log.find("getifaddrs", at + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 1u) << log;
  EXPECT_NE(log.find("too many local addresses"), std::string::npos) << log;
}

TEST(LocalAddresses, WithoutAReaderTheSensorIsLeftAlone) {
  Fixture f;
  LocalAddresses local(f.sensor, f.log, nullptr);
  local.sync();
  EXPECT_FALSE(f.sensor.local.has_value());
}

}  // namespace
}  // namespace sg::agent
