// files/state_file.h for Windows: the same contract with Win32 calls. The
// temporary file is created new (CREATE_NEW never opens one already there),
// flushed, and moved over the target with MOVEFILE_REPLACE_EXISTING |
// MOVEFILE_WRITE_THROUGH. `mode` has no meaning here: the state directory's
// ACL (the service's, under ProgramData) protects the files.
#include <algorithm>
#include <string>

#include "files/state_file.h"
#include "win/win_compat.h"

namespace sg {
namespace {

Error fileError(DWORD err, const std::string& what) {
  const Errc code = err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ? Errc::kNotFound
                    : err == ERROR_ACCESS_DENIED ? Errc::kPermissionDenied
                                                 : Errc::kIo;
  return makeError(code, what + ": Windows error " + std::to_string(err));
}

}  // namespace

Result<void> writeFileAtomic(const std::string& path, const std::string& content, unsigned mode) {
  (void)mode;
  const std::string tmp = path + ".tmp." + std::to_string(GetCurrentProcessId());
  DeleteFileA(tmp.c_str());
  HANDLE h = CreateFileA(tmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
                         nullptr);
  if (h == INVALID_HANDLE_VALUE) return fileError(GetLastError(), "creating " + tmp);
  Result<void> r = Ok{};
  size_t done = 0;
  while (r && done < content.size()) {
    DWORD n = 0;
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(content.size() - done, 1 << 20));
    if (!WriteFile(h, content.data() + done, chunk, &n, nullptr)) {
      r = fileError(GetLastError(), "writing " + tmp);
    }
    done += n;
  }
  if (r && !FlushFileBuffers(h)) r = fileError(GetLastError(), "flushing " + tmp);
  CloseHandle(h);
  if (r &&
      !MoveFileExA(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    r = fileError(GetLastError(), "renaming to " + path);
  }
  if (!r) DeleteFileA(tmp.c_str());
  return r;
}

Result<std::string> readSmallFile(const std::string& path, size_t max_bytes) {
  HANDLE h = CreateFileA(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return fileError(GetLastError(), "opening " + path);
  std::string out;
  char buf[4096];
  for (;;) {
    DWORD n = 0;
    if (!ReadFile(h, buf, sizeof buf, &n, nullptr)) {
      const DWORD err = GetLastError();
      CloseHandle(h);
      return fileError(err, "reading " + path);
    }
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > max_bytes) {
      CloseHandle(h);
      return makeError(Errc::kInvalidArgument,
                       path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  CloseHandle(h);
  return out;
}

}  // namespace sg
