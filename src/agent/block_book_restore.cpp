// BlockBook: what outlives the agent. At start it adopts the blocks the
// kernel's pinned table still holds (an earlier agent's; challenges go to
// restoreChallenge, block_book_challenge.cpp) and re-applies the permanent
// blocks of the state file that are missing; saveState writes the permanent
// ones back after each change (prefix blocks: block_book_prefix.cpp).
#include <algorithm>
#include <string>

#include "agent/block_book.h"
#include "core/tracker.h"

namespace sg::agent {

Result<void> BlockBook::saveState() {
  if (store_ == nullptr) return Ok{};
  SavedBlocks saved;
  for (const auto& [key, k] : known_) {
    if (isPermanent(k.block)) saved.sources.push_back(source(key));
  }
  std::sort(saved.sources.begin(), saved.sources.end());
  for (const auto& [prefix, b] : prefixes_) {
    if (b.expires_ns == kPermanentNs) saved.prefixes.push_back(prefix.str());
  }
  return store_->save(saved);
}

void BlockBook::restore() {
  const uint64_t now = clock_.nowNs();
  if (auto table = sensor_.listBlocks(); table.ok()) {
    for (const auto& e : *table) {
      if (e.block.expires_ns <= now) continue;  // the first sweep removes it
      if (e.block.flags & SG_BLK_CHALLENGE) {
        restoreChallenge(e.key, e.block);
        continue;
      }
      Known k{e.block, 0};
      const HandOff hand_off = handOff(e.key, k);
      known_[e.key] = k;
      nlohmann::json f = describe(e.key, k.block);
      f["from"] = "pinned table";
      log_.emit("block_restored", f);
      noteHandOff(hand_off, f["src"]);
    }
  } else {
    log_.emit("error", {{"message", "reading the block table: " + table.error().message()}});
  }
  syncChallenges();  // the pinned challenges armed now, not at the first sweep
  auto saved = store_ != nullptr ? store_->load() : Result<SavedBlocks>(SavedBlocks{});
  if (!saved) {
    log_.emit("error", {{"message", "permanent blocks not restored: " + saved.error().message()}});
    restorePrefixes({});
    return;
  }
  for (const std::string& text : saved->sources) {
    if (auto r = restoreSaved(text); !r) {
      log_.emit("error", {{"src", text}, {"message", r.error().message()}});
    }
  }
  restorePrefixes(saved->prefixes);
}

Result<void> BlockBook::restoreSaved(const std::string& text) {
  Address addr;
  if (text.find('/') == std::string::npos) {
    auto a = parseAddress(text);
    if (!a) return a.error();
    addr = *a;
  } else {
    auto p = parsePrefix(text);
    if (!p) return p.error();
    // Re-masking a prefix saved under another counting length would block a
    // wider range than the operator chose (or, narrower, nothing at all).
    if (!p->addr.isV4() && p->bits != config_.ipv6_prefix) {
      return makeError(Errc::kInvalidArgument,
                       text + " was saved with the counting prefix /" + std::to_string(p->bits) +
                           ", the agent now counts /" + std::to_string(config_.ipv6_prefix) +
                           ": not restored (block it again if it is still wanted)");
    }
    addr = p->addr;
  }
  const Address key = sourceKey(addr, static_cast<uint8_t>(config_.ipv6_prefix));
  auto it = known_.find(key.raw);
  if (it != known_.end() && isPermanent(it->second.block)) return Ok{};
  sg_block b{};
  b.added_ns = clock_.nowNs();
  b.expires_ns = kPermanentNs;
  b.flags = SG_BLK_MANUAL | SG_BLK_XDP_DROP;
  SG_TRY(sensor_.addBlock(key.raw, b));
  if (it != known_.end()) noteChallenge(key.raw, it->second.block);
  known_[key.raw] = Known{b, 0};
  nlohmann::json f = describe(key.raw, b);
  f["from"] = "state file";
  log_.emit("block_restored", f);
  return Ok{};
}

}  // namespace sg::agent
