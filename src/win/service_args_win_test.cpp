// quoteWindowsArg against Windows' own parser (CommandLineToArgvW; Wine's
// implementation under test here, shell32 on a real host).
#include "win/win_compat.h"
// (shellapi.h needs windows.h first)
#include <gtest/gtest.h>
#include <shellapi.h>

#include "win/service_args.h"

namespace sg::win {
namespace {

std::wstring wide(const std::string& s) { return std::wstring(s.begin(), s.end()); }

TEST(ServiceArgsWin, EveryQuotedArgumentComesBackUnchanged) {
  const std::vector<std::string> args = {"plain",
                                         "",
                                         "with space",
                                         "tab\there",
                                         "a\"b",
                                         "a\\\"b",
                                         "trailing\\",
                                         "space and trailing\\",
                                         "C:\\Program Files\\x",
                                         "\\\\server\\share",
                                         "\"\""};
  std::string line = "\"C:\\sg\\syn-guard.exe\"";
  for (const std::string& a : args) line += " " + quoteWindowsArg(a);
  int argc = 0;
  LPWSTR* argv = CommandLineToArgvW(wide(line).c_str(), &argc);
  ASSERT_NE(argv, nullptr);
  ASSERT_EQ(argc, static_cast<int>(args.size()) + 1);
  for (size_t i = 0; i < args.size(); i++)
    EXPECT_EQ(std::wstring(argv[i + 1]), wide(args[i])) << args[i];
  LocalFree(argv);
}

}  // namespace
}  // namespace sg::win
