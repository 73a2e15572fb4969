#include "linux/nft_table_owner.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "linux/nft_enforcer_netlink.h"

namespace sg {
namespace {

std::string commOf(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(f, comm);
  return comm;
}

// True when `pid` runs and is the same program as this one (a pid the
// comment names may since have been reused by something else).
bool liveAgent(int pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  std::string comm = commOf(pid);
  return !comm.empty() && comm == commOf(getpid());
}

}  // namespace

Result<std::optional<NftTableInfo>> queryNftTable(NftNetlink& nl, const std::string& table) {
  std::optional<NftTableInfo> info;
  Result<void> parsed = Ok{};
  auto r = nl.query(nftGetTableMsg(table), [&](const nlmsghdr* nlh) {
    auto t = parseNftTable(nlh);
    if (t) {
      info = *t;
    } else {
      parsed = t.error();
    }
  });
  if (!r && r.error().code() == Errc::kNotFound) return std::optional<NftTableInfo>{};
  if (!r) return r.error().context("looking up nftables table inet " + table);
  if (!parsed) return parsed.error();
  return info;
}

bool nftTableHeld(const NftTableInfo& t) {
  return t.has_owner || liveAgent(nftCommentPid(t.comment));
}

Error nftTableHeldError(const std::string& table, const NftTableInfo& t, const std::string& hint) {
  std::string who = t.has_owner ? "netlink port " + std::to_string(t.owner_port) : "";
  if (!t.comment.empty()) who += (who.empty() ? "" : ", ") + ("\"" + t.comment + "\"");
  return makeError(Errc::kAlreadyExists, "nftables table inet " + table +
                                             " is held by another running process (" + who +
                                             "): " + hint);
}

}  // namespace sg
