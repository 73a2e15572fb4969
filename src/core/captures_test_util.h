// The real attack captures in ../shared/data/captures for the replay tests
// that read them (never copied into the repository): where they are, and
// their bytes. Absent, a test skips, except with CI=true (CI machines have
// them): then absent is a failure.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace sg::test {

// The captures' folder (it holds a README.md), or "" when absent.
inline std::string captureDir() {
  const char* src = std::getenv("SYNGUARD_SOURCE_DIR");
  for (std::string dir : {src ? std::string(src) + "/../shared/data/captures" : std::string(),
                          std::string(SYNGUARD_SOURCE_DIR_FALLBACK) + "/../shared/data/captures",
                          std::string("/work/shared/data/captures")}) {
    if (!dir.empty() && std::ifstream(dir + "/README.md").good()) return dir;
  }
  return "";
}

inline bool onCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// A capture's bytes (empty when it cannot be read).
inline std::vector<uint8_t> readCaptureFile(const std::string& dir, const std::string& file) {
  std::ifstream in(dir + "/" + file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace sg::test

// In a test body: `dir` names the captures' folder, or the test skips (fails
// with CI=true).
#define SG_NEED_CAPTURES(dir)                                  \
  const std::string dir = ::sg::test::captureDir();            \
  if (dir.empty() && ::sg::test::onCi())                       \
    FAIL() << "CI=true but ../shared/data/captures is absent"; \
  if (dir.empty()) GTEST_SKIP() << "captures not present"
