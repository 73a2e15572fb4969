// BlockStore: where the agent keeps its permanent blocks across restarts.
// FileBlockStore writes <state_dir>/permanent-blocks.json atomically (a
// temporary file, fsync, rename); MemoryBlockStore is the fake for tests.
// The file holds sources as the agent prints them ("192.0.2.7",
// "2001:db8:1:2::/64") and prefix blocks ("198.51.100.0/24") apart, so that
// a saved /48 prefix block is never read as a source counted per /48:
//   {"version":1,"permanent_blocks":[{"src":"192.0.2.7"}],
//    "permanent_prefix_blocks":[{"prefix":"198.51.100.0/24"}]}
// (An agent older than prefix blocks ignores the second list.)
#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace sg::agent {

// What the store holds: permanent per-source blocks and permanent prefix blocks.
struct SavedBlocks {
  std::vector<std::string> sources;   // "192.0.2.7", "2001:db8:1:2::/64" (counted keys)
  std::vector<std::string> prefixes;  // "198.51.100.0/24", "2001:db8::/32"
  bool empty() const { return sources.empty() && prefixes.empty(); }
  friend bool operator==(const SavedBlocks&, const SavedBlocks&) = default;
};

class BlockStore {
 public:
  virtual ~BlockStore() = default;
  // The saved blocks; none when nothing was ever saved.
  virtual Result<SavedBlocks> load() = 0;
  virtual Result<void> save(const SavedBlocks& blocks) = 0;
};

class FileBlockStore final : public BlockStore {
 public:
  explicit FileBlockStore(std::string dir) : dir_(std::move(dir)) {}
  Result<SavedBlocks> load() override;
  Result<void> save(const SavedBlocks& blocks) override;
  std::string path() const { return dir_ + "/permanent-blocks.json"; }

 private:
  std::string dir_;
};

class MemoryBlockStore final : public BlockStore {
 public:
  SavedBlocks saved;
  bool fail = false;
  Result<SavedBlocks> load() override { return saved; }
  Result<void> save(const SavedBlocks& blocks) override {
    if (fail) return Error(Errc::kIo, "store down");
    saved = blocks;
    return Ok{};
  }
};

// The file's text for `blocks`, and its parser (errors name what is wrong).
std::string encodeBlockState(const SavedBlocks& blocks);
Result<SavedBlocks> parseBlockState(const std::string& text);

}  // namespace sg::agent
