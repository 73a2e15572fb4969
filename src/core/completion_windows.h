// CompletionWindows: the Tracker's stand-in for the kernel's sg_src_done
// (bpf/sg_handshake_bpf.h), masked source -> completion window, bounded to
// `capacity` entries with the least recently credited evicted first (the
// kernel's LRU hash evicts approximately so: they differ only once more
// than `capacity` sources complete handshakes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "sg_shared.h"

namespace sg {

class CompletionWindows {
 public:
  explicit CompletionWindows(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // bpf_map_lookup_elem: the source's window, nullptr when it has none.
  const sg_window* find(const sg_addr& key) const;
  // The tracepoint's lookup-or-insert: the source's window (a zeroed one if
  // new, evicting the least recently credited source when full).
  sg_window& credit(const sg_addr& key);
  size_t size() const { return entries_.size(); }

 private:
  struct KeyHash {
    size_t operator()(const sg_addr& a) const;
  };
  struct KeyEq {
    bool operator()(const sg_addr& a, const sg_addr& b) const;
  };
  struct Entry {
    sg_window win{};
    std::list<sg_addr>::iterator age;
  };
  size_t capacity_;
  std::unordered_map<sg_addr, Entry, KeyHash, KeyEq> entries_;
  std::list<sg_addr> ages_;  // most recently credited first
};

}  // namespace sg
