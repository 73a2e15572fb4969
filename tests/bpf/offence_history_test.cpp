// Repeat offenders keep escalating after their slot is taken: the offence
// history lives in a table of its own (sg_offenders), not in the per-source
// slot that two newer sources in the same set evict while the offender sits
// out its block.
#include <thread>

#include "bpf/kernel_fixture.h"
#include "sg_track.h"

namespace sg::test {
namespace {

constexpr sg_hash_key kKey{0x0badc0ffee, 0x5eed};

class OffenceHistoryTest : public KernelTest {
 protected:
  SensorOptions sensorOptions() const override {
    SensorOptions o;
    o.hash_key = kKey;  // known here, so the test can fill the offender's set
    return o;
  }
  // `n` IPv4 sources in the same slot set as `src` under kKey.
  std::vector<std::string> sameSet(const std::string& src, size_t n) {
    const uint32_t mask = sensor_->sourceCapacity() / SG_SLOT_WAYS - 1;
    const sg_addr k = keyOf(src);
    const uint32_t want = sg_slot_first(sg_addr_hash(&k, &kKey), mask);
    std::vector<std::string> out;
    for (uint32_t i = 0x3D0000; out.size() < n && i < 0x800000; i++) {
      const std::string s = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                            "." + std::to_string(i & 255);
      const sg_addr a = keyOf(s);
      if (sg_slot_first(sg_addr_hash(&a, &kKey), mask) == want && s != src) out.push_back(s);
    }
    return out;
  }
  int levelOf(const std::string& src) {
    auto blocks = sensor_->listBlocks();
    if (!blocks.ok()) return -1;
    const sg_addr k = keyOf(src);
    for (const KernelBlock& b : *blocks) {
      if (std::memcmp(b.key.b, k.b, 16) == 0) return b.block.level;
    }
    return -1;
  }
};

TEST_F(OffenceHistoryTest, ReOffenceAfterEvictionEscalates) {
  sg_config c = cfg_;
  c.block_ns = 40'000'000;  // 40 ms: expires within the test
  setConfig(c);
  const std::string offender = "192.0.2.200";
  ASSERT_EQ(synBurst(offender, cfg_.threshold + 1), 1);
  ASSERT_EQ(levelOf(offender), 0);

  // While it is blocked, two newer sources take both ways of its set.
  for (const std::string& s : sameSet(offender, SG_SLOT_WAYS)) {
    ASSERT_EQ(send(synFrom(s)), XDP_PASS);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  ASSERT_OK(sensor_->sweepExpired(sensor_->kernelNowNs()));
  ASSERT_EQ(levelOf(offender), -1) << "the first block has not expired";

  ASSERT_EQ(synBurst(offender, cfg_.threshold + 1), 1);
  EXPECT_EQ(levelOf(offender), 1) << "a repeat offence within the repeat memory";
}

}  // namespace
}  // namespace sg::test
