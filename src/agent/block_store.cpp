#include "agent/block_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "files/state_file.h"

namespace sg::agent {

namespace {

constexpr int kStateVersion = 1;
constexpr size_t kMaxStateBytes = 64 << 20;

Error ioError(const std::string& what) {
  return Error(Errc::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

std::string encodeBlockState(const SavedBlocks& blocks) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : blocks.sources) list.push_back({{"src", s}});
  nlohmann::json j{{"version", kStateVersion}, {"permanent_blocks", list}};
  if (!blocks.prefixes.empty()) {
    nlohmann::json prefixes = nlohmann::json::array();
    for (const auto& p : blocks.prefixes) prefixes.push_back({{"prefix", p}});
    j["permanent_prefix_blocks"] = prefixes;
  }
  return j.dump(1) + "\n";
}

Result<SavedBlocks> parseBlockState(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error(Errc::kInvalidArgument, "not a JSON object");
  if (j.value("version", 0) != kStateVersion) {
    return Error(Errc::kInvalidArgument, "unknown version (this agent reads version " +
                                             std::to_string(kStateVersion) + ")");
  }
  auto list = j.find("permanent_blocks");
  if (list == j.end() || !list->is_array()) {
    return Error(Errc::kInvalidArgument, "no \"permanent_blocks\" array");
  }
  SavedBlocks out;
  for (const auto& e : *list) {
    if (!e.is_object() || !e.contains("src") || !e["src"].is_string()) {
      return Error(Errc::kInvalidArgument, "an entry without a string \"src\"");
    }
    out.sources.push_back(e["src"].get<std::string>());
  }
  auto prefixes = j.find("permanent_prefix_blocks");
  if (prefixes == j.end()) return out;
  if (!prefixes->is_array()) {
    return Error(Errc::kInvalidArgument, "\"permanent_prefix_blocks\" is not an array");
  }
  for (const auto& e : *prefixes) {
    if (!e.is_object() || !e.contains("prefix") || !e["prefix"].is_string()) {
      return Error(Errc::kInvalidArgument, "a prefix block without a string \"prefix\"");
    }
    out.prefixes.push_back(e["prefix"].get<std::string>());
  }
  return out;
}

Result<SavedBlocks> FileBlockStore::load() {
  auto text = readSmallFile(path(), kMaxStateBytes);
  if (!text && text.error().code() == Errc::kNotFound) return SavedBlocks{};
  if (!text) return text.error();
  auto parsed = parseBlockState(*text);
  if (!parsed) return parsed.error().context(path());
  return parsed;
}

Result<void> FileBlockStore::save(const SavedBlocks& blocks) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return ioError("creating " + dir_);
  return writeFileAtomic(path(), encodeBlockState(blocks), 0600);
}

}  // namespace sg::agent
