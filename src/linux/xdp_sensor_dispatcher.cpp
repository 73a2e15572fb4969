// XdpSensor: running beside other XDP programs through libxdp's dispatcher.
//
// libxdp's dispatcher is an XDP program with slots that other programs
// replace (freplace): each runs in turn, by run priority, and the next one
// runs when the previous returns one of its chain-call actions. A program
// joins as an EXT program loaded for the dispatcher, so the skeleton's
// program (loaded as XDP) cannot: we load a copy of syn_guard_xdp from the
// skeleton's own ELF bytes, with every map (the .rodata knobs, the block
// prefilter and the counters included) shared with the skeleton, so the copy
// reads and writes the very state the agent manages. Our run priority is
// kDispatcherRunPrio; XDP_PASS chains to the next program, XDP_DROP ends it.
//
// What a crash leaves: libxdp pins the dispatcher and its programs in bpffs
// (/sys/fs/bpf/xdp), so, unlike a bpf_link, our program outlives a killed
// agent and keeps counting, blocking and dropping from its maps (kernel
// blocks still expire by themselves). The next start finds it in the
// dispatcher by name, sees that no process holds it open (a live agent
// holds its program's fd) and removes it before joining again; the note of
// the attachment says so. A clean exit removes it (detachAll()).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

std::string xdpErrorText(int err) {
  char buf[256] = {};
  libxdp_strerror(err, buf, sizeof(buf));
  return buf;
}

// A process that holds program `prog_id` open, or 0. A live agent holds its
// program's fd; a dead one's program is held only by the dispatcher's pinned
// links. (A process in another PID namespace is not seen.)
long pidHolding(uint32_t prog_id) {
  const std::string want = "prog_id:\t" + std::to_string(prog_id);
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  long found = 0;
  while (dirent* p = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(p->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    const std::string base = std::string("/proc/") + p->d_name;
    DIR* fds = opendir((base + "/fd").c_str());
    if (fds == nullptr) continue;  // gone, or not ours to read
    while (dirent* f = readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      char target[64] = {};
      const std::string fd_path = base + "/fd/" + f->d_name;
      if (readlink(fd_path.c_str(), target, sizeof(target) - 1) < 0) continue;
      if (std::strcmp(target, "anon_inode:bpf-prog") != 0) continue;
      std::ifstream info(base + "/fdinfo/" + f->d_name);
      for (std::string line; std::getline(info, line);) {
        if (line == want) found = pid;
      }
      if (found != 0) break;
    }
    closedir(fds);
    if (found != 0) break;
  }
  closedir(proc);
  return found;
}

struct Component {
  uint32_t id = 0;
  std::string name;
};

// The programs in the dispatcher on `ifindex` (empty when there is none).
std::vector<Component> dispatcherPrograms(int ifindex, enum xdp_attach_mode* mode) {
  std::vector<Component> out;
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (mp == nullptr || libxdp_get_error(mp) != 0) return out;
  if (!xdp_multiprog__is_legacy(mp)) {
    if (mode != nullptr) *mode = xdp_multiprog__attach_mode(mp);
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
         p = xdp_multiprog__next_prog(p, mp)) {
      out.push_back({xdp_program__id(p), xdp_program__name(p)});
    }
  }
  xdp_multiprog__close(mp);
  return out;
}

// Removes the program `prog_id` from the dispatcher on `ifindex`.
int removeFromDispatcher(int ifindex, uint32_t prog_id) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (mp == nullptr || libxdp_get_error(mp) != 0) return -ENOENT;
  int err = -ENOENT;
  for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
       p = xdp_multiprog__next_prog(p, mp)) {
    if (xdp_program__id(p) == prog_id) {
      err = xdp_program__detach(p, ifindex, XDP_MODE_UNSPEC, 0);
      break;
    }
  }
  xdp_multiprog__close(mp);
  return err;
}

XdpMode fromXdpMode(enum xdp_attach_mode m) {
  return m == XDP_MODE_NATIVE ? XdpMode::kNative
         : m == XDP_MODE_SKB  ? XdpMode::kGeneric
                              : XdpMode::kAuto;
}

}  // namespace

bool XdpSensor::dispatcherAttached(int ifindex) {
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (mp == nullptr || libxdp_get_error(mp) != 0) return false;
  const bool yes = !xdp_multiprog__is_legacy(mp);
  xdp_multiprog__close(mp);
  return yes;
}

Result<bool> XdpSensor::cleanDispatcher(int ifindex, const std::string& ifname, std::string* note) {
  for (const Component& c : dispatcherPrograms(ifindex, nullptr)) {
    if (c.name != SG_XDP_PROG_NAME) continue;
    if (const long pid = pidHolding(c.id); pid != 0) {
      return makeError(Errc::kAlreadyExists,
                       ifname + ": another syn-guard agent (pid " + std::to_string(pid) +
                           ") is already attached through libxdp's dispatcher (prog id " +
                           std::to_string(c.id) + ")");
    }
    if (const int err = removeFromDispatcher(ifindex, c.id); err != 0) {
      return makeError(Errc::kIo, ifname + ": removing a stale " SG_XDP_PROG_NAME " (prog id " +
                                      std::to_string(c.id) +
                                      ") from libxdp's dispatcher failed: " + xdpErrorText(err));
    }
    if (!note->empty()) *note += "; ";
    *note += "removed a stale " SG_XDP_PROG_NAME " (prog id " + std::to_string(c.id) +
             ") left in libxdp's dispatcher by an agent that did not exit cleanly";
  }
  return dispatcherAttached(ifindex);
}

Result<bpf_object*> XdpSensor::openProgramCopy() {
  size_t size = 0;
  const void* elf = syn_guard__elf_bytes(&size);
  LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = "syn_guard");
  bpf_object* obj = bpf_object__open_mem(elf, size, &open_opts);
  if (obj == nullptr) {
    return makeError(Errc::kIo, "opening a copy of the XDP object failed: " + errnoText(errno));
  }
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    const bpf_map* ours = bpf_object__find_map_by_name(skel_->obj, bpf_map__name(map));
    const int err = ours == nullptr ? -ENOENT : bpf_map__reuse_fd(map, bpf_map__fd(ours));
    if (err != 0) {
      bpf_object__close(obj);
      return makeError(Errc::kIo, std::string("sharing map ") + bpf_map__name(map) +
                                      " with the copy failed: " + errnoText(-err));
    }
  }
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj) {
    if (std::strcmp(bpf_program__name(prog), SG_XDP_PROG_NAME) != 0) {
      bpf_program__set_autoload(prog, false);  // sg_clock_probe: the skeleton's is enough
    }
  }
  return obj;
}

Result<void> XdpSensor::joinDispatcher(XdpMode mode, XdpAttachment info) {
  const std::string& ifname = info.ifname;
  enum xdp_attach_mode present = XDP_MODE_UNSPEC;
  dispatcherPrograms(info.ifindex, &present);
  enum xdp_attach_mode want = mode == XdpMode::kNative    ? XDP_MODE_NATIVE
                              : mode == XdpMode::kGeneric ? XDP_MODE_SKB
                                                          : present;
  if (present != XDP_MODE_UNSPEC && want != present) {
    return makeError(Errc::kAlreadyExists,
                     ifname + ": libxdp's dispatcher runs in " + xdpModeName(fromXdpMode(present)) +
                         " mode; xdp_mode " + xdpModeName(mode) + " cannot join it (use auto)");
  }

  auto obj = openProgramCopy();
  if (!obj.ok()) return obj.error().context(ifname);
  Link link;
  link.object = *obj;
  DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = link.object, .prog_name = SG_XDP_PROG_NAME);
  link.xdp = xdp_program__create(&xo);
  if (const long e = libxdp_get_error(link.xdp); e != 0 || link.xdp == nullptr) {
    link.xdp = nullptr;
    leaveDispatcher(link);
    return makeError(Errc::kIo, ifname + ": preparing the program for libxdp failed: " +
                                    xdpErrorText(static_cast<int>(e)));
  }
  xdp_program__set_run_prio(link.xdp, kDispatcherRunPrio);
  for (unsigned action = XDP_ABORTED; action <= XDP_REDIRECT; action++) {
    xdp_program__set_chain_call_enabled(link.xdp, action, action == XDP_PASS);
  }

  int err = xdp_program__attach(link.xdp, info.ifindex, want, 0);
  if (err != 0 && want == XDP_MODE_UNSPEC && err != -EPERM && err != -EACCES) {
    // Auto on a fresh dispatcher: the driver may refuse native XDP.
    const int native_err = err;
    err = xdp_program__attach(link.xdp, info.ifindex, XDP_MODE_SKB, 0);
    if (err == 0) {
      if (!info.note.empty()) info.note += "; ";
      info.note += "the driver refused native XDP (" + xdpErrorText(native_err) +
                   "): running in generic mode";
    }
  }
  if (err != 0) {
    xdp_program__close(link.xdp);
    link.xdp = nullptr;
    leaveDispatcher(link);
    if (err == -EPERM || err == -EACCES) {
      return makeError(Errc::kPermissionDenied,
                       ifname +
                           ": joining libxdp's dispatcher needs CAP_NET_ADMIN, CAP_BPF "
                           "and a writable bpffs (/sys/fs/bpf)");
    }
    return makeError(Errc::kIo,
                     ifname + ": joining libxdp's dispatcher failed: " + xdpErrorText(err));
  }

  info.prog_id = xdp_program__id(link.xdp);
  info.dispatcher = true;
  bool joined = false;
  std::string others;
  for (const Component& c : dispatcherPrograms(info.ifindex, &present)) {
    joined = joined || c.id == info.prog_id;
    if (c.id != info.prog_id) others += (others.empty() ? "" : ", ") + c.name;
  }
  if (!joined) {
    // libxdp fell back to a plain netlink attach (a kernel without
    // freplace re-attach): that would outlive us unseen, so undo it.
    LIBBPF_OPTS(bpf_xdp_attach_opts, only_ours, .old_prog_fd = xdp_program__fd(link.xdp));
    bpf_xdp_detach(info.ifindex, XDP_FLAGS_REPLACE, &only_ours);
    xdp_program__close(link.xdp);
    link.xdp = nullptr;
    leaveDispatcher(link);
    return makeError(Errc::kUnavailable,
                     ifname +
                         ": libxdp could not build its dispatcher (it needs a kernel that "
                         "loads freplace programs and a bpffs at /sys/fs/bpf); nothing "
                         "was attached");
  }
  info.mode = fromXdpMode(present);
  if (!info.note.empty()) info.note += "; ";
  info.note += "joined libxdp's dispatcher at run priority " + std::to_string(kDispatcherRunPrio) +
               " (other programs: " + (others.empty() ? std::string("none yet") : others) + ")";
  link.info = info;
  links_.push_back(link);
  attachments_.push_back(info);
  return Ok{};
}

void XdpSensor::leaveDispatcher(Link& link) {
  if (link.xdp != nullptr) {
    // Fails only when someone removed it meanwhile: then it is gone anyway.
    (void)xdp_program__detach(link.xdp, link.info.ifindex, XDP_MODE_UNSPEC, 0);
    xdp_program__close(link.xdp);
    link.xdp = nullptr;
  }
  if (link.object != nullptr) bpf_object__close(link.object);
  link.object = nullptr;
}

}  // namespace sg
