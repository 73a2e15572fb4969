// The rows of bench/xdp_cost_bench: each a case (a program and the frame it
// runs on), the baseline it is measured against, and its aim. The objects the
// rows run are loaded on first use, so a run restricted with --only loads
// (and the verifier checks) just the objects of its rows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sg::bench {

using Frame = std::vector<uint8_t>;
using FrameFn = std::function<Frame()>;
using ProgFn = std::function<int()>;

// A row before its programs and frame are resolved (only the kept rows are).
struct Row {
  std::string name;
  ProgFn prog;
  FrameFn frame;
  ProgFn base_prog;  // empty: the bare XDP_PASS program
  double aim;        // 0: no aim
};

// The benchmark objects and the row table over them. The rows' functions
// refer to this object: it must outlive them.
class CostRows {
 public:
  CostRows();
  ~CostRows();
  CostRows(const CostRows&) = delete;
  CostRows& operator=(const CostRows&) = delete;

  // Every row, in the order the table prints them.
  std::vector<Row> rows();
  // What the rows that ran were measured against (block and prefix counts,
  // the sources chosen by their prefilter bit), for the table's heading.
  void printSetting() const;

 private:
  struct Objects;
  std::unique_ptr<Objects> o_;
};

}  // namespace sg::bench
