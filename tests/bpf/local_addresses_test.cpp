// The host's own addresses (bpf/sg_local.h, XdpSensor::setLocalAddresses):
// an address change larger than half the map (SG_LOCAL_MAX) replaces the
// list whole (review s14, L3: new addresses were added before stale ones
// were deleted, so the union overflowed the map half-way, with the check
// left on and some new addresses missing).
#include <string>
#include <vector>

#include "bpf/kernel_fixture.h"
#include "sg_local.h"

namespace sg::test {
namespace {

class LocalAddresses : public KernelTest {};

// `n` addresses 10.<net>.x.y.
std::vector<Address> addresses(int net, int n) {
  std::vector<Address> out;
  for (int i = 0; i < n; i++) {
    auto a = parseAddress("10." + std::to_string(net) + "." + std::to_string(i / 256) + "." +
                          std::to_string(i % 256));
    if (a.ok()) out.push_back(*a);
  }
  return out;
}

TEST_F(LocalAddresses, AChangeOfMoreThanHalfTheMapReplacesTheListWhole) {
  const int n = SG_LOCAL_MAX - 24;  // each list fits; their union does not
  ASSERT_OK(sensor_->setLocalAddresses(addresses(1, n)));
  ASSERT_OK(sensor_->setLocalAddresses(addresses(2, n)));
  PacketSpec to_new = newSyn("192.0.2.1", 80);
  to_new.dst = "10.2.3.231";  // the last of the new list
  PacketSpec to_old = newSyn("192.0.2.2", 80);
  to_old.dst = "10.1.0.1";
  send(to_new);
  EXPECT_EQ(counter(SG_CNT_NOT_LOCAL), 0u) << "a new address is missing from the list";
  send(to_old);
  EXPECT_EQ(counter(SG_CNT_NOT_LOCAL), 1u) << "a stale address is still listed";
}

}  // namespace
}  // namespace sg::test
