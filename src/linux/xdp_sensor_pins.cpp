// XdpSensor: pinned maps. The block table (sg_blocks), the prefix blocks
// (sg_prefix4, sg_prefix6), the count state
// (sg_slots, sg_tags, and sg_src_done: the attempts' credit), the offence
// history (sg_offenders) and the hash secret
// that places sources in the slots (sg_hash_key, a one-entry array of user
// space's own) live in bpffs under SensorOptions::pin_dir, so that a
// restarted agent (an upgrade, Restart=on-failure) finds its blocks and counts
// again. A pin whose layout differs from this build's map (type, key/value
// size, entries, flags) is removed and the map created anew, saying so.
// Expiry stays the kernel's: a pinned block past its time is ignored by the
// program and removed by the agent's first sweep.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

std::string layoutDiff(const bpf_map_info& pinned, const bpf_map* want) {
  auto field = [](const char* name, uint64_t had, uint64_t wants) {
    return had == wants ? std::string()
                        : std::string(name) + " " + std::to_string(had) + " -> " +
                              std::to_string(wants) + " ";
  };
  std::string d = field("type", pinned.type, bpf_map__type(want)) +
                  field("key_size", pinned.key_size, bpf_map__key_size(want)) +
                  field("value_size", pinned.value_size, bpf_map__value_size(want)) +
                  field("max_entries", pinned.max_entries, bpf_map__max_entries(want)) +
                  field("flags", pinned.map_flags, bpf_map__map_flags(want));
  if (!d.empty()) d.pop_back();
  return d;
}

// Pins are trusted state (blocks, counts, the hash key): adopt them only from
// a real directory of this user that nobody else can write into, or another
// user could plant a key it knows and maps it holds open.
bool pinDirTrusted(const std::string& dir) {
  struct stat st {};
  return ::lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid() &&
         (st.st_mode & 022) == 0;
}

}  // namespace

// Before load: for each pinned map, keep a compatible pin (libbpf reuses it
// through the pin path) or remove an incompatible one (libbpf then creates the
// map and pins it). A directory that is not on a bpffs disables pinning, with
// a note: the agent still runs, its blocks just do not survive a restart.
Result<void> XdpSensor::preparePins(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    pin_notes_.push_back("blocks are not pinned: cannot create " + dir + ": " + errnoText(errno));
    return Ok{};
  }
  if (!pinDirTrusted(dir)) {
    pin_notes_.push_back("blocks are not pinned: " + dir +
                         " is not a directory of this user closed to others (mode 0700)");
    return Ok{};
  }
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0 || fs.f_type != BPF_FS_MAGIC) {
    pin_notes_.push_back("blocks are not pinned: " + dir + " is not on a bpf filesystem");
    return Ok{};
  }
  bpf_map* const pinned[] = {skel_->maps.sg_blocks,  skel_->maps.sg_slots,
                             skel_->maps.sg_tags,    skel_->maps.sg_offenders,
                             skel_->maps.sg_prefix4, skel_->maps.sg_prefix6,
                             skel_->maps.sg_src_done};
  for (bpf_map* m : pinned) {
    const std::string path = dir + "/" + bpf_map__name(m);
    const int fd = bpf_obj_get(path.c_str());
    if (fd >= 0) {
      bpf_map_info info{};
      __u32 len = sizeof info;
      const int err = bpf_obj_get_info_by_fd(fd, &info, &len);
      ::close(fd);
      const std::string diff = err == 0 ? layoutDiff(info, m) : "unreadable";
      if (diff.empty()) {
        if (m == skel_->maps.sg_blocks) blocks_reused_ = true;
        pin_notes_.push_back("reusing the pinned " + path);
      } else {
        if (::unlink(path.c_str()) != 0) {
          return makeError(Errc::kIo,
                           "removing the incompatible pin " + path + ": " + errnoText(errno));
        }
        pin_notes_.push_back("recreated " + path + ": its layout differs (" + diff +
                             "), its contents are lost");
      }
    } else if (errno != ENOENT) {
      return makeError(Errc::kIo, "opening the pin " + path + ": " + errnoText(errno));
    }
    const int err = bpf_map__set_pin_path(m, path.c_str());
    if (err != 0) return makeError(Errc::kIo, "pin path " + path + ": " + errnoText(-err));
  }
  pinning_ = true;
  return Ok{};
}

// After load, with a reused block table: the prefilter bitmap is new (empty),
// so set the bit of every block; and blocks the previous agent had handed to
// nftables go back to XDP (this agent's nftables table starts empty) until
// the agent hands them off again.
Result<void> XdpSensor::restorePinnedBlocks() {
  if (!blocks_reused_) return Ok{};
  auto blocks = listBlocks();
  if (!blocks) {
    fillBlockBits();
    return blocks.error().context("reading the pinned block table");
  }
  const int fd = bpf_map__fd(skel_->maps.sg_blocks);
  for (KernelBlock& kb : *blocks) {
    if (kb.block.flags & SG_BLK_HANDED_OFF) {
      kb.block.flags &= static_cast<__u8>(~SG_BLK_HANDED_OFF);
      if (bpf_map_update_elem(fd, &kb.key, &kb.block, BPF_EXIST) != 0 && errno != ENOENT) {
        return makeError(Errc::kIo, "taking back a handed-off block: " + errnoText(errno));
      }
    }
    setBlockBit(kb.key);
  }
  return Ok{};
}

namespace {
constexpr const char* kHashKeyPin = "/sg_hash_key";
}  // namespace

// The previous load's secret, if its pin is there and readable as one.
Result<std::optional<sg_hash_key>> XdpSensor::readPinnedHashKey(const std::string& dir) const {
  const std::string path = dir + kHashKeyPin;
  if (!pinDirTrusted(dir)) return std::optional<sg_hash_key>{};  // preparePins says why
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return std::optional<sg_hash_key>{};  // none, or no bpffs there: a new key
  sg_hash_key key{};
  const uint32_t zero = 0;
  bpf_map_info info{};
  __u32 len = sizeof info;
  const bool ok = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_ARRAY &&
                  info.key_size == sizeof(uint32_t) && info.value_size == sizeof key &&
                  info.max_entries == 1 && bpf_map_lookup_elem(fd, &zero, &key) == 0;
  ::close(fd);
  if (!ok || (key.k0 == 0 && key.k1 == 0)) return std::optional<sg_hash_key>{};
  return std::optional<sg_hash_key>{key};
}

// After load: (re)pin this load's secret, replacing whatever was there.
Result<void> XdpSensor::pinHashKey(const std::string& dir) {
  const std::string path = dir + kHashKeyPin;
  const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sg_hash_key", sizeof(uint32_t),
                                sizeof(sg_hash_key), 1, nullptr);
  if (fd < 0) return makeError(Errc::kIo, "creating the hash-key map: " + errnoText(errno));
  const uint32_t zero = 0;
  int err = bpf_map_update_elem(fd, &zero, &hash_key_, BPF_ANY);
  if (err == 0) {
    ::unlink(path.c_str());
    err = bpf_obj_pin(fd, path.c_str());
  }
  const int e = errno;
  ::close(fd);
  if (err != 0)
    return makeError(Errc::kIo, "pinning the hash key at " + path + ": " + errnoText(e));
  return Ok{};
}

}  // namespace sg
