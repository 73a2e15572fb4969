// Network namespaces for the lab: RAII creation/removal (`ip netns add/del`),
// veth pairs, addresses and routes, and running code inside a namespace (a
// thread that setns()es itself, or a spawned process, see subprocess.h).
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace sg::lab {

// One named network namespace, "sg-<pid>-<role>-<seq>", deleted (with every
// interface inside it) by the destructor. Move-only.
class Netns {
 public:
  static Result<Netns> create(const std::string& role);
  Netns(Netns&& other) noexcept;
  Netns& operator=(Netns&& other) noexcept;
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns();

  const std::string& name() const { return name_; }

  // `argv` run inside the namespace; its stdout, or an error with its stderr.
  Result<std::string> run(const std::vector<std::string>& argv) const;
  // `ip <args...>` for this namespace (ip -n NAME ...).
  Result<std::string> ip(const std::vector<std::string>& args) const;
  Result<void> linkUp(const std::string& dev) const;
  // "10.200.1.1/24" or "fd00:200:0:1::1/64" (IPv6 added with nodad: usable at once).
  Result<void> addAddress(const std::string& dev, const std::string& cidr) const;
  // An on-link route: "fd00:200::/32" via `dev`.
  Result<void> addRoute(const std::string& cidr, const std::string& dev) const;
  // sysctl -w key=value inside the namespace (net.* keys are per namespace).
  Result<void> setSysctl(const std::string& key, const std::string& value) const;

 private:
  explicit Netns(std::string name) : name_(std::move(name)) {}
  void remove();
  std::string name_;
};

// A veth pair with one end in each namespace, both ends up.
Result<void> addVethPair(const Netns& a, const std::string& a_dev, const Netns& b,
                         const std::string& b_dev);

// Moves the calling thread into the named namespace (setns CLONE_NEWNET).
Result<void> enterNetns(const std::string& name);
// Starts `fn` on a new thread that first enters the namespace; an error when
// it could not enter (then `fn` never runs). The caller joins the thread.
Result<std::thread> startThreadIn(const std::string& netns, std::function<void()> fn);

// Deletes namespaces named "sg-<pid>-..." whose process no longer exists
// (left behind by a lab owner that was killed). Returns how many it removed.
int removeStaleNamespaces();

}  // namespace sg::lab
