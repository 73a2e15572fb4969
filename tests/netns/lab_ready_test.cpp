// The lab is ready when made (src/lab/lab.h): every host holds a PERMANENT
// neighbour entry for every other host's IPv4 and IPv6 address, and no lab
// address is tentative. The kernel's neighbour tables are shared by every
// namespace on the machine; a spoofed IPv6 flood anywhere fills the NDP one
// (gc_thresh3 = 1024), and then no new entry can be made: lab traffic that
// needed one failed (the attacker's sendmmsg() of forged SYNs to a reflector
// returned EINVAL, tests/netns/reflection_test.cpp). Pinned entries are
// neither created on the fly nor counted against that limit.
#include <nlohmann/json.hpp>

#include "lab_fixture.h"

namespace sg::lab::test {
namespace {

class LabReadyTest : public LabTest {
 protected:
  // A host's neighbour entries on its lab interface: address -> (MAC, state).
  static std::map<std::string, std::pair<std::string, std::string>> neighbours(
      const Lab::Member& m) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    auto text = m.ns->ip({"-j", "neigh", "show", "dev", m.dev});
    EXPECT_OK(text);
    if (!text.ok()) return out;
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    EXPECT_TRUE(doc.is_array()) << *text;
    if (!doc.is_array()) return out;
    for (const auto& e : doc) {
      std::string states;
      for (const auto& s : e.value("state", nlohmann::json::array()))
        states += s.get<std::string>();
      out[e.value("dst", "")] = {e.value("lladdr", ""), states};
    }
    return out;
  }

  void expectPinned() {
    const auto& members = lab_->members();
    for (const Lab::Member& m : members) {
      const auto entries = neighbours(m);
      for (const Lab::Member& other : members) {
        if (&other == &m) continue;
        for (const std::string& addr : other.addrs) {
          auto it = entries.find(addr);
          ASSERT_NE(it, entries.end()) << m.ns->name() << " has no entry for " << addr;
          EXPECT_EQ(it->second.first, other.mac) << m.ns->name() << ": " << addr;
          EXPECT_EQ(it->second.second, "PERMANENT") << m.ns->name() << ": " << addr;
        }
      }
    }
  }
};

TEST_F(LabReadyTest, EveryHostHoldsPermanentNeighbourEntriesForEveryOtherHost) {
  auto extra = lab_->addHost("extra", "10.200.1.30", "fd00:200:0:30::1");
  ASSERT_OK(extra);
  ASSERT_EQ(lab_->members().size(), 4u);
  EXPECT_EQ(lab_->members()[0].addrs, (std::vector<std::string>{kVictim.v4, kVictim.v6}));
  expectPinned();
  // No lab address is tentative (added without DAD): usable at once.
  for (const Lab::Member& m : lab_->members()) {
    auto text = m.ns->ip({"-j", "-6", "addr", "show", "dev", m.dev, "scope", "global"});
    ASSERT_OK(text);
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    ASSERT_TRUE(doc.is_array() && !doc.empty()) << *text;
    for (const auto& a : doc[0].value("addr_info", nlohmann::json::array())) {
      EXPECT_FALSE(a.value("tentative", false)) << m.ns->name() << ": " << a.dump();
    }
  }
}

// An address added to a lab host later (Lab::addAddress, e.g. more sources
// of the attacker's /64) is pinned in the others' tables too.
TEST_F(LabReadyTest, AnAddressAddedLaterIsPinnedLikeTheFirstOnes) {
  ASSERT_OK(lab_->addAddress(lab_->attacker(), "fd00:200:0:2::10/64"));
  ASSERT_OK(lab_->addAddress(lab_->attacker(), "10.200.1.20/24"));
  EXPECT_EQ(
      lab_->members()[1].addrs,
      (std::vector<std::string>{kAttacker.v4, kAttacker.v6, "fd00:200:0:2::10", "10.200.1.20"}));
  expectPinned();
  EXPECT_FALSE(lab_->addAddress(lab_->hub(), "10.200.1.21/24").ok()) << "the hub is no host";
}

// Traffic between lab hosts uses the pinned entries: after IPv4 and IPv6
// exchanges they are still the only ones, still PERMANENT.
TEST_F(LabReadyTest, TrafficBetweenLabHostsCreatesNoNeighbourEntry) {
  ASSERT_TRUE(connectFrom(lab_->client(), kVictim.v6).ok());
  ASSERT_TRUE(connectFrom(lab_->client(), kVictim.v4).ok());
  ASSERT_TRUE(connectFrom(lab_->attacker(), kVictim.v6).ok());
  expectPinned();
  for (const Lab::Member& m : lab_->members()) {
    for (const auto& [addr, entry] : neighbours(m)) {
      if (addr.rfind("fe80:", 0) == 0) continue;  // link-local: never used by the lab
      EXPECT_EQ(entry.second, "PERMANENT") << m.ns->name() << ": a new entry for " << addr;
    }
  }
}

}  // namespace
}  // namespace sg::lab::test
