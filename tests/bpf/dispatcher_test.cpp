// XdpSensor beside other XDP programs through libxdp's dispatcher: joining
// it, both programs seeing traffic, leaving only ours at exit, a dead
// agent's program removed at the next start, a live one refused.
//
// Each test runs in a thread that unshares its own network namespace (a veth
// pair va/vb) and mount namespace with a fresh bpffs on /sys/fs/bpf, where
// libxdp and xdp-loader pin the dispatcher: nothing touches the host's
// interfaces or pins, and everything dies with the thread.
//
// The dispatcher is made of freplace (BPF_PROG_TYPE_EXT) programs. Some
// kernels refuse every trampoline program (freplace, fentry) with EPERM;
// there libxdp attaches a single program directly instead, the tests that
// need a dispatcher skip (saying so), and the ones for such kernels run.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

constexpr const char* kForeignName = "foreign_xdp";

bool haveXdpLoader() { return access("/usr/sbin/xdp-loader", X_OK) == 0; }

// Whether the kernel loads an freplace program: foreign_xdp replacing
// another copy of itself, as libxdp's own compatibility check does.
bool kernelLoadsFreplace() {
  bpf_object* target = bpf_object__open_file(SG_FOREIGN_BPF_OBJ, nullptr);
  bpf_object* ext = bpf_object__open_file(SG_FOREIGN_BPF_OBJ, nullptr);
  bool ok = target != nullptr && ext != nullptr && bpf_object__load(target) == 0;
  if (ok) {
    bpf_program* p = bpf_object__find_program_by_name(ext, kForeignName);
    const int target_fd = bpf_program__fd(bpf_object__find_program_by_name(target, kForeignName));
    bpf_program__set_type(p, BPF_PROG_TYPE_EXT);
    bpf_program__set_expected_attach_type(p, static_cast<bpf_attach_type>(0));
    ok = bpf_program__set_attach_target(p, target_fd, kForeignName) == 0 &&
         bpf_object__load(ext) == 0;
  }
  bpf_object__close(ext);
  bpf_object__close(target);
  return ok;
}

#define SG_REQUIRE_DISPATCHER()                                                      \
  do {                                                                               \
    SG_REQUIRE_ROOT();                                                               \
    if (!haveXdpLoader()) GTEST_SKIP() << "xdp-loader (xdp-tools) not installed";    \
    if (!kernelLoadsFreplace()) {                                                    \
      GTEST_SKIP() << "this kernel refuses freplace programs: no libxdp dispatcher"; \
    }                                                                                \
  } while (0)

// Runs `body` in fresh network and mount namespaces (see the file comment).
void inFreshNamespaces(const std::function<void()>& body) {
  std::thread t([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET | CLONE_NEWNS), 0) << "unshare";
    ASSERT_EQ(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    ASSERT_EQ(mount("bpffs", "/sys/fs/bpf", "bpf", 0, "mode=0700"), 0);
    ASSERT_EQ(mkdir("/sys/fs/bpf/xdp", 0700), 0);  // libxdp's state directory
    ASSERT_EQ(std::system("ip link add va type veth peer name vb && ip link set va up && "
                          "ip link set vb up"),
              0);
    body();
  });
  t.join();
}

void loadForeign() {
  const std::string cmd = std::string("xdp-loader load -m native va ") + SG_FOREIGN_BPF_OBJ;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

struct Component {
  uint32_t id = 0;
  std::string name;
  unsigned prio = 0;
};

// The dispatcher's programs on `ifname` in run order (empty: no dispatcher).
std::vector<Component> dispatcherPrograms(const char* ifname) {
  std::vector<Component> out;
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(if_nametoindex(ifname)));
  if (mp == nullptr || libxdp_get_error(mp) != 0) return out;
  if (!xdp_multiprog__is_legacy(mp)) {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
         p = xdp_multiprog__next_prog(p, mp)) {
      out.push_back({xdp_program__id(p), xdp_program__name(p), xdp_program__run_prio(p)});
    }
  }
  xdp_multiprog__close(mp);
  return out;
}

std::vector<std::string> names(const std::vector<Component>& cs) {
  std::vector<std::string> out;
  for (const Component& c : cs) out.push_back(c.name);
  return out;
}

// The foreign program's packet count, read through its map.
uint64_t foreignCount() {
  for (const Component& c : dispatcherPrograms("va")) {
    if (c.name != kForeignName) continue;
    const int prog = bpf_prog_get_fd_by_id(c.id);
    uint32_t map_ids[4] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 4;
    info.map_ids = reinterpret_cast<uint64_t>(map_ids);
    uint32_t len = sizeof(info);
    const int got = bpf_obj_get_info_by_fd(prog, &info, &len);
    close(prog);
    if (got != 0 || info.nr_map_ids < 1) return 0;
    const int map = bpf_map_get_fd_by_id(map_ids[0]);
    const uint32_t zero = 0;
    uint64_t n = 0;
    bpf_map_lookup_elem(map, &zero, &n);
    close(map);
    return n;
  }
  return 0;
}

// Sends `n` SYN frames from `src` out of vb, so that they arrive on va.
void sendSyns(const std::string& src, int n) {
  const int s = socket(AF_PACKET, SOCK_RAW, 0);
  ASSERT_GE(s, 0);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex("vb"));
  to.sll_halen = ETH_ALEN;
  const std::vector<uint8_t> frame = buildPacket(synFrom(src));
  for (int i = 0; i < n; i++) {
    ASSERT_EQ(
        sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
        static_cast<ssize_t>(frame.size()));
  }
  close(s);
}

// Waits (at most 3 s) for `done`.
bool eventually(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::unique_ptr<XdpSensor> loadSensor() {
  auto s = XdpSensor::load(SensorOptions{});
  if (!s.ok()) {
    ADD_FAILURE() << s.error().message();
    return nullptr;
  }
  return std::move(s.value());
}

using Names = std::vector<std::string>;

TEST(DispatcherTest, JoinsItBesideAForeignProgramAndBothSeeTraffic) {
  SG_REQUIRE_DISPATCHER();
  inFreshNamespaces([] {
    loadForeign();
    {
      auto s = loadSensor();
      ASSERT_NE(s, nullptr);
      sg_config cfg = toKernelConfig(AgentConfig{});
      ASSERT_OK(s->setConfig(cfg));
      sg_block b{};
      b.added_ns = s->kernelNowNs();
      b.expires_ns = b.added_ns + 60'000'000'000ull;
      b.flags = SG_BLK_XDP_DROP | SG_BLK_MANUAL;
      ASSERT_OK(s->addBlock(keyOf("192.0.2.66"), b));

      ASSERT_OK(s->attach("va", XdpMode::kAuto));
      const XdpAttachment& a = s->attachments()[0];
      EXPECT_TRUE(a.dispatcher);
      EXPECT_EQ(a.mode, XdpMode::kNative) << "the mode xdp-loader chose";
      EXPECT_EQ(a.note, "joined libxdp's dispatcher at run priority 10 (other programs: " +
                            std::string(kForeignName) + ")");
      const auto progs = dispatcherPrograms("va");
      ASSERT_EQ(names(progs), (Names{SG_XDP_PROG_NAME, kForeignName})) << "ours runs first";
      EXPECT_EQ(progs[0].id, a.prog_id);
      EXPECT_EQ(progs[0].prio, kDispatcherRunPrio);

      // Ours drops the blocked source; what it passes reaches the other.
      sendSyns("192.0.2.66", 20);
      sendSyns("192.0.2.1", 30);
      EXPECT_TRUE(eventually([&] {
        auto c = s->readCounters();
        return c.ok() && c->c[SG_CNT_DROPPED] == 20 && foreignCount() == 30;
      })) << "dropped "
          << s->readCounters()->c[SG_CNT_DROPPED] << ", foreign saw " << foreignCount();
      EXPECT_EQ(s->readCounters()->c[SG_CNT_SYN], 30u);
    }
    // The agent is gone: only its program left the dispatcher.
    EXPECT_EQ(names(dispatcherPrograms("va")), Names{kForeignName});
    sendSyns("192.0.2.66", 5);
    EXPECT_TRUE(eventually([] { return foreignCount() == 35; })) << foreignCount();
  });
}

TEST(DispatcherTest, CoexistOnAFreeInterfaceLetsAnotherProgramJoinLater) {
  SG_REQUIRE_DISPATCHER();
  inFreshNamespaces([] {
    {
      auto s = loadSensor();
      ASSERT_NE(s, nullptr);
      ASSERT_OK(s->attach("va", XdpMode::kAuto, /*coexist=*/true));
      EXPECT_TRUE(s->attachments()[0].dispatcher);
      EXPECT_EQ(names(dispatcherPrograms("va")), Names{SG_XDP_PROG_NAME});
      loadForeign();
      EXPECT_EQ(names(dispatcherPrograms("va")), (Names{SG_XDP_PROG_NAME, kForeignName}));
    }
    EXPECT_EQ(names(dispatcherPrograms("va")), Names{kForeignName});
  });
}

// What SIGKILL leaves in dispatcher mode (our program, pinned by libxdp) and
// how the next start cleans it up.
TEST(DispatcherTest, ADeadAgentsProgramIsRemovedAtTheNextStart) {
  SG_REQUIRE_DISPATCHER();
  inFreshNamespaces([] {
    loadForeign();
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the agent that dies: attach, report, wait for SIGKILL
      auto s = XdpSensor::load(SensorOptions{});
      uint32_t id = 0;
      if (s.ok() && (*s)->attach("va", XdpMode::kAuto).ok()) id = (*s)->attachments()[0].prog_id;
      (void)!write(ready[1], &id, sizeof(id));
      for (int i = 0; i < 100; i++) sleep(1);
      _exit(0);
    }
    uint32_t dead_id = 0;
    ASSERT_EQ(read(ready[0], &dead_id, sizeof(dead_id)), static_cast<ssize_t>(sizeof(dead_id)));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    ASSERT_NE(dead_id, 0u);
    auto left = dispatcherPrograms("va");
    ASSERT_EQ(names(left), (Names{SG_XDP_PROG_NAME, kForeignName})) << "SIGKILL leaves ours";
    EXPECT_EQ(left[0].id, dead_id);

    {
      auto s = loadSensor();
      ASSERT_NE(s, nullptr);
      ASSERT_OK(s->attach("va", XdpMode::kAuto));
      const XdpAttachment& a = s->attachments()[0];
      EXPECT_EQ(a.note.find("removed a stale syn_guard_xdp (prog id " + std::to_string(dead_id) +
                            ") left in libxdp's dispatcher"),
                0u)
          << a.note;
      auto now = dispatcherPrograms("va");
      ASSERT_EQ(names(now), (Names{SG_XDP_PROG_NAME, kForeignName}));
      EXPECT_EQ(now[0].id, a.prog_id);
      EXPECT_NE(a.prog_id, dead_id);
    }
    EXPECT_EQ(names(dispatcherPrograms("va")), Names{kForeignName});
  });
}

TEST(DispatcherTest, ALiveAgentInTheDispatcherIsNeverRemoved) {
  SG_REQUIRE_DISPATCHER();
  inFreshNamespaces([] {
    loadForeign();
    auto first = loadSensor();
    auto second = loadSensor();
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    ASSERT_OK(first->attach("va", XdpMode::kAuto));
    auto r = second->attach("va", XdpMode::kAuto);
    EXPECT_ERROR(r, Errc::kAlreadyExists);
    EXPECT_NE(r.error().message().find("va: another syn-guard agent (pid " +
                                       std::to_string(getpid()) + ") is already attached"),
              std::string::npos)
        << r.error().message();
    auto progs = dispatcherPrograms("va");
    ASSERT_EQ(names(progs), (Names{SG_XDP_PROG_NAME, kForeignName}));
    EXPECT_EQ(progs[0].id, first->attachments()[0].prog_id);
  });
}

// Where the kernel cannot run the dispatcher, libxdp falls back to attaching
// our copy directly (by netlink, so it would outlive the agent unseen):
// attach() undoes that, says why, and leaves the interface as it found it.
TEST(DispatcherTest, CoexistFailsCleanlyWhereTheKernelHasNoDispatcher) {
  SG_REQUIRE_ROOT();
  if (kernelLoadsFreplace()) GTEST_SKIP() << "this kernel runs libxdp's dispatcher";
  inFreshNamespaces([] {
    auto s = loadSensor();
    ASSERT_NE(s, nullptr);
    auto r = s->attach("va", XdpMode::kAuto, /*coexist=*/true);
    EXPECT_ERROR(r, Errc::kUnavailable);
    EXPECT_NE(r.error().message().find("va: libxdp could not build its dispatcher"),
              std::string::npos)
        << r.error().message();
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    ASSERT_EQ(bpf_xdp_query(static_cast<int>(if_nametoindex("va")), 0, &q), 0);
    EXPECT_EQ(q.prog_id, 0u) << "nothing left attached";
    EXPECT_TRUE(s->attachments().empty());
    // Without coexist the agent still runs, through its link.
    ASSERT_OK(s->attach("va", XdpMode::kAuto));
    EXPECT_FALSE(s->attachments()[0].dispatcher);
  });
}

}  // namespace
}  // namespace sg::test
