// sg_slot_claim (bpf/sg_claim.h, the kernel's sg_admit) run by two "CPUs"
// through every interleaving of its steps with up to two switches. The CPUs
// are threads that take turns, handing over at the SG_SYNC_POINTs of the
// shared code, so each schedule is exact and repeatable: what a hard IRQ or
// a preempted vCPU between two steps would show on a multi-queue NIC. Each
// CPU admits a source and counts one attempt in the way it was given, as the
// XDP program does. Whatever the schedule: no way is left claimed, a source
// never holds both ways of its set (each would count its own threshold), and
// one source's way counts exactly the attempts of the CPUs that were given it.
#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

void sgTestSyncPoint();
#define SG_SYNC_POINT() sgTestSyncPoint()
#include "sg_claim.h"

namespace {

constexpr int kCpus = 2;
constexpr int kForever = std::numeric_limits<int>::max();

// Whose turn it is. The plan says how many sync points each turn passes
// before handing over, turns alternating from `first`; after the plan, each
// CPU runs to its end.
class Baton {
 public:
  Baton(int first, std::vector<int> plan) : turn_(first), plan_(std::move(plan)) {
    left_ = plan_.empty() ? kForever : plan_[0];
  }
  void begin(int cpu) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return turn_ == cpu; });
  }
  void point(int cpu) {
    std::unique_lock<std::mutex> lock(m_);
    points_[cpu]++;
    if (left_ > 0) {
      if (left_ != kForever) left_--;
      return;
    }
    seg_++;
    left_ = seg_ < plan_.size() ? plan_[seg_] : kForever;
    if (done_[1 - cpu]) return;
    turn_ = 1 - cpu;
    cv_.notify_all();
    cv_.wait(lock, [&] { return turn_ == cpu; });
  }
  void end(int cpu) {
    std::lock_guard<std::mutex> lock(m_);
    done_[cpu] = true;
    turn_ = 1 - cpu;
    cv_.notify_all();
  }
  int points(int cpu) const { return points_[cpu]; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int turn_;
  std::vector<int> plan_;
  size_t seg_ = 0;
  int left_ = 0;
  bool done_[kCpus] = {};
  int points_[kCpus] = {};
};

thread_local Baton* t_baton = nullptr;
thread_local int t_cpu = 0;

}  // namespace

void sgTestSyncPoint() {
  if (t_baton) t_baton->point(t_cpu);
}

namespace sg {
namespace {

sg_addr addr(uint8_t last) {
  sg_addr a{};
  a.b[10] = 0xff;
  a.b[11] = 0xff;
  a.b[12] = 10;
  a.b[15] = last;
  return a;
}

// One CPU's admission of `key` at `now`: the way it was given (-1: none).
struct Cpu {
  sg_addr key;
  uint64_t now;
  int way = -1;
  uint32_t how = 0;
};

using Set = std::array<sg_slot, SG_SLOT_WAYS>;

// A way's initial occupant: none (0), or a rival last seen at `last_ns`.
Set setOf(uint64_t w0_last, uint64_t w1_last) {
  Set set{};
  set[0].key = addr(200);
  set[0].last_ns = w0_last;
  set[1].key = addr(201);
  set[1].last_ns = w1_last;
  return set;
}

// Runs both CPUs under `baton`; the sync points each passed.
void runSchedule(Set& set, std::array<Cpu, kCpus>& cpus, Baton& baton) {
  auto body = [&](int id) {
    t_baton = &baton;
    t_cpu = id;
    baton.begin(id);
    Cpu& c = cpus[id];
    c.way = sg_slot_claim(&set[0], &set[1], &c.key, c.now, &c.how);
    sgTestSyncPoint();
    if (c.way >= 0) __sync_fetch_and_add(&set[c.way].st.win.cur_count, 1);  // its attempt
    baton.end(id);
    t_baton = nullptr;
  };
  std::thread a(body, 0), b(body, 1);
  a.join();
  b.join();
}

// What must hold after any schedule; empty when it does. With two sources
// the counts are not checked: a way may be evicted between a CPU's admission
// and its count (as in the kernel), which then lands in the new source's.
std::string violations(const Set& set, const std::array<Cpu, kCpus>& cpus, bool counts) {
  std::ostringstream out;
  for (int w = 0; w < SG_SLOT_WAYS; w++) {
    if (set[w].last_ns == SG_SLOT_CLAIMED) out << "way " << w << " left claimed; ";
  }
  for (const Cpu& c : cpus) {
    int held = 0;
    for (int w = 0; w < SG_SLOT_WAYS; w++) {
      if (!sg_slot_holds(&set[w], &c.key)) continue;
      held++;
      uint32_t given = 0;
      for (const Cpu& o : cpus)
        given += std::memcmp(&o.key, &c.key, sizeof(c.key)) == 0 && o.way == w;
      if (counts && set[w].st.win.cur_count != given)
        out << "way " << w << " counts " << set[w].st.win.cur_count << " attempts of " << given
            << "; ";
    }
    if (held > 1) out << "the source holds both ways; ";
  }
  return out.str();
}

struct Start {
  uint64_t w0_last, w1_last;
};
// Empty ways, rivals older and newer than the CPUs' `now` (100), and rivals
// seen at that very jiffy (a claim and a fill that leave last_ns as it was).
constexpr Start kStarts[] = {{0, 0},   {40, 0},   {0, 40},   {40, 60},  {60, 40},
                             {100, 0}, {100, 40}, {40, 100}, {100, 100}};
constexpr uint64_t kNow = 100;

// Every schedule of up to two switches for CPUs admitting `k0` and `k1`.
void checkAllSchedules(const sg_addr& k0, const sg_addr& k1, bool same_source) {
  // The points of a CPU running alone bound where a switch can fall.
  int most = 0;
  {
    Set set = setOf(40, 60);
    std::array<Cpu, kCpus> cpus{Cpu{k0, kNow}, Cpu{k1, kNow}};
    Baton solo(0, {});
    runSchedule(set, cpus, solo);
    most = std::max(solo.points(0), solo.points(1)) + 1;
  }
  int runs = 0, admitted_none = 0;
  for (const Start& s : kStarts) {
    for (int first = 0; first < kCpus; first++) {
      for (int p = 0; p <= most; p++) {
        for (int q = 0; q <= most; q++) {
          Set set = setOf(s.w0_last, s.w1_last);
          std::array<Cpu, kCpus> cpus{Cpu{k0, kNow}, Cpu{k1, kNow}};
          Baton baton(first, {p, q});
          runSchedule(set, cpus, baton);
          runs++;
          const std::string bad = violations(set, cpus, same_source);
          ASSERT_EQ(bad, "") << "start (" << s.w0_last << ", " << s.w1_last << "), CPU " << first
                             << " runs " << p << " points, the other " << q
                             << ", then both to the end; ways given " << cpus[0].way << ", "
                             << cpus[1].way;
          if (cpus[0].way < 0 && cpus[1].way < 0) admitted_none++;
        }
      }
    }
  }
  EXPECT_GT(runs, 500);
  // One CPU may wait out the other's paused fill, never both.
  if (same_source) {
    EXPECT_EQ(admitted_none, 0);
  }
}

TEST(SlotClaim, OneSourceOnTwoCpusHoldsOneWayAndLosesNoAttempt) {
  checkAllSchedules(addr(7), addr(7), true);
}

TEST(SlotClaim, TwoSourcesOfOneSetOnTwoCpusEachHoldAtMostOneWay) {
  checkAllSchedules(addr(7), addr(8), false);
}

TEST(SlotClaim, AloneItFillsTheVictimAndThenFindsItsWay) {
  Set set = setOf(40, 60);
  const sg_addr k = addr(7);
  uint32_t how = 9;
  EXPECT_EQ(sg_slot_claim(&set[0], &set[1], &k, kNow, &how), 0);  // the older way
  EXPECT_EQ(how, static_cast<uint32_t>(SG_CLAIM_FILLED));
  EXPECT_EQ(set[0].last_ns, kNow);
  EXPECT_EQ(sg_slot_claim(&set[0], &set[1], &k, kNow, &how), 0);
  EXPECT_EQ(how, static_cast<uint32_t>(SG_CLAIM_FOUND));
  Set empty = setOf(0, 0);
  EXPECT_EQ(sg_slot_claim(&empty[0], &empty[1], &k, kNow, &how), 0);
  EXPECT_EQ(how, static_cast<uint32_t>(SG_CLAIM_FILLED_EMPTY));
}

}  // namespace
}  // namespace sg
