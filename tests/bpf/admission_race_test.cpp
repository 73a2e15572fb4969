// A new source's first SYNs on two CPUs at once (RSS: MultiQueueTest's two
// senders): the CPU that loses the race to admit it must count in the way
// the winner is filling, never claim the set's other way for the same
// source. Two ways for one source would each count up to the threshold:
// MultiQueueTest's one unexplained SYN beyond it. The other CPU's states are
// written into sg_slots / sg_tags by hand, so the interleavings are exact:
//  - way 0 claimed (being filled) by the other CPU;
//  - way 0 filled by the other CPU, its tag not yet written.
#include <bpf/bpf.h>
#include <unistd.h>

#include "bpf/kernel_fixture.h"
#include "sg_track.h"

namespace sg::test {
namespace {

class AdmissionRaceTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    slots_fd_ = mapFd("sg_slots");
    tags_fd_ = mapFd("sg_tags");
    ASSERT_GE(slots_fd_, 0);
    ASSERT_GE(tags_fd_, 0);
  }
  void TearDown() override {
    if (slots_fd_ >= 0) close(slots_fd_);
    if (tags_fd_ >= 0) close(tags_fd_);
    KernelTest::TearDown();
  }
  // The program's map `name`, through its map ids.
  int mapFd(const std::string& name) const {
    uint32_t ids[64] = {};
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    if (bpf_obj_get_info_by_fd(sensor_->progFd(), &info, &len) != 0) return -1;
    for (uint32_t i = 0; i < info.nr_map_ids && i < 64; i++) {
      const int fd = bpf_map_get_fd_by_id(ids[i]);
      if (fd < 0) continue;
      bpf_map_info m{};
      uint32_t mlen = sizeof(m);
      if (bpf_obj_get_info_by_fd(fd, &m, &mlen) == 0 && name == m.name) return fd;
      close(fd);
    }
    return -1;
  }
  // Index of way 0 of `src`'s set.
  uint32_t firstWay(const std::string& src) const {
    const sg_addr k = keyOf(src);
    const uint32_t mask = sensor_->sourceCapacity() / SG_SLOT_WAYS - 1;
    return sg_slot_first(sg_addr_hash(&k, &sensor_->hashKey()), mask);
  }
  sg_slot slot(uint32_t i) const {
    sg_slot s{};
    EXPECT_EQ(bpf_map_lookup_elem(slots_fd_, &i, &s), 0);
    return s;
  }
  void putSlot(uint32_t i, const sg_slot& s) {
    ASSERT_EQ(bpf_map_update_elem(slots_fd_, &i, &s, BPF_ANY), 0);
  }
  // A way filled for `src` by another CPU now, its first SYN counted.
  sg_slot filledFor(const std::string& src) const {
    sg_slot s{};
    s.key = keyOf(src);
    s.last_ns = sensor_->kernelNowNs();
    s.st.win.cur_start_ns = s.last_ns;
    s.st.win.cur_count = 1;
    return s;
  }
  // The ways of `src`'s set that hold it.
  int waysHolding(const std::string& src) const {
    const sg_addr k = keyOf(src);
    const uint32_t w0 = firstWay(src);
    int n = 0;
    for (uint32_t i = w0; i < w0 + SG_SLOT_WAYS; i++) {
      const sg_slot s = slot(i);
      if (s.last_ns != 0 && std::memcmp(s.key.b, k.b, 16) == 0) n++;
    }
    return n;
  }
  // Sends new SYNs from `src` until one is dropped; how many passed.
  int passedUntilDrop(const std::string& src, int most) {
    for (int i = 0; i < most; i++) {
      if (send(newSyn(src)) == XDP_DROP) return i;
    }
    return most;
  }

  int slots_fd_ = -1;
  int tags_fd_ = -1;
};

constexpr const char* kSrc = "10.66.0.9";

TEST_F(AdmissionRaceTest, WayFilledButNotYetTaggedIsUsedNotDoubled) {
  // The other CPU filled way 0 for the source (its first SYN counted) and
  // has not written the set's tag yet.
  const uint32_t w0 = firstWay(kSrc);
  putSlot(w0, filledFor(kSrc));

  EXPECT_EQ(send(newSyn(kSrc)), XDP_PASS);
  EXPECT_EQ(waysHolding(kSrc), 1) << "the source was given a second way";
  EXPECT_EQ(slot(w0).st.win.cur_count, 2u) << "counted in the way being admitted";
  EXPECT_EQ(slot(w0 + 1).last_ns, 0u);
  // Threshold 5: the other CPU's SYN and this one, then 3 more pass.
  EXPECT_EQ(passedUntilDrop(kSrc, 20), static_cast<int>(cfg_.threshold) - 2);
  EXPECT_EQ(counter(SG_CNT_ADMIT_RACE), 0u);
}

TEST_F(AdmissionRaceTest, WayClaimedByAnotherCpuIsWaitedOnNotDoubled) {
  // The other CPU claimed way 0 for this source and is still filling it
  // (its key written, its state not yet cleared) when this SYN arrives;
  // here it never finishes, as a preempted vCPU. The SYN waits, bounded,
  // then passes uncounted and says so: it neither takes way 1 nor counts in
  // state that the filler is about to clear.
  const uint32_t w0 = firstWay(kSrc);
  sg_slot claimed{};
  claimed.key = keyOf(kSrc);
  claimed.st.win.cur_count = 77;  // stale state, not yet cleared
  claimed.last_ns = SG_SLOT_CLAIMED;
  putSlot(w0, claimed);

  EXPECT_EQ(send(newSyn(kSrc)), XDP_PASS);
  EXPECT_EQ(slot(w0 + 1).last_ns, 0u) << "the source was given the other way";
  EXPECT_EQ(slot(w0).st.win.cur_count, 77u) << "counted in a slot being filled";
  EXPECT_EQ(counter(SG_CNT_ADMIT_RACE), 1u);

  // The filler finishes: the source's SYNs count in way 0 from there.
  putSlot(w0, filledFor(kSrc));
  EXPECT_EQ(passedUntilDrop(kSrc, 20), static_cast<int>(cfg_.threshold) - 1);
  EXPECT_EQ(waysHolding(kSrc), 1);
}

}  // namespace
}  // namespace sg::test
