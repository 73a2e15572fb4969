#include "linux/isolation_state.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scratch_dir.h"
#include "test_helpers.h"

namespace sg {
namespace {

IsolationSpec sampleSpec() {
  auto spec = parseIsolationSpec({"192.0.2.10", "2001:db8::10"}, {"198.51.100.0/24"});
  if (!spec) std::abort();
  return *spec;
}

TEST(IsolationState, NoFileMeansNotIsolated) {
  const sg::test::ScratchDir dir("sg-isolation");
  auto r = IsolationState(dir.path().string()).load();
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
}

TEST(IsolationState, SavesAtomicallyWithMode0600AndLoadsBack) {
  const sg::test::ScratchDir dir("sg-isolation");
  IsolationState state(dir.path().string() + "/agent");  // made on first save
  ASSERT_OK(state.save(sampleSpec()));
  struct stat st {};
  ASSERT_EQ(stat(state.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = state.load();
  ASSERT_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, sampleSpec());
  // Released: recorded as such, no temporary file left behind.
  ASSERT_OK(state.save(std::nullopt));
  auto released = state.load();
  ASSERT_OK(released);
  EXPECT_FALSE(released->has_value());
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path() / "agent")) {
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(IsolationState, MalformedRecordIsAnErrorNamingTheFile) {
  const sg::test::ScratchDir dir("sg-isolation");
  IsolationState state(dir.path().string());
  for (const char* text :
       {"not json", "{\"version\":2,\"isolated\":false}", "{\"version\":1,\"isolated\":true}",
        "{\"version\":1,\"isolated\":true,\"spec\":{\"console\":[]}}"}) {
    std::ofstream(state.path()) << text;
    auto r = state.load();
    EXPECT_ERROR(r, Errc::kInvalidArgument);
    if (!r) {
      EXPECT_NE(r.error().message().find(state.path()), std::string::npos) << text;
    }
  }
}

TEST(IsolationState, JsonShape) {
  EXPECT_EQ(isolationStateJson(std::nullopt), "{\"isolated\":false,\"version\":1}\n");
  auto back = parseIsolationStateJson(isolationStateJson(sampleSpec()));
  ASSERT_OK(back);
  EXPECT_EQ(**back, sampleSpec());
}

}  // namespace
}  // namespace sg
