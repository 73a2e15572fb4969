#include "lab/lab.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "lab/subprocess.h"

namespace sg::lab {
namespace {

constexpr const char* kProbeTable = "sg_lab_probe";

Result<void> setUpHost(const Netns& ns, const Netns& hub, const LabHost& host,
                       const std::string& hub_dev) {
  SG_TRY(addVethPair(ns, host.dev, hub, hub_dev));
  SG_TRY(hub.ip({"link", "set", "dev", hub_dev, "master", "br0"}));
  SG_TRY(ns.addAddress(host.dev, std::string(host.v4) + "/24"));
  SG_TRY(ns.addAddress(host.dev, std::string(host.v6) + "/64"));
  SG_TRY(ns.addRoute("fd00:200::/32", host.dev));
  return Ok{};
}

// Runs `argv` followed by the path of a temporary file holding `text`.
Result<void> runWithFile(const std::string& text, std::vector<std::string> argv,
                         const std::function<Result<std::string>(std::vector<std::string>)>& run) {
  char path[] = "/tmp/sg-lab-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return makeError(Errc::kIo, "mkstemp failed");
  bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  argv.emplace_back(path);
  Result<std::string> done =
      written ? run(argv) : Result<std::string>(makeError(Errc::kIo, "write failed"));
  unlink(path);
  if (!done.ok()) return done.error();
  return Ok{};
}

// Loads an nftables ruleset (text) into a namespace.
Result<void> loadRules(const Netns& ns, const std::string& rules) {
  return runWithFile(rules, {"nft", "-f"}, [&](auto argv) { return ns.run(argv); });
}

// `ip neigh replace ... nud permanent` for each address of `to`, on `dev`.
std::string pinCommands(const Lab::Member& to, const std::string& dev) {
  std::string out;
  for (const std::string& a : to.addrs) {
    out += "neigh replace " + a + " lladdr " + to.mac + " dev " + dev + " nud permanent\n";
  }
  return out;
}

Result<void> pinIn(const Netns& ns, const std::string& commands) {
  return runWithFile(commands, {"-batch"}, [&](auto argv) { return ns.ip(argv); });
}

Result<std::string> macOf(const Netns& ns, const std::string& dev) {
  auto out = ns.ip({"-j", "link", "show", "dev", dev});
  if (!out.ok()) return out.error();
  auto doc = nlohmann::json::parse(*out, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty() || !doc[0].contains("address")) {
    return makeError(Errc::kIo, "ip -j link printed no address for " + dev);
  }
  return doc[0]["address"].get<std::string>();
}

std::string withoutLength(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

}  // namespace

Result<const Netns*> Lab::addHost(const std::string& role, const std::string& v4,
                                  const std::string& v6) {
  auto ns = Netns::create(role);
  if (!ns.ok()) return ns.error();
  extra_.push_back(std::make_unique<Netns>(std::move(*ns)));
  const Netns& host = *extra_.back();
  const std::string hub_dev = "hx" + std::to_string(extra_.size() - 1);
  SG_TRY(addVethPair(host, "veth-x", hub_, hub_dev));
  SG_TRY(hub_.ip({"link", "set", "dev", hub_dev, "master", "br0"}));
  SG_TRY(host.addAddress("veth-x", v4 + "/24"));
  SG_TRY(host.addAddress("veth-x", v6 + "/64"));
  SG_TRY(host.addRoute("fd00:200::/32", "veth-x"));
  SG_TRY(join(host, "veth-x", {v4, v6}));
  return &host;
}

Result<void> Lab::join(const Netns& ns, const std::string& dev, std::vector<std::string> addrs) {
  auto mac = macOf(ns, dev);
  if (!mac.ok()) return mac.error();
  Member m{&ns, dev, *mac, {}};
  for (const std::string& a : addrs) m.addrs.push_back(withoutLength(a));
  std::string theirs;
  for (const Member& other : members_) {
    SG_TRY(pinIn(*other.ns, pinCommands(m, other.dev)));
    theirs += pinCommands(other, dev);
  }
  if (!theirs.empty()) SG_TRY(pinIn(ns, theirs));
  members_.push_back(std::move(m));
  return Ok{};
}

Result<void> Lab::addAddress(const Netns& host, const std::string& cidr) {
  auto m = std::find_if(members_.begin(), members_.end(),
                        [&](const Member& x) { return x.ns == &host; });
  if (m == members_.end()) {
    return makeError(Errc::kNotFound, "namespace " + host.name() + " is not a lab host");
  }
  SG_TRY(host.addAddress(m->dev, cidr));
  const Member added{m->ns, m->dev, m->mac, {withoutLength(cidr)}};
  for (const Member& other : members_) {
    if (&other != &*m) SG_TRY(pinIn(*other.ns, pinCommands(added, other.dev)));
  }
  m->addrs.push_back(added.addrs.front());
  return Ok{};
}

Result<std::unique_ptr<Lab>> Lab::create() {
  removeStaleNamespaces();
  auto hub = Netns::create("hub");
  if (!hub.ok()) return hub.error();
  auto victim = Netns::create("victim");
  if (!victim.ok()) return victim.error();
  auto attacker = Netns::create("attacker");
  if (!attacker.ok()) return attacker.error();
  auto client = Netns::create("client");
  if (!client.ok()) return client.error();
  std::unique_ptr<Lab> lab(
      new Lab(std::move(*hub), std::move(*victim), std::move(*attacker), std::move(*client)));
  const Netns& h = lab->hub_;
  // No STP (ports forward at once), no multicast snooping (IPv6 ND just works).
  SG_TRY(h.ip(
      {"link", "add", "name", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0"}));
  SG_TRY(h.linkUp("br0"));
  SG_TRY(setUpHost(lab->victim_, h, kVictim, "hv"));
  SG_TRY(setUpHost(lab->attacker_, h, kAttacker, "ha"));
  SG_TRY(setUpHost(lab->client_, h, kClient, "hc"));
  for (auto [ns, host] :
       {std::pair{&lab->victim_, &kVictim}, std::pair{&lab->attacker_, &kAttacker},
        std::pair{&lab->client_, &kClient}}) {
    SG_TRY(lab->join(*ns, host->dev, {host->v4, host->v6}));
  }
  return lab;
}

Result<SynProbe> SynProbe::install(const Netns& ns, const std::vector<std::string>& sources) {
  std::string rules = std::string("table inet ") + kProbeTable +
                      " {\n chain in {\n  type filter hook input priority 500; policy accept;\n";
  for (size_t i = 0; i < sources.size(); ++i) {
    const std::string& s = sources[i];
    rules += std::string("  ") + (s.find(':') != std::string::npos ? "ip6" : "ip") + " saddr " + s +
             " tcp flags & (fin|syn|rst|ack) == syn counter comment \"p" + std::to_string(i) +
             "\"\n";
  }
  rules += " }\n}\n";
  auto loaded = loadRules(ns, rules);
  if (!loaded.ok()) return loaded.error().context("installing the SYN probe");
  SynProbe probe;
  probe.netns_ = ns.name();
  probe.sources_ = sources;
  return probe;
}

Result<std::map<std::string, uint64_t>> SynProbe::read() const {
  auto out = runChecked({"nft", "-j", "list", "table", "inet", kProbeTable}, netns_);
  if (!out.ok()) return out.error().context("reading the SYN probe");
  std::map<std::string, uint64_t> counts;
  for (const auto& s : sources_) counts[s] = 0;
  auto doc = nlohmann::json::parse(*out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables")) {
    return makeError(Errc::kIo, "nft -j printed something that is not its JSON");
  }
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("rule")) continue;
    const auto& rule = item["rule"];
    std::string comment = rule.value("comment", "");
    if (comment.size() < 2 || comment[0] != 'p') continue;
    size_t idx = std::stoul(comment.substr(1));
    if (idx >= sources_.size()) continue;
    for (const auto& stmt : rule["expr"]) {
      if (stmt.contains("counter")) counts[sources_[idx]] = stmt["counter"].value("packets", 0ull);
    }
  }
  return counts;
}

Result<uint64_t> SynProbe::read(const std::string& source) const {
  auto all = read();
  if (!all.ok()) return all.error();
  auto it = all->find(source);
  if (it == all->end()) return makeError(Errc::kNotFound, "no probe for source " + source);
  return it->second;
}

Result<NftCounter> NftCounter::install(const Netns& ns, const std::string& table,
                                       const std::string& hook, const std::string& match) {
  if (hook != "input" && hook != "output") {
    return makeError(Errc::kInvalidArgument, "hook must be input or output: '" + hook + "'");
  }
  const std::string rules = "table inet " + table + " {\n chain c {\n  type filter hook " + hook +
                            " priority 500; policy accept;\n  " + match + " counter\n }\n}\n";
  auto loaded = loadRules(ns, rules);
  if (!loaded.ok()) return loaded.error().context("installing the nft counter " + table);
  NftCounter c;
  c.netns_ = ns.name();
  c.table_ = table;
  return c;
}

Result<uint64_t> NftCounter::read() const {
  auto out = runChecked({"nft", "-j", "list", "table", "inet", table_}, netns_);
  if (!out.ok()) return out.error().context("reading the nft counter " + table_);
  auto doc = nlohmann::json::parse(*out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("nftables")) {
    return makeError(Errc::kIo, "nft -j printed something that is not its JSON");
  }
  for (const auto& item : doc["nftables"]) {
    if (!item.contains("rule")) continue;
    for (const auto& stmt : item["rule"]["expr"]) {
      if (stmt.contains("counter")) return stmt["counter"].value("packets", uint64_t{0});
    }
  }
  return makeError(Errc::kNotFound, "no counter in table " + table_);
}

Result<std::string> nftRuleset(const Netns& ns) { return ns.run({"nft", "list", "ruleset"}); }

}  // namespace sg::lab
