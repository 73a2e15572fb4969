// secureStateDir / checkStateDir (state_dir_check.h): each level opened with
// FILE_FLAG_OPEN_REPARSE_POINT (a junction is looked at, not followed), its
// attributes, owner and DACL read from that handle, judged by
// judgeStateDirLevel / daclOpenness, and the owner (Administrators) and the
// protected DACL set on the same handle.
#include <filesystem>
#include <vector>

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

HANDLE openLevel(const std::string& path, DWORD access) {
  return CreateFileA(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                     nullptr, OPEN_EXISTING,
                     FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
}

// The handle's owner and DACL in self-relative form. GetKernelObjectSecurity
// fills a caller's buffer: asked with none it says the size
// (ERROR_INSUFFICIENT_BUFFER), and the size may grow before the second call
// (a DACL changed meanwhile), so it is asked again, a bounded number of times.
Result<std::vector<uint8_t>> readDescriptor(HANDLE h, const std::string& path) {
  const SECURITY_INFORMATION info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  std::vector<uint8_t> buf;
  for (int attempt = 0; attempt < 4; ++attempt) {
    DWORD need = 0;
    if (GetKernelObjectSecurity(h, info, buf.empty() ? nullptr : buf.data(),
                                static_cast<DWORD>(buf.size()), &need)) {
      return buf;
    }
    const DWORD err = GetLastError();
    if (err != ERROR_INSUFFICIENT_BUFFER || need <= buf.size()) {
      return winError("reading the owner and DACL of " + path, err);
    }
    buf.assign(need, 0);
  }
  return winError("reading the owner and DACL of " + path + " (its size kept changing)",
                  ERROR_INSUFFICIENT_BUFFER);
}

// The DACL's entries for daclOpenness; mask and SID of the allow and deny
// entries (both: header, mask, SID).
Result<DirDacl> readDacl(PSECURITY_DESCRIPTOR sd, const std::string& path) {
  DirDacl out;
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision = 0;
  if (!GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) ||
      !GetSecurityDescriptorControl(sd, &control, &revision)) {
    return winError("reading the DACL of " + path, GetLastError());
  }
  out.present = present && dacl != nullptr;
  out.is_protected = (control & SE_DACL_PROTECTED) != 0;
  for (DWORD i = 0; out.present && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace)) return winError("reading the DACL of " + path, GetLastError());
    DirAce a;
    a.type = static_cast<ACE_HEADER*>(ace)->AceType;
    if (a.type == ACCESS_ALLOWED_ACE_TYPE || a.type == ACCESS_DENIED_ACE_TYPE) {
      auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
      a.mask = allowed->Mask;
      a.sid = sidText(&allowed->SidStart);
    }
    out.aces.push_back(std::move(a));
  }
  return out;
}

// Opens `path` itself (not a reparse point's target) and reads its facts;
// an absent path gives exists = false. With `access` when the account has
// it, else to read only (restrictOpened then fails).
Result<DirFacts> inspect(const std::string& path, DWORD access, Handle* out) {
  DirFacts f;
  HANDLE h = openLevel(path, access);
  if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_ACCESS_DENIED &&
      access != READ_CONTROL) {
    h = openLevel(path, READ_CONTROL);
  }
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
  SG_READ(sd, readDescriptor(h, path));
  PSECURITY_DESCRIPTOR desc = sd->data();
  PSID owner = nullptr;
  BOOL defaulted = FALSE;
  if (!GetSecurityDescriptorOwner(desc, &owner, &defaulted)) {
    return winError("reading the owner of " + path, GetLastError());
  }
  f.owner_sid = sidText(owner);
  f.agent_sid = agentSid();
  f.owner = classifyOwner(f.owner_sid, f.agent_sid);
  SG_READ(dacl, readDacl(desc, path));
  f.dacl = std::move(*dacl);
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
    SG_TRY(buildDescriptor());
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
    // Built here too: the start-up check restricts without having made anything.
    SG_TRY(buildDescriptor());
    PSID owner = nullptr;
    PACL dacl = nullptr;
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    if (!GetSecurityDescriptorOwner(sd_, &owner, &defaulted) ||
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
  Result<void> buildDescriptor() {
    if (sd_ == nullptr && !ConvertStringSecurityDescriptorToSecurityDescriptorA(
                              kStateDirSddl, SDDL_REVISION_1, &sd_, nullptr)) {
      return winError("building the state directory's security descriptor", GetLastError());
    }
    return Ok{};
  }

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

Result<StateDirCheck> checkStateDir(const std::string& dir) {
  // With the rights to restrict an open DACL when the account has them.
  WinStateDirOps ops(READ_CONTROL | WRITE_DAC | WRITE_OWNER);
  return checkStateDirWith(dir, ops);
}

}  // namespace sg::win
