// readHostAddresses and readTcpTables through the real iphlpapi calls (under
// Wine: the Linux host's interfaces and sockets as Wine reports them).
#include "win/tcp_table_win.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_helpers.h"
#include "win/attempt_pipeline.h"

namespace sg::win {
namespace {

TEST(HostAddresses, TheInterfacesUnicastAddressesOnceEach) {
  auto own = readHostAddresses();
  ASSERT_OK(own);
  ASSERT_FALSE(own->empty()) << "no interface is up";
  for (size_t i = 0; i < own->size(); i++) {
    for (size_t j = i + 1; j < own->size(); j++) EXPECT_FALSE((*own)[i] == (*own)[j]);
  }
  // Loopback is an interface that is up on every host and under Wine.
  const Address lo = *parseAddress("127.0.0.1");
  EXPECT_NE(std::find(own->begin(), own->end(), lo), own->end());
}

TEST(HostAddresses, TheAgentsAllowlistHoldsEachOfThem) {
  auto own = readHostAddresses();
  ASSERT_OK(own);
  const auto allow = effectiveAllowlist(AgentConfig{}, *own);
  for (const Address& a : *own) {
    EXPECT_TRUE(std::any_of(allow.begin(), allow.end(), [&a](const Prefix& p) {
      return p.contains(a);
    })) << a.str();
  }
}

}  // namespace
}  // namespace sg::win
