#include "console/change_log.h"

namespace sg::console {

void ChangeLog::append(Change change) {
  entries_.push_back(std::move(change));
  while (entries_.size() > capacity_) {
    // Drop the oldest version whole, so no version is left half in the log.
    const uint64_t v = entries_.front().version;
    while (!entries_.empty() && entries_.front().version == v) entries_.pop_front();
    floor_ = v;
  }
}

std::optional<std::vector<const Change*>> ChangeLog::since(const std::string& endpoint,
                                                           uint64_t from, uint64_t to) const {
  if (from < floor_) return std::nullopt;
  std::vector<const Change*> out;
  for (const auto& c : entries_) {
    if (c.version <= from || c.version > to) continue;
    if (c.target.empty() || c.target == endpoint) out.push_back(&c);
  }
  return out;
}

}  // namespace sg::console
