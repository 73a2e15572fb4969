// secureStateDir / checkStateDir (state_dir_check.h): each level opened with
// FILE_FLAG_OPEN_REPARSE_POINT (a junction is looked at, not followed), its
// attributes and owner read from that handle, judged by judgeStateDirLevel,
// and for secureStateDir the owner (Administrators) and the protected DACL
// set on the same handle.
#include <filesystem>

#include "win/state_dir_check.h"
#include "win/win_compat.h"
// (after windows.h)
#include <aclapi.h>
#include <sddl.h>

namespace sg::win {
namespace {

// Owner Administrators (SYSTEM may not be given as owner by an elevated
// administrator without SeRestorePrivilege; the service's SYSTEM token may
// give either); SYSTEM and Administrators full control, inherited by files
// and folders below; protected: nothing inherited from ProgramData.
constexpr const char* kStateDirSddl = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

Error winError(const std::string& what, DWORD err) {
  return Error(err == ERROR_ACCESS_DENIED ? Errc::kPermissionDenied : Errc::kIo,
               what + ": Windows error " + std::to_string(err));
}

std::string sidText(PSID sid) {
  char* text = nullptr;
  if (sid == nullptr || !ConvertSidToStringSidA(sid, &text)) return "(unknown owner)";
  std::string out(text);
  LocalFree(text);
  return out;
}

// The process token's user SID ("S-1-5-18" for the service).
std::string agentSid() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return "";
  DWORD n = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &n);
  std::string buf(n, '\0');
  std::string out;
  if (n > 0 && GetTokenInformation(token, TokenUser, buf.data(), n, &n)) {
    out = sidText(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid);
  }
  CloseHandle(token);
  return out;
}

class Handle {
 public:
  explicit Handle(HANDLE h) : h_(h) {}
  ~Handle() {
    if (h_ != INVALID_HANDLE_VALUE) CloseHandle(h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  HANDLE get() const { return h_; }
  void reset(HANDLE h) {
    if (h_ != INVALID_HANDLE_VALUE) CloseHandle(h_);
    h_ = h;
  }

 private:
  HANDLE h_;
};

// Opens `path` itself (not a reparse point's target) and reads its facts;
// an absent path gives exists = false.
Result<DirFacts> inspect(const std::string& path, DWORD access, Handle* out) {
  DirFacts f;
  HANDLE h = CreateFileA(
      path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
      OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) return f;
    return winError("opening " + path, err);
  }
  out->reset(h);
  f.exists = true;
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(h, &info)) return winError("reading " + path, GetLastError());
  f.is_directory = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  f.reparse_point = (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD err = GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner, nullptr,
                                    nullptr, nullptr, &sd);
  if (err != ERROR_SUCCESS) return winError("reading the owner of " + path, err);
  f.owner_sid = sidText(owner);
  LocalFree(sd);
  f.owner = classifyOwner(f.owner_sid, agentSid());
  return f;
}

class WinStateDirOps final : public StateDirOps {
 public:
  explicit WinStateDirOps(DWORD access) : access_(access) {}
  ~WinStateDirOps() override {
    if (sd_ != nullptr) LocalFree(sd_);
  }
  WinStateDirOps(const WinStateDirOps&) = delete;
  WinStateDirOps& operator=(const WinStateDirOps&) = delete;

  Result<void> makeDir(const std::string& path) override {
    if (sd_ == nullptr && !ConvertStringSecurityDescriptorToSecurityDescriptorA(
                              kStateDirSddl, SDDL_REVISION_1, &sd_, nullptr)) {
      return winError("building the state directory's security descriptor", GetLastError());
    }
    SECURITY_ATTRIBUTES sa{sizeof sa, sd_, FALSE};
    // Created here with owner and DACL, or already there (made by anyone,
    // even in a race with this call): open() judges it either way.
    if (!CreateDirectoryA(path.c_str(), &sa) && GetLastError() != ERROR_ALREADY_EXISTS) {
      return winError("creating " + path, GetLastError());
    }
    return Ok{};
  }

  Result<DirFacts> open(const std::string& path) override {
    path_ = path;
    return inspect(path, access_, &handle_);
  }

  Result<void> restrictOpened() override {
    PSID owner = nullptr;
    PACL dacl = nullptr;
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    if (sd_ == nullptr || !GetSecurityDescriptorOwner(sd_, &owner, &defaulted) ||
        !GetSecurityDescriptorDacl(sd_, &present, &dacl, &defaulted)) {
      return winError("reading the state directory's security descriptor", GetLastError());
    }
    const DWORD err = SetSecurityInfo(handle_.get(), SE_FILE_OBJECT,
                                      OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                          PROTECTED_DACL_SECURITY_INFORMATION,
                                      owner, nullptr, dacl, nullptr);
    if (err != ERROR_SUCCESS) return winError("setting the owner and DACL of " + path_, err);
    return Ok{};
  }

 private:
  DWORD access_;
  PSECURITY_DESCRIPTOR sd_ = nullptr;
  Handle handle_{INVALID_HANDLE_VALUE};
  std::string path_;
};

}  // namespace

Result<void> secureStateDir(const std::string& dir) {
  // Above the checked levels (ProgramData itself for the default): made as
  // Windows would, inheriting; their ACLs are the administrator's choice.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(stateDirLevels(dir)[0]).parent_path(),
                                      ec);
  WinStateDirOps ops(READ_CONTROL | WRITE_DAC | WRITE_OWNER);
  return secureStateDirWith(dir, ops);
}

Result<void> checkStateDir(const std::string& dir) {
  WinStateDirOps ops(READ_CONTROL);
  return checkStateDirWith(dir, ops);
}

}  // namespace sg::win
