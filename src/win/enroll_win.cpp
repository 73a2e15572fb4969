// WinEnrollBackend's key, hash, directory and sealing (enroll_win.h); the
// POST is in enroll_post_win.cpp.
#include "win/enroll_win.h"

#include <filesystem>
#include <vector>

#include "win/state_dir_check.h"
#include "win/win_compat.h"
// (after windows.h)
#include <aclapi.h>
#include <bcrypt.h>
#include <dpapi.h>
#include <sddl.h>

namespace sg::win {
namespace {

// Extra entropy for DPAPI. It is a constant in the binary, so it keeps out
// only programs that do not know it: with machine scope any local process
// that can read the file can unseal it. The protection is the state
// directory's owner and DACL (state_dir_check.h; docs/windows-notes.md).
constexpr char kSealEntropy[] = "syn-guard agent key v1";

Error ntError(const char* call, NTSTATUS st) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08lx", static_cast<unsigned long>(st));
  return Error(Errc::kIo, std::string(call) + ": status " + buf);
}

Error lastError(const char* what, DWORD err = GetLastError()) {
  return Error(err == ERROR_ACCESS_DENIED ? Errc::kPermissionDenied : Errc::kIo,
               std::string(what) + ": Windows error " + std::to_string(err));
}

class AlgHandle {
 public:
  explicit AlgHandle(const wchar_t* alg) {
    status_ = BCryptOpenAlgorithmProvider(&h_, alg, nullptr, 0);
  }
  ~AlgHandle() {
    if (h_ != nullptr) BCryptCloseAlgorithmProvider(h_, 0);
  }
  AlgHandle(const AlgHandle&) = delete;
  AlgHandle& operator=(const AlgHandle&) = delete;
  NTSTATUS status() const { return status_; }
  BCRYPT_ALG_HANDLE get() const { return h_; }

 private:
  BCRYPT_ALG_HANDLE h_ = nullptr;
  NTSTATUS status_ = 0;
};

struct KeyHandle {
  BCRYPT_KEY_HANDLE h = nullptr;
  KeyHandle() = default;
  KeyHandle(const KeyHandle&) = delete;
  KeyHandle& operator=(const KeyHandle&) = delete;
  ~KeyHandle() {
    if (h != nullptr) BCryptDestroyKey(h);
  }
};

constexpr ULONG kCoordBytes = 32;

}  // namespace

Result<EcKeyPair> WinEnrollBackend::generateKey() {
  AlgHandle alg(BCRYPT_ECDSA_P256_ALGORITHM);
  if (alg.status() < 0) return ntError("BCryptOpenAlgorithmProvider(ECDSA_P256)", alg.status());
  KeyHandle key;
  NTSTATUS st = BCryptGenerateKeyPair(alg.get(), &key.h, 256, 0);
  if (st < 0) return ntError("BCryptGenerateKeyPair", st);
  if ((st = BCryptFinalizeKeyPair(key.h, 0)) < 0) return ntError("BCryptFinalizeKeyPair", st);
  // BCRYPT_ECCKEY_BLOB, then X, Y and d.
  std::vector<UCHAR> blob(sizeof(BCRYPT_ECCKEY_BLOB) + 3 * kCoordBytes);
  ULONG n = 0;
  st = BCryptExportKey(key.h, nullptr, BCRYPT_ECCPRIVATE_BLOB, blob.data(),
                       static_cast<ULONG>(blob.size()), &n, 0);
  if (st < 0) return ntError("BCryptExportKey(ECCPRIVATE_BLOB)", st);
  const auto* head = reinterpret_cast<const BCRYPT_ECCKEY_BLOB*>(blob.data());
  if (n != blob.size() || head->cbKey != kCoordBytes) {
    return Error(Errc::kIo, "BCryptExportKey: unexpected P-256 blob");
  }
  const char* body = reinterpret_cast<const char*>(blob.data()) + sizeof(BCRYPT_ECCKEY_BLOB);
  EcKeyPair out;
  out.point = std::string(1, '\x04') + std::string(body, 2 * kCoordBytes);
  out.scalar = std::string(body + 2 * kCoordBytes, kCoordBytes);
  SecureZeroMemory(blob.data(), blob.size());
  return out;
}

Result<std::string> WinEnrollBackend::sign(const EcKeyPair& key, const std::string& data) {
  if (key.point.size() != 1 + 2 * kCoordBytes || key.scalar.size() != kCoordBytes) {
    return Error(Errc::kInvalidArgument, "not a P-256 key pair");
  }
  AlgHandle alg(BCRYPT_ECDSA_P256_ALGORITHM);
  if (alg.status() < 0) return ntError("BCryptOpenAlgorithmProvider(ECDSA_P256)", alg.status());
  std::vector<UCHAR> blob(sizeof(BCRYPT_ECCKEY_BLOB));
  auto* head = reinterpret_cast<BCRYPT_ECCKEY_BLOB*>(blob.data());
  head->dwMagic = BCRYPT_ECDSA_PRIVATE_P256_MAGIC;
  head->cbKey = kCoordBytes;
  blob.insert(blob.end(), key.point.begin() + 1, key.point.end());
  blob.insert(blob.end(), key.scalar.begin(), key.scalar.end());
  KeyHandle k;
  NTSTATUS st = BCryptImportKeyPair(alg.get(), nullptr, BCRYPT_ECCPRIVATE_BLOB, &k.h, blob.data(),
                                    static_cast<ULONG>(blob.size()), 0);
  SecureZeroMemory(blob.data(), blob.size());
  if (st < 0) return ntError("BCryptImportKeyPair", st);
  std::string digest = sha256(data);
  // r || s: 64 bytes for P-256. (Wine 8 answers a size query with 32, then
  // wants 64: the buffer is sized from the curve, not asked for.)
  std::string sig(2 * kCoordBytes, '\0');
  ULONG n = 0;
  st = BCryptSignHash(k.h, nullptr, reinterpret_cast<PUCHAR>(digest.data()),
                      static_cast<ULONG>(digest.size()), reinterpret_cast<PUCHAR>(sig.data()),
                      static_cast<ULONG>(sig.size()), &n, 0);
  if (st < 0) return ntError("BCryptSignHash", st);
  if (n != sig.size()) return Error(Errc::kIo, "BCryptSignHash: " + std::to_string(n) + " bytes");
  return sig;
}

std::string WinEnrollBackend::sha256(const std::string& data) {
  AlgHandle alg(BCRYPT_SHA256_ALGORITHM);
  std::string out(32, '\0');
  if (alg.status() < 0 ||
      BCryptHash(alg.get(), nullptr, 0, reinterpret_cast<PUCHAR>(const_cast<char*>(data.data())),
                 static_cast<ULONG>(data.size()), reinterpret_cast<PUCHAR>(out.data()),
                 static_cast<ULONG>(out.size())) < 0) {
    return std::string();  // compares unequal to any digest
  }
  return out;
}

Result<void> WinEnrollBackend::prepareStateDir(const std::string& dir) {
  return secureStateDir(dir);
}

Result<std::string> WinEnrollBackend::seal(const std::string& plain) {
  DATA_BLOB in{static_cast<DWORD>(plain.size()),
               reinterpret_cast<BYTE*>(const_cast<char*>(plain.data()))};
  DATA_BLOB entropy{sizeof kSealEntropy - 1,
                    reinterpret_cast<BYTE*>(const_cast<char*>(kSealEntropy))};
  DATA_BLOB out{};
  if (!CryptProtectData(&in, L"syn-guard agent key", &entropy, nullptr, nullptr,
                        CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    return lastError("sealing the key (CryptProtectData, machine scope)");
  }
  std::string sealed(reinterpret_cast<char*>(out.pbData), out.cbData);
  LocalFree(out.pbData);
  return sealed;
}

Result<std::string> unsealKey(const std::string& sealed) {
  DATA_BLOB in{static_cast<DWORD>(sealed.size()),
               reinterpret_cast<BYTE*>(const_cast<char*>(sealed.data()))};
  DATA_BLOB entropy{sizeof kSealEntropy - 1,
                    reinterpret_cast<BYTE*>(const_cast<char*>(kSealEntropy))};
  DATA_BLOB out{};
  if (!CryptUnprotectData(&in, nullptr, &entropy, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN,
                          &out)) {
    return lastError("unsealing the key (CryptUnprotectData: sealed on another host?)");
  }
  std::string plain(reinterpret_cast<char*>(out.pbData), out.cbData);
  SecureZeroMemory(out.pbData, out.cbData);
  LocalFree(out.pbData);
  return plain;
}

Result<std::string> stateDirAcl(const std::string& dir) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
  const DWORD err = GetNamedSecurityInfoA(dir.c_str(), SE_FILE_OBJECT, info, nullptr, nullptr,
                                          nullptr, nullptr, &sd);
  if (err != ERROR_SUCCESS) return lastError(("reading the owner and DACL of " + dir).c_str(), err);
  char* text = nullptr;
  const BOOL ok = ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1, info,
                                                                       &text, nullptr);
  LocalFree(sd);
  if (!ok) return lastError("converting a DACL to SDDL");
  std::string out(text);
  LocalFree(text);
  return out;
}

std::string hostName() {
  char buf[256] = {};
  DWORD n = sizeof buf;
  if (!GetComputerNameExA(ComputerNameDnsHostname, buf, &n)) return "";
  return std::string(buf, n);
}

}  // namespace sg::win
