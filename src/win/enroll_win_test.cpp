// WinEnrollBackend's local parts under Wine: BCrypt's key and signature,
// DPAPI sealing, the state directory's DACL, and the default state
// directory from FOLDERID_ProgramData. (Its POST runs against the real
// console in tests/windows/enroll_test.sh.)
#include "win/enroll_win.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/config.h"
#include "win/csr_der.h"
#include "win/state_dir.h"
#include "win/win_compat.h"
// (after windows.h)
#include <bcrypt.h>

namespace sg::win {
namespace {

// BCryptVerifySignature with the public half only.
bool verifies(const EcKeyPair& key, const std::string& digest, const std::string& sig) {
  BCRYPT_ALG_HANDLE alg = nullptr;
  if (BCryptOpenAlgorithmProvider(&alg, BCRYPT_ECDSA_P256_ALGORITHM, nullptr, 0) < 0) return false;
  std::string blob(sizeof(BCRYPT_ECCKEY_BLOB), '\0');
  auto* head = reinterpret_cast<BCRYPT_ECCKEY_BLOB*>(blob.data());
  head->dwMagic = BCRYPT_ECDSA_PUBLIC_P256_MAGIC;
  head->cbKey = 32;
  blob += key.point.substr(1);
  BCRYPT_KEY_HANDLE pub = nullptr;
  bool ok = BCryptImportKeyPair(alg, nullptr, BCRYPT_ECCPUBLIC_BLOB, &pub,
                                reinterpret_cast<PUCHAR>(blob.data()),
                                static_cast<ULONG>(blob.size()), 0) >= 0;
  ok = ok && BCryptVerifySignature(pub, nullptr,
                                   reinterpret_cast<PUCHAR>(const_cast<char*>(digest.data())),
                                   static_cast<ULONG>(digest.size()),
                                   reinterpret_cast<PUCHAR>(const_cast<char*>(sig.data())),
                                   static_cast<ULONG>(sig.size()), 0) >= 0;
  if (pub != nullptr) BCryptDestroyKey(pub);
  BCryptCloseAlgorithmProvider(alg, 0);
  return ok;
}

TEST(WinEnrollBackend, BCryptMakesAP256KeyAndSignsTheCsr) {
  WinEnrollBackend backend;
  auto key = backend.generateKey();
  ASSERT_TRUE(key.ok()) << key.error().message();
  ASSERT_EQ(key->point.size(), 65u);
  EXPECT_EQ(key->point[0], '\x04');
  ASSERT_EQ(key->scalar.size(), 32u);
  auto info = der::csrInfo("win-host", key->point);
  ASSERT_TRUE(info.ok());
  auto sig = backend.sign(*key, *info);
  ASSERT_TRUE(sig.ok()) << sig.error().message();
  EXPECT_TRUE(verifies(*key, backend.sha256(*info), *sig));
  EXPECT_FALSE(verifies(*key, backend.sha256(*info + "x"), *sig));
  EXPECT_TRUE(der::csr(*info, *sig).ok());
  // SHA-256 itself: the FIPS 180-2 "abc" vector.
  EXPECT_EQ(der::hex(backend.sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(WinEnrollBackend, TheKeySealedWithDpapiUnsealsOnlyAsItWas) {
  WinEnrollBackend backend;
  auto key = backend.generateKey();
  ASSERT_TRUE(key.ok());
  auto pkcs8 = der::p256Pkcs8(key->scalar, key->point);
  ASSERT_TRUE(pkcs8.ok());
  auto sealed = backend.seal(*pkcs8);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message();
  EXPECT_EQ(sealed->find(key->scalar), std::string::npos);
  auto back = unsealKey(*sealed);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, *pkcs8);
  std::string tampered = *sealed;
  tampered[tampered.size() / 2] ^= 0x55;
  EXPECT_FALSE(unsealKey(tampered).ok());
}

// Wine 8 keeps no security descriptor on a file: it reports one made from
// the Unix mode bits, whatever was set (docs/windows-notes.md).
bool underWine() {
  return GetProcAddress(GetModuleHandleA("ntdll.dll"), "wine_get_version") != nullptr;
}

TEST(WinEnrollBackend, TheStateDirectoryIsClosedToAllButSystemAndAdministrators) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("sg-acl-" + std::to_string(GetCurrentProcessId())))
          .string();
  std::filesystem::remove_all(dir);
  WinEnrollBackend backend;
  ASSERT_TRUE(backend.prepareStateDir(dir + "\\agent").ok());
  // Made before (e.g. by hand): restricted all the same.
  std::filesystem::create_directories(dir + "\\other");
  ASSERT_TRUE(backend.prepareStateDir(dir + "\\other").ok());
  auto made = stateDirAcl(dir + "\\agent");
  auto other = stateDirAcl(dir + "\\other");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(made.ok() && other.ok());
  if (underWine()) GTEST_SKIP() << "Wine keeps no DACL (it reports " << *made << ")";
  EXPECT_EQ(*made, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
  EXPECT_EQ(*other, "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
}

TEST(WinStateDir, DefaultIsUnderProgramData) {
  auto pd = programDataDir();
  ASSERT_TRUE(pd.ok()) << pd.error().message();
  char env[MAX_PATH] = {};
  ASSERT_GT(GetEnvironmentVariableA("ProgramData", env, sizeof env), 0u);
  EXPECT_EQ(*pd, env);
  auto dir = agentStateDir(AgentConfig{}.state_dir, *pd);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, *pd + "\\syn-guard\\agent");
}

TEST(WinStateDir, AWindowsPathIsAValidStateDirectory) {
  for (const char* path : {"C:\\ProgramData\\syn-guard\\agent", "d:/sg", "\\\\host\\share\\sg"}) {
    AgentConfig c;
    c.state_dir = path;
    auto v = validateConfig(c);
    EXPECT_TRUE(v.ok()) << path << ": " << v.error().message();
  }
  AgentConfig relative;
  relative.state_dir = "sg\\agent";
  EXPECT_FALSE(validateConfig(relative).ok());
}

}  // namespace
}  // namespace sg::win
