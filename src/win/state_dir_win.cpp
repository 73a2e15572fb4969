// programDataDir (state_dir.h): SHGetKnownFolderPath(FOLDERID_ProgramData).
#include "win/state_dir.h"
#include "win/win_compat.h"
// (after windows.h)
#include <knownfolders.h>
#include <shlobj.h>

namespace sg::win {

Result<std::string> programDataDir() {
  PWSTR path = nullptr;
  const HRESULT hr = SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path);
  if (FAILED(hr)) {
    CoTaskMemFree(path);
    return Error(Errc::kNotFound, "SHGetKnownFolderPath(FOLDERID_ProgramData): HRESULT " +
                                      std::to_string(static_cast<unsigned long>(hr)));
  }
  // The files are opened with the ANSI calls (state_file_win.cpp): the path
  // in the ANSI code page.
  const int n = WideCharToMultiByte(CP_ACP, 0, path, -1, nullptr, 0, nullptr, nullptr);
  std::string out(n > 0 ? n - 1 : 0, '\0');
  if (n > 0) WideCharToMultiByte(CP_ACP, 0, path, -1, out.data(), n, nullptr, nullptr);
  CoTaskMemFree(path);
  if (out.empty()) return Error(Errc::kNotFound, "FOLDERID_ProgramData: an empty path");
  return out;
}

}  // namespace sg::win
