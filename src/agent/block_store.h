// BlockStore: where the agent keeps its permanent blocks across restarts.
// FileBlockStore writes <state_dir>/permanent-blocks.json atomically (a
// temporary file, fsync, rename); MemoryBlockStore is the fake for tests.
// The file holds sources as the agent prints them ("192.0.2.7",
// "2001:db8:1:2::/64"):
//   {"version":1,"permanent_blocks":[{"src":"192.0.2.7"}]}
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace sg::agent {

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // The saved sources; none when nothing was ever saved.
  virtual Result<std::vector<std::string>> load() = 0;
  virtual Result<void> save(const std::vector<std::string>& sources) = 0;
};

class FileBlockStore final : public BlockStore {
 public:
  explicit FileBlockStore(std::string dir) : dir_(std::move(dir)) {}
  Result<std::vector<std::string>> load() override;
  Result<void> save(const std::vector<std::string>& sources) override;
  std::string path() const { return dir_ + "/permanent-blocks.json"; }

 private:
  std::string dir_;
};

class MemoryBlockStore final : public BlockStore {
 public:
  std::vector<std::string> saved;
  bool fail = false;
  Result<std::vector<std::string>> load() override { return saved; }
  Result<void> save(const std::vector<std::string>& sources) override {
    if (fail) return Error(Errc::kIo, "store down");
    saved = sources;
    return Ok{};
  }
};

// The file's text for `sources`, and its parser (errors name what is wrong).
std::string encodeBlockState(const std::vector<std::string>& sources);
Result<std::vector<std::string>> parseBlockState(const std::string& text);

}  // namespace sg::agent
