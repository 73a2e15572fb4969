#include "console/seq_window.h"

namespace sg::console {

bool SeqWindow::seen(uint64_t seq) const {
  if (seq == 0 || seq <= contiguous_) return true;
  if (seq > highest_) return false;
  const uint64_t back = highest_ - seq;
  if (back >= kWidth) return true;
  return (bits_ >> back) & 1;
}

bool SeqWindow::accept(uint64_t seq) {
  if (seen(seq)) return false;
  if (seq > highest_) {
    const uint64_t shift = seq - highest_;
    bits_ = shift >= kWidth ? 0 : bits_ << shift;
    highest_ = seq;
    bits_ |= 1;
  } else {
    bits_ |= uint64_t{1} << (highest_ - seq);
  }
  // A gap that fell out of the window is lost for good: do not wait for it.
  if (highest_ >= kWidth && contiguous_ < highest_ - kWidth) contiguous_ = highest_ - kWidth;
  while (contiguous_ < highest_ && seen(contiguous_ + 1)) ++contiguous_;
  return true;
}

void SeqWindow::restore(uint64_t seq) {
  highest_ = seq;
  contiguous_ = seq;
  bits_ = ~uint64_t{0};
}

}  // namespace sg::console
