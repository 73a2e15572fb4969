#include "files/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg {
namespace {

Error fileError(int err, const std::string& what) {
  return makeError(err == ENOENT                   ? Errc::kNotFound
                   : err == EACCES || err == EPERM ? Errc::kPermissionDenied
                                                   : Errc::kIo,
                   what + ": " + std::strerror(err));
}

Result<void> writeAll(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fileError(errno, "writing " + path);
    done += static_cast<size_t>(n);
  }
  return Ok{};
}

std::string dirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Result<void> writeFileAtomic(const std::string& path, const std::string& content, unsigned mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A leftover (or planted) file of that name is removed, never written
  // through: O_EXCL refuses to open anything that is already there.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fileError(errno, "creating " + tmp);
  Result<void> r = writeAll(fd, content, tmp);
  if (r && ::fchmod(fd, mode) != 0) r = fileError(errno, "chmod " + tmp);
  if (r && ::fsync(fd) != 0) r = fileError(errno, "fsync " + tmp);
  if (::close(fd) != 0 && r) r = fileError(errno, "closing " + tmp);
  if (r && ::rename(tmp.c_str(), path.c_str()) != 0) r = fileError(errno, "renaming to " + path);
  if (!r) {
    ::unlink(tmp.c_str());
    return r;
  }
  const std::string dir = dirOf(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fileError(errno, "opening " + dir);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return fileError(err, "fsync " + dir);
  return Ok{};
}

Result<std::string> readSmallFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fileError(errno, "opening " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fileError(err, "reading " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return makeError(Errc::kInvalidArgument,
                       path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

}  // namespace sg
