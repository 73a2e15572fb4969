// The standard lab: three hosts on one Ethernet segment (a bridge in a `hub`
// namespace), made and removed as a unit.
//
//   victim   veth-v  10.200.1.1/24  fd00:200:0:1::1/64   agent + server
//   attacker veth-a  10.200.1.2/24  fd00:200:0:2::1/64   sg-flood
//   client   veth-c  10.200.1.3/24  fd00:200:0:3::1/64   legitimate client
//
// Each host's IPv6 /64 is its own (so counting attackers per /64 never lumps
// them with the victim or the client); fd00:200::/32 is on-link everywhere.
// More hosts join the segment with addHost() (e.g. the reflectors of
// tests/netns/reflection_test.cpp: servers an attacker makes answer the victim).
//
// Ready when made: IPv6 addresses are added without DAD (usable at once), and
// every host holds a PERMANENT neighbour entry (ARP and NDP) for every other
// host's addresses, so traffic between lab hosts never creates a neighbour
// entry. The kernel's neighbour tables are one per family for the whole
// machine, all namespaces together (gc_thresh3 = 1024 entries): a spoofed
// IPv6 flood anywhere on the machine (a host answering random sources of the
// on-link fd00:200::/32 leaves one entry per source for seconds) fills the
// NDP table, and while it is full every new entry fails ("ndisc_cache:
// neighbor table overflow!"; a raw socket's sendmmsg() then returns EINVAL,
// a connect() times out). Permanent entries are not counted against that
// limit and are never collected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "lab/netns.h"

namespace sg::lab {

struct LabHost {
  const char* dev;
  const char* v4;
  const char* v6;
};
inline constexpr LabHost kVictim{"veth-v", "10.200.1.1", "fd00:200:0:1::1"};
inline constexpr LabHost kAttacker{"veth-a", "10.200.1.2", "fd00:200:0:2::1"};
inline constexpr LabHost kClient{"veth-c", "10.200.1.3", "fd00:200:0:3::1"};
inline constexpr uint16_t kServerPort = 8080;

class Lab {
 public:
  // Builds the topology; on any failure, whatever was made is removed again.
  static Result<std::unique_ptr<Lab>> create();

  const Netns& victim() const { return victim_; }
  const Netns& attacker() const { return attacker_; }
  const Netns& client() const { return client_; }
  const Netns& hub() const { return hub_; }

  // One more host on the segment: a namespace `role` whose "veth-x" carries
  // `v4`/24 and `v6`/64 (both in the lab ranges, unused by the others);
  // removed with the lab. The reference stays valid while the lab lives.
  // Its neighbour entries and the others' for it are pinned (see above).
  Result<const Netns*> addHost(const std::string& role, const std::string& v4,
                               const std::string& v6);

  // One more address on a member's lab interface ("fd00:200:0:2::10/64"),
  // pinned in every other member's neighbour table like the first ones.
  Result<void> addAddress(const Netns& host, const std::string& cidr);

  // A host on the segment: its namespace, interface, MAC and addresses.
  struct Member {
    const Netns* ns;
    std::string dev;
    std::string mac;
    std::vector<std::string> addrs;  // without prefix length
  };
  const std::vector<Member>& members() const { return members_; }

 private:
  // Pins `m`'s addresses in every member's neighbour tables and theirs in
  // m's, then makes it a member.
  Result<void> join(const Netns& ns, const std::string& dev, std::vector<std::string> addrs);
  Lab(Netns hub, Netns victim, Netns attacker, Netns client)
      : hub_(std::move(hub)),
        victim_(std::move(victim)),
        attacker_(std::move(attacker)),
        client_(std::move(client)) {}
  Netns hub_;
  Netns victim_;
  Netns attacker_;
  Netns client_;
  std::vector<std::unique_ptr<Netns>> extra_;
  std::vector<Member> members_;
};

// Counts the connection attempts (SYN without ACK) that were delivered to the
// victim's own stack, per source prefix: an nftables counter on the input hook
// at priority 500, i.e. after every drop rule an enforcer installs. This is
// "what reached the victim".
class SynProbe {
 public:
  // `sources`: "10.200.1.2", "10.200.1.0/24", "fd00:200:0:2::/64", ...
  static Result<SynProbe> install(const Netns& ns, const std::vector<std::string>& sources);
  // Attempts delivered from each source so far.
  Result<std::map<std::string, uint64_t>> read() const;
  Result<uint64_t> read(const std::string& source) const;

 private:
  std::string netns_;
  std::vector<std::string> sources_;
};

// One nftables counter of packets matching `match` (nft syntax, e.g.
// "tcp flags & (fin|syn|rst|ack) == syn|ack") on a namespace's input or output
// hook at priority 500 (after every drop rule an enforcer installs), in a
// table of its own named `table` (removed with the namespace).
class NftCounter {
 public:
  static Result<NftCounter> install(const Netns& ns, const std::string& table,
                                    const std::string& hook, const std::string& match);
  Result<uint64_t> read() const;

 private:
  std::string netns_;
  std::string table_;
};

// The nftables ruleset of a namespace as text (`nft list ruleset`).
Result<std::string> nftRuleset(const Netns& ns);

}  // namespace sg::lab
