#include "agent/block_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

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
  std::ifstream in(path());
  if (!in) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return ioError("reading " + path());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxStateBytes)
    return Error(Errc::kInvalidArgument, path() + ": too large");
  auto parsed = parseBlockState(text.str());
  if (!parsed) return parsed.error().context(path());
  return parsed;
}

Result<void> FileBlockStore::save(const std::vector<std::string>& sources) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return ioError("creating " + dir_);
  const std::string tmp = path() + ".tmp";
  const std::string text = encodeBlockState(sources);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ioError("writing " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = ioError("writing " + tmp);
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Error e = ioError("fsync " + tmp);
    ::close(fd);
    return e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path().c_str()) != 0) return ioError("renaming " + tmp);
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);  // the rename itself durable
    ::close(dfd);
  }
  return Ok{};
}

}  // namespace sg::agent
