#include "lab/netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>

#include "lab/subprocess.h"

namespace sg::lab {
namespace {

std::atomic<int> g_seq{0};

}  // namespace

Result<Netns> Netns::create(const std::string& role) {
  if (role.empty() || role.size() > 16) {
    return makeError(Errc::kInvalidArgument, "netns role must be 1..16 characters: '" + role + "'");
  }
  std::string name =
      "sg-" + std::to_string(getpid()) + "-" + role + "-" + std::to_string(g_seq.fetch_add(1));
  auto r = runChecked({"ip", "netns", "add", name});
  if (!r.ok()) return r.error().context("creating network namespace " + name);
  Netns ns(name);
  auto up = ns.linkUp("lo");
  if (!up.ok()) return up.error();
  return ns;
}

Netns::Netns(Netns&& other) noexcept : name_(std::move(other.name_)) { other.name_.clear(); }

Netns& Netns::operator=(Netns&& other) noexcept {
  if (this != &other) {
    remove();
    name_ = std::move(other.name_);
    other.name_.clear();
  }
  return *this;
}

Netns::~Netns() { remove(); }

void Netns::remove() {
  if (name_.empty()) return;
  auto r = runCommand({"ip", "netns", "del", name_});
  if (!r.ok() || r->exit_code != 0) {
    std::fprintf(stderr, "syn-guard lab: could not delete netns %s: %s\n", name_.c_str(),
                 r.ok() ? r->err.c_str() : r.error().message().c_str());
  }
  name_.clear();
}

Result<std::string> Netns::run(const std::vector<std::string>& argv) const {
  return runChecked(argv, name_);
}

Result<std::string> Netns::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  return runChecked(argv);
}

Result<void> Netns::linkUp(const std::string& dev) const {
  SG_TRY(ip({"link", "set", "dev", dev, "up"}));
  return Ok{};
}

Result<void> Netns::addAddress(const std::string& dev, const std::string& cidr) const {
  if (cidr.find(':') != std::string::npos) {
    SG_TRY(ip({"-6", "addr", "add", cidr, "dev", dev, "nodad"}));
  } else {
    SG_TRY(ip({"addr", "add", cidr, "dev", dev}));
  }
  return Ok{};
}

Result<void> Netns::addRoute(const std::string& cidr, const std::string& dev) const {
  SG_TRY(ip({cidr.find(':') != std::string::npos ? "-6" : "-4", "route", "add", cidr, "dev", dev}));
  return Ok{};
}

Result<void> Netns::setSysctl(const std::string& key, const std::string& value) const {
  SG_TRY(run({"sysctl", "-q", "-w", key + "=" + value}));
  return Ok{};
}

Result<void> addVethPair(const Netns& a, const std::string& a_dev, const Netns& b,
                         const std::string& b_dev) {
  // Created directly inside the namespaces: no name is ever taken in the host.
  auto r = a.ip(
      {"link", "add", "name", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b.name()});
  if (!r.ok()) return r.error().context("creating veth " + a_dev + "<->" + b_dev);
  SG_TRY(a.linkUp(a_dev));
  SG_TRY(b.linkUp(b_dev));
  return Ok{};
}

Result<void> enterNetns(const std::string& name) {
  std::string path = "/var/run/netns/" + name;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return makeError(Errc::kNotFound, "open " + path + ": " + std::strerror(errno));
  }
  int rc = setns(fd, CLONE_NEWNET);
  int e = errno;
  close(fd);
  if (rc != 0) return makeError(Errc::kPermissionDenied, "setns " + name + ": " + std::strerror(e));
  return Ok{};
}

Result<std::thread> startThreadIn(const std::string& netns, std::function<void()> fn) {
  std::promise<Result<void>> entered;
  auto fut = entered.get_future();
  std::thread t([entered = std::move(entered), netns, fn = std::move(fn)]() mutable {
    auto r = enterNetns(netns);
    bool ok = r.ok();
    entered.set_value(std::move(r));
    if (ok) fn();
  });
  auto r = fut.get();
  if (!r.ok()) {
    t.join();
    return r.error();
  }
  return t;
}

int removeStaleNamespaces() {
  DIR* dir = opendir("/var/run/netns");
  if (dir == nullptr) return 0;
  std::vector<std::string> stale;
  while (dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n.rfind("sg-", 0) != 0) continue;
    size_t dash = n.find('-', 3);
    if (dash == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(n.substr(3, dash - 3).c_str()));
    if (pid <= 0 || pid == getpid()) continue;
    if (kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(n);
  }
  closedir(dir);
  int removed = 0;
  for (const auto& n : stale) {
    auto r = runCommand({"ip", "netns", "del", n});
    if (r.ok() && r->exit_code == 0) ++removed;
  }
  return removed;
}

}  // namespace sg::lab
