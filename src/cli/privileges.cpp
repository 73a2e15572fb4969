#include "cli/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace sg::cli {

namespace {

bool hasCap(const __user_cap_data_struct (&data)[2], int cap) {
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

Result<void> checkAgentCapabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) {
    return Error(Errc::kIo, "cannot read this process's capabilities (capget)");
  }
  std::string missing;
  if (!hasCap(data, CAP_BPF) && !hasCap(data, CAP_SYS_ADMIN)) missing += " CAP_BPF";
  if (!hasCap(data, CAP_PERFMON) && !hasCap(data, CAP_SYS_ADMIN)) missing += " CAP_PERFMON";
  if (!hasCap(data, CAP_NET_ADMIN)) missing += " CAP_NET_ADMIN";
  if (!missing.empty()) {
    return Error(Errc::kPermissionDenied,
                 "missing capability:" + missing +
                     " (needed to load and attach the XDP program; run as root or grant them, "
                     "e.g. AmbientCapabilities= in the systemd unit)");
  }
  return Ok{};
}

}  // namespace sg::cli
