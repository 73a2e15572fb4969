// XdpSensor: prefix blocks (bpf/sg_prefix.h). Two LPM tries, sg_prefix4 and
// sg_prefix6, and the program's gate sg_prefix_maybe: a family's bit is set
// after an insert into its trie and cleared when the trie is found empty
// after a delete. Only user space (the agent's one loop thread) writes
// either, so there is no race with the kernel: the program only reads them.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

constexpr unsigned kV4Offset = 96;  // an IPv4 a.b.c.d/n is ::ffff:a.b.c.d/(96+n)

bool isV4(const Prefix& p) { return p.bits >= kV4Offset && p.addr.isV4(); }

Error mapError(const std::string& what, int err) {
  return makeError(
      err == ENOSPC || err == E2BIG || err == ENOMEM ? Errc::kResourceExhausted : Errc::kIo,
      what + ": " + errnoText(err));
}

// The trie key of a prefix block, validated: IPv4 1..31, IPv6 1..127.
struct TrieKey {
  bool v4 = false;
  sg_lpm4_key k4{};
  sg_lpm_key k6{};
  const void* ptr() const { return v4 ? static_cast<const void*>(&k4) : &k6; }
};

Result<TrieKey> trieKey(const Prefix& p) {
  TrieKey k;
  k.v4 = isV4(p);
  if (k.v4) {
    const unsigned len = p.bits - kV4Offset;
    if (len < 1 || len > 31) {
      return makeError(Errc::kInvalidArgument,
                       "an IPv4 prefix block needs a length of 1..31, not " + p.str());
    }
    k.k4.prefixlen = len;
    std::memcpy(k.k4.addr, p.addr.raw.b + 12, 4);
    return k;
  }
  if (p.bits < 1 || p.bits > 127) {
    return makeError(Errc::kInvalidArgument,
                     "an IPv6 prefix block needs a length of 1..127, not " + p.str());
  }
  k.k6 = p.lpmKey();
  return k;
}

template <typename Key, typename ToPrefix>
Result<void> listTrie(int fd, ToPrefix to_prefix, std::vector<KernelPrefixBlock>& out) {
  Key cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    sg_prefix_block b{};
    if (bpf_map_lookup_elem(fd, &next, &b) == 0) {
      out.push_back({to_prefix(next), b});
    } else if (errno != ENOENT) {
      return mapError("reading a prefix block failed", errno);
    }
    cur = next;
    prev = &cur;
  }
  if (errno != ENOENT) return mapError("listing the prefix blocks failed", errno);
  return Ok{};
}

// Whether a source inside `p` may be on the allowlist: some entry contains
// the prefix, or lies inside it.
bool overlaps(const std::vector<Prefix>& allow, const Prefix& p) {
  for (const Prefix& a : allow) {
    if (a.bits <= p.bits ? a.contains(p.addr) : p.contains(a.addr)) return true;
  }
  return false;
}

bool trieEmpty(int fd, size_t key_size) {
  std::vector<uint8_t> next(key_size);
  return bpf_map_get_next_key(fd, nullptr, next.data()) != 0 && errno == ENOENT;
}

}  // namespace

uint32_t XdpSensor::prefixGate() const {
  return __atomic_load_n(&skel_->data_blockbits->sg_prefix_maybe, __ATOMIC_SEQ_CST);
}

void XdpSensor::setPrefixGate(uint32_t bits, bool on) {
  if (on) {
    __atomic_fetch_or(&skel_->data_blockbits->sg_prefix_maybe, bits, __ATOMIC_SEQ_CST);
  } else {
    __atomic_fetch_and(&skel_->data_blockbits->sg_prefix_maybe, ~bits, __ATOMIC_SEQ_CST);
  }
}

Result<void> XdpSensor::addPrefixBlock(const Prefix& prefix, const sg_prefix_block& block) {
  auto key = trieKey(prefix);
  if (!key) return key.error();
  const int fd = bpf_map__fd(key->v4 ? skel_->maps.sg_prefix4 : skel_->maps.sg_prefix6);
  sg_prefix_block b = block;
  b.flags = static_cast<__u8>((b.flags & ~SG_PFX_ALLOW_CHECK) |
                              (overlaps(allow_, prefix) ? SG_PFX_ALLOW_CHECK : 0));
  if (bpf_map_update_elem(fd, key->ptr(), &b, BPF_ANY) != 0) {
    const int e = errno;
    if (e == ENOSPC || e == E2BIG) {
      return makeError(Errc::kResourceExhausted,
                       "blocking " + prefix.str() + ": the prefix-block table is full (" +
                           std::to_string(options_.max_prefix_blocks) + ", max_prefix_blocks)");
    }
    return mapError("blocking " + prefix.str(), e);
  }
  setPrefixGate(key->v4 ? SG_PREFIX_V4 : SG_PREFIX_V6, true);  // after the insert
  return Ok{};
}

Result<bool> XdpSensor::removePrefixBlock(const Prefix& prefix) {
  auto key = trieKey(prefix);
  if (!key) return key.error();
  const int fd = bpf_map__fd(key->v4 ? skel_->maps.sg_prefix4 : skel_->maps.sg_prefix6);
  bool existed = true;
  if (bpf_map_delete_elem(fd, key->ptr()) != 0) {
    if (errno != ENOENT) return mapError("unblocking " + prefix.str(), errno);
    existed = false;
  }
  if (trieEmpty(fd, key->v4 ? sizeof(sg_lpm4_key) : sizeof(sg_lpm_key))) {
    setPrefixGate(key->v4 ? SG_PREFIX_V4 : SG_PREFIX_V6, false);
  }
  return existed;
}

Result<std::vector<KernelPrefixBlock>> XdpSensor::listPrefixBlocks() {
  std::vector<KernelPrefixBlock> out;
  SG_TRY(listTrie<sg_lpm4_key>(
      bpf_map__fd(skel_->maps.sg_prefix4),
      [](const sg_lpm4_key& k) {
        Prefix p;
        p.addr.raw.b[10] = 0xff;
        p.addr.raw.b[11] = 0xff;
        std::memcpy(p.addr.raw.b + 12, k.addr, 4);
        p.bits = static_cast<uint8_t>(kV4Offset + k.prefixlen);
        return p;
      },
      out));
  SG_TRY(listTrie<sg_lpm_key>(
      bpf_map__fd(skel_->maps.sg_prefix6),
      [](const sg_lpm_key& k) {
        Prefix p;
        p.addr.raw = k.addr;
        p.bits = static_cast<uint8_t>(k.prefixlen);
        return p;
      },
      out));
  return out;
}

Result<void> XdpSensor::markAllowOverlaps(const std::vector<Prefix>& allow,
                                          const std::vector<Prefix>& also) {
  if (prefixGate() == 0) return Ok{};  // no prefix block
  auto blocks = listPrefixBlocks();
  if (!blocks) return blocks.error();
  for (const KernelPrefixBlock& kb : *blocks) {
    const bool want = overlaps(allow, kb.prefix) || overlaps(also, kb.prefix);
    if (((kb.block.flags & SG_PFX_ALLOW_CHECK) != 0) == want) continue;
    auto key = trieKey(kb.prefix);
    if (!key) return key.error();
    sg_prefix_block b = kb.block;
    b.flags = static_cast<__u8>((b.flags & ~SG_PFX_ALLOW_CHECK) | (want ? SG_PFX_ALLOW_CHECK : 0));
    const int fd = bpf_map__fd(key->v4 ? skel_->maps.sg_prefix4 : skel_->maps.sg_prefix6);
    // BPF_EXIST: a block removed meanwhile stays removed.
    if (bpf_map_update_elem(fd, key->ptr(), &b, BPF_EXIST) != 0 && errno != ENOENT) {
      return mapError("marking " + kb.prefix.str() + " for the allowlist", errno);
    }
  }
  return Ok{};
}

// After load: a reused (pinned) trie's blocks need the gate of the new
// program, and blocks handed to the previous agent's nftables table go back
// to XDP until this agent hands them off again.
Result<void> XdpSensor::restorePinnedPrefixes() {
  auto blocks = listPrefixBlocks();
  if (!blocks) {
    setPrefixGate(SG_PREFIX_V4 | SG_PREFIX_V6, true);  // fail safe: look every packet up
    return blocks.error().context("reading the pinned prefix blocks");
  }
  for (KernelPrefixBlock& kb : *blocks) {
    kb.block.flags &= static_cast<__u8>(~SG_BLK_HANDED_OFF);
    SG_TRY(addPrefixBlock(kb.prefix, kb.block));
  }
  return Ok{};
}

}  // namespace sg
