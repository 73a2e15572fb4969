// Packet shapes that could carry a connection attempt past a parser that
// gives up (RFC 1858/3128 tiny and overlapping TCP fragments, RFC 7112 IPv6
// header chains), with what syn-guard must do with each. One table, run
// through the kernel program (tests/bpf/evasion_test.cpp) and through the
// user-space parser and Tracker (src/core/parse_test.cpp), so both sides
// answer alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sg::test {

enum class Expect {
  kAttempt,  // parsed as TCP and counted as a connection attempt
  kDropped,  // dropped whoever sends it, never counted
  kPassed,   // passed, not an attempt (not TCP, or a later fragment)
};

struct ShapeCase {
  std::string name;
  std::string src;  // each case its own source (an IPv6 one is its /64), counted apart
  std::vector<uint8_t> frame;
  Expect expect;
  uint8_t kind;  // enum sg_pkt_kind the parser gives it
};

std::vector<ShapeCase> evasionCases();

}  // namespace sg::test
