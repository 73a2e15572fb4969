// BlockBook: prefix blocks (Block Globally of a prefix). The kernel drops
// from every source inside a blocked prefix (bpf/sg_prefix.h) and ignores
// an expired one; the book is the only writer: it adds, renews, removes,
// sweeps the expired ones, hands timed ones to the enforcer (nftables), and
// keeps the permanent ones in the store. An address-length prefix is a
// per-source block and takes that path (block(), unblock()).
#include <algorithm>
#include <cstring>

#include "agent/block_book.h"

namespace sg::agent {

namespace {

constexpr unsigned kV4Offset = 96;  // an IPv4 a.b.c.d/n is ::ffff:a.b.c.d/(96+n)

bool isV4(const Prefix& p) { return p.bits >= kV4Offset && p.addr.isV4(); }
bool permanent(const sg_prefix_block& b) { return b.expires_ns == BlockBook::kPermanentNs; }
uint64_t toMs(uint64_t ns) { return ns / 1'000'000; }
const char* originOf(uint8_t flags) {
  if (flags & SG_PFX_FLOOD) return "port_flood";
  return (flags & SG_BLK_MANUAL) ? "manual" : "detector";
}

}  // namespace

bool BlockBook::PrefixLess::operator()(const Prefix& a, const Prefix& b) const {
  const int c = std::memcmp(a.addr.raw.b, b.addr.raw.b, sizeof a.addr.raw.b);
  return c != 0 ? c < 0 : a.bits < b.bits;
}

std::optional<uint64_t> BlockBook::prefixBlockWrite(const Prefix& prefix) const {
  auto it = prefix_writes_.find(prefix);
  if (it == prefix_writes_.end() || prefixes_.count(prefix) == 0) return std::nullopt;
  return it->second;
}

bool BlockBook::prefixLiftedSince(const Prefix& prefix, uint64_t write) const {
  auto it = prefix_lifts_.find(prefix);
  return it != prefix_lifts_.end() && it->second > write;
}

bool BlockBook::addressLength(const Prefix& p) const {
  return isV4(p) ? p.bits == 128 : p.bits >= config_.ipv6_prefix;
}

nlohmann::json BlockBook::describePrefix(const Prefix& p, const sg_prefix_block& b) const {
  const uint64_t now = clock_.nowNs();
  nlohmann::json j;
  j["src"] = p.str();
  j["prefix"] = true;
  if (permanent(b)) {
    j["permanent"] = true;
  } else {
    j["block_ms"] = toMs(b.expires_ns - b.added_ns);
    j["remaining_ms"] = b.expires_ns > now ? toMs(b.expires_ns - now) : 0;
  }
  j["dropped"] = b.drops;
  j["origin"] = originOf(b.flags);
  j["enforced_by"] = (b.flags & SG_BLK_HANDED_OFF) ? "nftables"
                     : (b.flags & SG_BLK_XDP_DROP) ? "xdp"
                                                   : "none";
  return j;
}

void BlockBook::handOffPrefix(const Prefix& p, sg_prefix_block& b) {
  const uint64_t now = clock_.nowNs();
  if (enforcer_ == nullptr || permanent(b) || b.expires_ns <= now) return;
  const std::string what = std::string(enforcer_->name()) + " prefix block";
  auto r = enforcer_->blockPrefix(p, Nanos(b.expires_ns - now));
  if (!r) {
    noteFailure(block_errors_, counters_.enforcer_errors, what, r.error().message(),
                {{"src", p.str()}, {"effect", "XDP keeps dropping the prefix"}});
    b.flags &= static_cast<uint8_t>(~SG_BLK_HANDED_OFF);
    return;
  }
  noteSuccess(block_errors_, what);
  b.flags |= SG_BLK_HANDED_OFF;
}

Result<nlohmann::json> BlockBook::blockPrefix(const Prefix& prefix, std::optional<Nanos> ttl,
                                              uint8_t extra_flags) {
  if (config_.enforcer == EnforcerKind::kNone) {
    return Error(Errc::kInvalidArgument, "this agent runs with --enforcer none: it only detects");
  }
  if (ttl && ttl->count() <= 0) {
    return Error(Errc::kInvalidArgument, "a timed block needs a positive duration");
  }
  if (addressLength(prefix)) return block(prefix.addr, ttl.value_or(Nanos{0}), !ttl.has_value());
  if (prefix.bits == (isV4(prefix) ? kV4Offset : 0)) {
    return Error(Errc::kInvalidArgument,
                 prefix.str() + " would block every source (isolate the host instead)");
  }
  nlohmann::json inside = nlohmann::json::array();
  for (const Prefix& a : config_.allow) {
    if (a.bits <= prefix.bits && a.contains(prefix.addr)) {
      return Error(Errc::kInvalidArgument,
                   prefix.str() + " is on the allowlist (" + a.str() + "): not blocked");
    }
    if (prefix.contains(a.addr)) inside.push_back(a.str());
  }
  auto previous = prefixes_.find(prefix);
  if (previous == prefixes_.end() && prefixes_.size() >= config_.max_prefix_blocks) {
    return Error(Errc::kResourceExhausted, "blocking " + prefix.str() + ": already " +
                                               std::to_string(prefixes_.size()) +
                                               " prefix blocks (max_prefix_blocks)");
  }
  const uint64_t now = clock_.nowNs();
  sg_prefix_block b{};
  b.added_ns = now;
  b.expires_ns = ttl ? now + static_cast<uint64_t>(ttl->count()) : kPermanentNs;
  b.flags = SG_BLK_MANUAL | SG_BLK_XDP_DROP | extra_flags;
  handOffPrefix(prefix, b);  // the enforcer first, as block() does
  SG_TRY(sensor_.addPrefixBlock(prefix, b));
  const bool was_permanent = previous != prefixes_.end() && permanent(previous->second);
  prefixes_[prefix] = b;
  prefix_writes_[prefix] = ++prefix_write_seq_;
  counters_.prefix_blocks++;
  nlohmann::json f = describePrefix(prefix, b);
  if (!inside.empty()) f["allowlisted_inside"] = inside;
  if (!ttl || was_permanent) {
    if (auto saved = saveState(); !saved) {
      return saved.error().context("the block is in force, but not saved for the next start");
    }
  }
  log_.emit("block_added", f);
  return f;
}

Result<nlohmann::json> BlockBook::unblockPrefix(const Prefix& prefix) {
  if (addressLength(prefix)) return unblock(prefix.addr);
  auto existed = sensor_.removePrefixBlock(prefix);
  if (!existed) return existed.error();
  if (enforcer_ != nullptr) SG_TRY(enforcer_->unblockPrefix(prefix));
  auto it = prefixes_.find(prefix);
  const bool was_known = it != prefixes_.end();
  const bool was_permanent = was_known && permanent(it->second);
  if (was_known) prefixes_.erase(it);
  prefix_writes_.erase(prefix);
  if (!*existed && !was_known) return Error(Errc::kNotFound, prefix.str() + " is not blocked");
  if (prefix_lifts_.size() >= kMaxLifts && prefix_lifts_.count(prefix) == 0) {
    prefix_lifts_.erase(
        std::min_element(prefix_lifts_.begin(), prefix_lifts_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  prefix_lifts_[prefix] = ++prefix_write_seq_;  // prefixLiftedSince: not to be made again
  if (was_permanent) {
    if (auto saved = saveState(); !saved) {
      return saved.error().context("unblocked, but the state file still holds it");
    }
  }
  counters_.blocks_removed++;
  nlohmann::json f{{"src", prefix.str()}, {"prefix", true}, {"reason", "manual"}};
  log_.emit("block_removed", f);
  return f;
}

// Expired prefix blocks leave the kernel here (it only ignores them); the
// enforcer's elements time out by themselves. A known block the kernel no
// longer holds (an unblock whose enforcer step failed after the kernel's)
// is forgotten.
void BlockBook::sweepPrefixes(uint64_t now) {
  auto table = sensor_.listPrefixBlocks();
  if (!table) return;
  std::erase_if(prefixes_, [&](const auto& known) {
    return std::none_of(table->begin(), table->end(),
                        [&](const PrefixBlockEntry& e) { return e.prefix == known.first; });
  });
  std::erase_if(prefix_writes_, [&](const auto& w) { return prefixes_.count(w.first) == 0; });
  for (const PrefixBlockEntry& e : *table) {
    auto it = prefixes_.find(e.prefix);
    if (e.block.expires_ns > now) {
      if (it != prefixes_.end()) it->second.drops = e.block.drops;
      continue;
    }
    if (auto removed = sensor_.removePrefixBlock(e.prefix); !removed) continue;  // next sweep
    counters_.blocks_expired++;
    log_.emit("block_expired", {{"src", e.prefix.str()},
                                {"prefix", true},
                                {"block_ms", toMs(e.block.expires_ns - e.block.added_ns)},
                                {"dropped", e.block.drops},
                                {"origin", originOf(e.block.flags)}});
    if (it != prefixes_.end()) prefixes_.erase(it);
    prefix_writes_.erase(e.prefix);
  }
}

// At start: the pinned tries' live blocks (handed to nftables again), then
// the saved permanent ones the tries lack.
void BlockBook::restorePrefixes(const std::vector<std::string>& saved) {
  const uint64_t now = clock_.nowNs();
  if (auto table = sensor_.listPrefixBlocks(); table.ok()) {
    for (PrefixBlockEntry& e : *table) {
      if (e.block.expires_ns <= now) continue;  // the first sweep removes it
      handOffPrefix(e.prefix, e.block);
      if (e.block.flags & SG_BLK_HANDED_OFF) (void)sensor_.addPrefixBlock(e.prefix, e.block);
      prefixes_[e.prefix] = e.block;
      prefix_writes_[e.prefix] = ++prefix_write_seq_;
      nlohmann::json f = describePrefix(e.prefix, e.block);
      f["from"] = "pinned table";
      log_.emit("block_restored", f);
    }
  } else {
    log_.emit("error", {{"message", "reading the prefix blocks: " + table.error().message()}});
  }
  for (const std::string& text : saved) {
    if (auto r = restoreSavedPrefix(text); !r) {
      log_.emit("error", {{"src", text}, {"message", r.error().message()}});
    }
  }
}

Result<void> BlockBook::restoreSavedPrefix(const std::string& text) {
  auto p = parsePrefix(text);
  if (!p) return p.error();
  if (addressLength(*p)) {
    return makeError(Errc::kInvalidArgument,
                     text + " is no longer shorter than the counting prefix /" +
                         std::to_string(config_.ipv6_prefix) +
                         ": not restored (block it again if it is still wanted)");
  }
  auto it = prefixes_.find(*p);
  if (it != prefixes_.end() && permanent(it->second)) return Ok{};
  sg_prefix_block b{};
  b.added_ns = clock_.nowNs();
  b.expires_ns = kPermanentNs;
  b.flags = SG_BLK_MANUAL | SG_BLK_XDP_DROP;
  SG_TRY(sensor_.addPrefixBlock(*p, b));
  prefixes_[*p] = b;
  prefix_writes_[*p] = ++prefix_write_seq_;
  nlohmann::json f = describePrefix(*p, b);
  f["from"] = "state file";
  log_.emit("block_restored", f);
  return Ok{};
}

}  // namespace sg::agent
