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

std::string encodeBlockState(const std::vector<std::string>& sources) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : sources) list.push_back({{"src", s}});
  return nlohmann::json{{"version", kStateVersion}, {"permanent_blocks", list}}.dump(1) + "\n";
}

Result<std::vector<std::string>> parseBlockState(const std::string& text) {
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
  std::vector<std::string> out;
  for (const auto& e : *list) {
    if (!e.is_object() || !e.contains("src") || !e["src"].is_string()) {
      return Error(Errc::kInvalidArgument, "an entry without a string \"src\"");
    }
    out.push_back(e["src"].get<std::string>());
  }
  return out;
}

Result<std::vector<std::string>> FileBlockStore::load() {
  auto text = readSmallFile(path(), kMaxStateBytes);
  if (!text && text.error().code() == Errc::kNotFound) return std::vector<std::string>{};
  if (!text) return text.error();
  auto parsed = parseBlockState(*text);
  if (!parsed) return parsed.error().context(path());
  return parsed;
}

Result<void> FileBlockStore::save(const std::vector<std::string>& sources) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return ioError("creating " + dir_);
  return writeFileAtomic(path(), encodeBlockState(sources), 0600);
}

}  // namespace sg::agent
