#include "console/seq_window.h"

#include <gtest/gtest.h>

namespace sg::console {
namespace {

TEST(SeqWindow, AcceptsEachSeqOnce) {
  SeqWindow w;
  EXPECT_FALSE(w.accept(0));  // seqs start at 1
  EXPECT_TRUE(w.accept(1));
  EXPECT_FALSE(w.accept(1));
  EXPECT_TRUE(w.accept(5));
  EXPECT_TRUE(w.accept(3));
  EXPECT_FALSE(w.accept(3));
  EXPECT_EQ(w.highest(), 5u);
  EXPECT_EQ(w.contiguous(), 1u);
  EXPECT_TRUE(w.accept(2));
  EXPECT_TRUE(w.accept(4));
  EXPECT_EQ(w.contiguous(), 5u);
}

TEST(SeqWindow, TooOldCountsAsSeenAndDoesNotBlockContiguous) {
  SeqWindow w;
  EXPECT_TRUE(w.accept(1));
  EXPECT_TRUE(w.accept(200));  // 2..135 fell out of the window
  EXPECT_FALSE(w.accept(100));
  EXPECT_TRUE(w.accept(150));
  EXPECT_EQ(w.contiguous(), 136u);
  EXPECT_FALSE(w.seen(137));
}

TEST(SeqWindow, RestoreTreatsEverythingUpToSeqAsSeen) {
  SeqWindow w;
  w.restore(10);
  EXPECT_FALSE(w.accept(10));
  EXPECT_FALSE(w.accept(3));
  EXPECT_TRUE(w.accept(11));
  EXPECT_EQ(w.contiguous(), 11u);
}

}  // namespace
}  // namespace sg::console
