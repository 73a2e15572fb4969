#include "core/completion_windows.h"

#include <cstring>

#include "core/tracker.h"
#include "sg_track.h"

namespace sg {

size_t CompletionWindows::KeyHash::operator()(const sg_addr& a) const {
  return static_cast<size_t>(sg_addr_hash(&a, &kDefaultHashKey));
}

bool CompletionWindows::KeyEq::operator()(const sg_addr& a, const sg_addr& b) const {
  return std::memcmp(a.b, b.b, sizeof(a.b)) == 0;
}

const sg_window* CompletionWindows::find(const sg_addr& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.win;
}

sg_window& CompletionWindows::credit(const sg_addr& key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    ages_.splice(ages_.begin(), ages_, it->second.age);
    return it->second.win;
  }
  if (entries_.size() >= capacity_) {
    entries_.erase(ages_.back());
    ages_.pop_back();
  }
  ages_.push_front(key);
  Entry& e = entries_[key];
  e.age = ages_.begin();
  return e.win;
}

}  // namespace sg
