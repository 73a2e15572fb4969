// XdpSensor::attach: link attach, reported mode, stale cleanup, refusals.
// Each test runs in a thread that unshares its own network namespace (only
// `lo` plus a veth pair made there), so nothing touches the host's
// interfaces and the namespace dies with the thread, also on failure.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "bpf/kernel_fixture.h"

namespace sg::test {
namespace {

// Runs `body` in a fresh network namespace with a veth pair va/vb.
void inFreshNetns(const std::function<void()>& body) {
  std::thread t([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET)";
    ASSERT_EQ(std::system("ip link add va type veth peer name vb && ip link set va up && "
                          "ip link set vb up && ip link set lo up"),
              0);
    body();
  });
  t.join();
}

uint32_t attachedProg(int ifindex, uint32_t* drv, uint32_t* skb) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return 0;
  *drv = q.drv_prog_id;
  *skb = q.skb_prog_id;
  return q.prog_id;
}

std::unique_ptr<XdpSensor> loadSensor() {
  auto s = XdpSensor::load(SensorOptions{});
  if (!s.ok()) {
    ADD_FAILURE() << s.error().message();
    return nullptr;
  }
  return std::move(s.value());
}

TEST(AttachTest, MissingInterfaceIsNamed) {
  SG_REQUIRE_ROOT();
  auto s = loadSensor();
  ASSERT_NE(s, nullptr);
  auto r = s->attach("eth9", XdpMode::kAuto);
  EXPECT_ERROR(r, Errc::kNotFound);
  EXPECT_EQ(r.error().message(), "no such interface 'eth9'");
}

TEST(AttachTest, AttachesThroughALinkAndReportsTheMode) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    const int va = static_cast<int>(if_nametoindex("va"));
    const int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_GT(va, 0);
    {
      auto s = loadSensor();
      ASSERT_NE(s, nullptr);
      ASSERT_OK(s->attach("va", XdpMode::kAuto));
      ASSERT_OK(s->attach("lo", XdpMode::kGeneric));
      EXPECT_ERROR(s->attach("lo", XdpMode::kGeneric), Errc::kAlreadyExists);
      ASSERT_EQ(s->attachments().size(), 2u);
      EXPECT_EQ(s->attachments()[0].mode, XdpMode::kNative) << "veth has native XDP";
      EXPECT_EQ(s->attachments()[1].mode, XdpMode::kGeneric);
      EXPECT_TRUE(s->attachments()[0].note.empty());
      uint32_t drv = 0, skb = 0;
      attachedProg(va, &drv, &skb);
      EXPECT_EQ(drv, s->attachments()[0].prog_id);
      attachedProg(lo, &drv, &skb);
      EXPECT_EQ(skb, s->attachments()[1].prog_id);
    }
    // The sensor is gone: its links, and so the programs, are detached.
    uint32_t drv = 1, skb = 1;
    attachedProg(va, &drv, &skb);
    EXPECT_EQ(drv + skb, 0u);
    attachedProg(lo, &drv, &skb);
    EXPECT_EQ(drv + skb, 0u);
  });
}

TEST(AttachTest, NativeModeOnADriverWithoutItIsRefusedClearly) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    auto s = loadSensor();
    ASSERT_NE(s, nullptr);
    auto r = s->attach("lo", XdpMode::kNative);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("lo"), std::string::npos) << r.error().message();
  });
}

TEST(AttachTest, SecondAgentIsRefused) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    auto first = loadSensor();
    auto second = loadSensor();
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    ASSERT_OK(first->attach("va", XdpMode::kAuto));
    auto r = second->attach("va", XdpMode::kAuto);
    EXPECT_ERROR(r, Errc::kAlreadyExists);
    EXPECT_NE(r.error().message().find("va: another syn-guard agent is already attached (prog id " +
                                       std::to_string(first->attachments()[0].prog_id)),
              std::string::npos)
        << r.error().message();
  });
}

TEST(AttachTest, StaleNetlinkAttachIsReplacedAndSaidSo) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    const int va = static_cast<int>(if_nametoindex("va"));
    uint32_t stale_id = 0;
    {
      auto old = loadSensor();
      ASSERT_NE(old, nullptr);
      // What `ip link set dev va xdp obj ...` does: a netlink attach that
      // outlives the process.
      ASSERT_EQ(bpf_xdp_attach(va, old->progFd(), XDP_FLAGS_DRV_MODE, nullptr), 0);
      uint32_t drv = 0, skb = 0;
      attachedProg(va, &drv, &skb);
      stale_id = drv;
    }
    ASSERT_NE(stale_id, 0u);
    auto s = loadSensor();
    ASSERT_NE(s, nullptr);
    ASSERT_OK(s->attach("va", XdpMode::kAuto));
    const std::string& note = s->attachments()[0].note;
    EXPECT_NE(note.find("stale syn_guard_xdp (prog id " + std::to_string(stale_id)),
              std::string::npos)
        << note;
    uint32_t drv = 0, skb = 0;
    attachedProg(va, &drv, &skb);
    EXPECT_EQ(drv, s->attachments()[0].prog_id);
  });
}

TEST(AttachTest, ForeignProgramIsNeverReplaced) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    const int va = static_cast<int>(if_nametoindex("va"));
    // r0 = XDP_PASS; exit
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_xdp", "GPL", insns, 2, nullptr);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(bpf_xdp_attach(va, fd, XDP_FLAGS_SKB_MODE, nullptr), 0);
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);

    auto s = loadSensor();
    ASSERT_NE(s, nullptr);
    auto r = s->attach("va", XdpMode::kAuto);
    EXPECT_ERROR(r, Errc::kAlreadyExists);
    const std::string& msg = r.error().message();
    EXPECT_NE(msg.find("'foreign_xdp', prog id " + std::to_string(info.id)), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("libxdp"), std::string::npos) << msg;
    uint32_t drv = 0, skb = 0;
    attachedProg(va, &drv, &skb);
    EXPECT_EQ(skb, info.id) << "left in place";
    bpf_xdp_detach(va, XDP_FLAGS_SKB_MODE, nullptr);
    close(fd);
  });
}

// A foreign program attached directly through its own bpf_link (not through
// libxdp's dispatcher) is refused, named, link included.
TEST(AttachTest, ForeignProgramOnALinkIsRefusedAndNamed) {
  SG_REQUIRE_ROOT();
  inFreshNetns([] {
    const int va = static_cast<int>(if_nametoindex("va"));
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_link", "GPL", insns, 2, nullptr);
    ASSERT_GE(fd, 0);
    const int link = bpf_link_create(fd, va, BPF_XDP, nullptr);
    ASSERT_GE(link, 0);
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    bpf_link_info li{};
    len = sizeof(li);
    ASSERT_EQ(bpf_obj_get_info_by_fd(link, &li, &len), 0);

    for (bool coexist : {false, true}) {
      auto s = loadSensor();
      ASSERT_NE(s, nullptr);
      auto r = s->attach("va", XdpMode::kAuto, coexist);
      EXPECT_ERROR(r, Errc::kAlreadyExists);
      EXPECT_NE(r.error().message().find("va: another XDP program is attached directly "
                                         "('foreign_link', prog id " +
                                         std::to_string(info.id) + ", through bpf_link id " +
                                         std::to_string(li.id) + ")"),
                std::string::npos)
          << r.error().message();
    }
    uint32_t drv = 0, skb = 0;
    EXPECT_EQ(attachedProg(va, &drv, &skb), info.id) << "left in place";
    close(link);
    close(fd);
  });
}

}  // namespace
}  // namespace sg::test
