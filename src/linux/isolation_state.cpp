#include "linux/isolation_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "linux/errno_text.h"

namespace sg {
namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxFileSize = 64 * 1024;

Error ioError(int err, const std::string& what) {
  return makeError(err == EACCES || err == EPERM ? Errc::kPermissionDenied : Errc::kIo,
                   what + ": " + errnoText(err));
}

Result<void> writeAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError(errno, "write");
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

Result<void> syncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ioError(errno, "opening " + dir);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ioError(err, "fsync " + dir);
  return Ok{};
}

}  // namespace

std::string isolationStateJson(const std::optional<IsolationSpec>& spec) {
  nlohmann::json j;
  j["version"] = kVersion;
  j["isolated"] = spec.has_value();
  if (spec) j["spec"] = nlohmann::json::parse(isolationSpecJson(*spec));
  return j.dump() + "\n";
}

Result<std::optional<IsolationSpec>> parseIsolationStateJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return makeError(Errc::kInvalidArgument, "not a JSON object");
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || *version != kVersion) {
    return makeError(Errc::kInvalidArgument, "\"version\" must be " + std::to_string(kVersion) +
                                                 " (written by this agent)");
  }
  auto isolated = j.find("isolated");
  if (isolated == j.end() || !isolated->is_boolean()) {
    return makeError(Errc::kInvalidArgument, "\"isolated\" must be true or false");
  }
  if (!isolated->get<bool>()) return std::optional<IsolationSpec>{};
  auto spec = j.find("spec");
  if (spec == j.end()) return makeError(Errc::kInvalidArgument, "\"isolated\" without \"spec\"");
  auto parsed = parseIsolationSpecJson(spec->dump());
  if (!parsed) return parsed.error().context("\"spec\"");
  return std::optional<IsolationSpec>(*parsed);
}

IsolationState::IsolationState(const std::string& state_dir)
    : dir_(state_dir), path_(state_dir + "/" + kFileName) {}

Result<std::optional<IsolationSpec>> IsolationState::load() const {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::optional<IsolationSpec>{};
  if (fd < 0) return ioError(errno, "reading the isolation record " + path_);
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ioError(err, "reading the isolation record " + path_);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      close(fd);
      return makeError(Errc::kInvalidArgument, "isolation record " + path_ + " is too large");
    }
  }
  close(fd);
  auto parsed = parseIsolationStateJson(text);
  if (!parsed) {
    return parsed.error().context("isolation record " + path_ +
                                  " is malformed (fix or remove it; removed means not isolated)");
  }
  return parsed;
}

Result<void> IsolationState::save(const std::optional<IsolationSpec>& spec) const {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return ioError(errno, "making the state directory " + dir_);
  }
  const std::string tmp = path_ + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ioError(errno, "writing the isolation record " + tmp);
  auto r = writeAll(fd, isolationStateJson(spec));
  if (r && fchmod(fd, 0600) != 0) r = ioError(errno, "chmod 0600");
  if (r && fsync(fd) != 0) r = ioError(errno, "fsync");
  close(fd);
  if (r && rename(tmp.c_str(), path_.c_str()) != 0) r = ioError(errno, "rename to " + path_);
  if (!r) {
    unlink(tmp.c_str());
    return r.error().context("writing the isolation record " + path_);
  }
  return syncDir(dir_);
}

}  // namespace sg
