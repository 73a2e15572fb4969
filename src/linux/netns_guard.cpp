#include "linux/netns_guard.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include "linux/errno_text.h"

namespace sg {

Result<void> setLinkUp(const char* name) {
  if (std::strlen(name) >= IFNAMSIZ) {
    return makeError(Errc::kInvalidArgument, std::string("interface name too long: ") + name);
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(Errc::kIo, "socket: " + errnoText(errno));
  ifreq req{};
  std::strncpy(req.ifr_name, name, IFNAMSIZ - 1);
  Result<void> out = Ok{};
  if (ioctl(fd, SIOCGIFFLAGS, &req) != 0) {
    out = makeError(errno == ENODEV ? Errc::kNotFound : Errc::kIo,
                    std::string("SIOCGIFFLAGS ") + name + ": " + errnoText(errno));
  } else {
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
    if (ioctl(fd, SIOCSIFFLAGS, &req) != 0) {
      out = makeError(errno == EPERM ? Errc::kPermissionDenied : Errc::kIo,
                      std::string("bringing ") + name + " up: " + errnoText(errno));
    }
  }
  close(fd);
  return out;
}

Result<void> runInFreshNetns(const std::function<void()>& body) {
  std::optional<Error> failed;
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      int err = errno;
      failed = makeError(err == EPERM ? Errc::kPermissionDenied : Errc::kIo,
                         "unshare(CLONE_NEWNET): " + errnoText(err) +
                             (err == EPERM ? " (needs CAP_SYS_ADMIN)" : ""));
      return;
    }
    auto up = setLinkUp("lo");
    if (!up) {
      failed = up.error().context("fresh network namespace");
      return;
    }
    body();
  });
  worker.join();
  if (failed) return *failed;
  return Ok{};
}

}  // namespace sg
