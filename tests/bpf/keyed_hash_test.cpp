// The slot hash is keyed with a secret chosen at load: addresses an attacker
// computes to share its slot set (with the unkeyed hash the program used
// before, which anyone can evaluate) do not share it in the kernel, so they
// cannot evict the attacker's own slot and reset its count.
#include <set>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

using KeyedHashTest = KernelTest;

// The unkeyed 64-bit mix sg_addr_hash was before it took a key: what an
// attacker who reads the source can compute offline.
uint64_t unkeyedHash(const sg_addr& a) {
  uint64_t lo = 0, hi = 0;
  std::memcpy(&lo, &a.b[0], 8);
  std::memcpy(&hi, &a.b[8], 8);
  uint64_t h = (lo * 0x9e3779b97f4a7c15ull) ^ (hi + 0x632be59bd9b4e019ull);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  return h;
}

// `n` IPv4 sources (from 10.60.0.0 on) whose unkeyed hash picks the same set
// as `target` in an array of `slots` slots.
std::vector<std::string> unkeyedColliders(const std::string& target, uint32_t slots, size_t n) {
  const uint64_t mask = slots / SG_SLOT_WAYS - 1;
  const uint64_t want = unkeyedHash(keyOf(target)) & mask;
  std::vector<std::string> out;
  for (uint32_t i = 0x3C0000; out.size() < n && i < 0x800000; i++) {
    const std::string s = "10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) +
                          "." + std::to_string(i & 255);
    if ((unkeyedHash(keyOf(s)) & mask) == want && s != target) out.push_back(s);
  }
  return out;
}

TEST_F(KeyedHashTest, CraftedSetCollisionsDoNotEvictAFlooder) {
  const std::string flooder = "10.20.30.40";
  const std::vector<std::string> colliders =
      unkeyedColliders(flooder, sensor_->sourceCapacity(), SG_SLOT_WAYS);
  ASSERT_EQ(colliders.size(), size_t{SG_SLOT_WAYS});
  // After each of the flooder's SYNs, one SYN from each collider: were they
  // in its set, the three would take turns evicting each other (2 ways).
  int dropped = 0;
  for (uint32_t i = 0; i < 4 * cfg_.threshold; i++) {
    dropped += send(synFrom(flooder)) == XDP_DROP ? 1 : 0;
    for (const std::string& c : colliders) send(synFrom(c));
  }
  EXPECT_TRUE(isBlocked(flooder)) << "the flooder's count was reset by crafted collisions";
  EXPECT_GT(dropped, 0);
}

TEST_F(KeyedHashTest, EachLoadDrawsItsOwnKey) {
  auto other = XdpSensor::load(SensorOptions{});
  ASSERT_OK(other);
  const sg_hash_key a = sensor_->hashKey(), b = (*other)->hashKey();
  EXPECT_FALSE(a.k0 == b.k0 && a.k1 == b.k1);
  EXPECT_FALSE(a.k0 == 0 && a.k1 == 0);
}

TEST_F(KeyedHashTest, AGivenKeyIsTheProgramsKey) {
  // The prefilter bit user space computes for a block must be the program's:
  // a manual block under a fixed key is found by the program.
  SensorOptions o;
  o.hash_key = sg_hash_key{7, 9};
  auto fixed = XdpSensor::load(o);
  ASSERT_OK(fixed);
  EXPECT_EQ((*fixed)->hashKey().k0, 7u);
  ASSERT_OK((*fixed)->setConfig(cfg_));
  sg_block blk{};
  blk.added_ns = (*fixed)->kernelNowNs();
  blk.expires_ns = blk.added_ns + 60'000'000'000ull;
  blk.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
  ASSERT_OK((*fixed)->addBlock(keyOf("203.0.113.77"), blk));
  XdpProgram prog((*fixed)->progFd());
  EXPECT_EQ(prog.verdict(buildPacket(ackFrom("203.0.113.77"))), XDP_DROP);
}

}  // namespace
}  // namespace sg::test
