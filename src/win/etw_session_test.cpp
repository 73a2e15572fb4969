// The session's properties block, under Wine (the session itself needs a
// real host: Wine has no kernel TCPIP provider).
#include "win/etw_session.h"

#include <gtest/gtest.h>

#include <cstring>

namespace sg::win {
namespace {

TEST(EtwSession, PropertiesAskForARealTimeSessionWithSmallBuffersAndAMsFlushTimer) {
  EtwSessionOptions o;
  auto buf = sessionProperties(o);
  ASSERT_GE(buf.size(), sizeof(EVENT_TRACE_PROPERTIES));
  EVENT_TRACE_PROPERTIES p;
  std::memcpy(&p, buf.data(), sizeof(p));
  EXPECT_EQ(p.Wnode.BufferSize, buf.size());
  EXPECT_EQ(p.Wnode.Flags, static_cast<ULONG>(WNODE_FLAG_TRACED_GUID));
  EXPECT_EQ(p.Wnode.ClientContext, 1u);
  EXPECT_EQ(p.LogFileMode, static_cast<ULONG>(EVENT_TRACE_REAL_TIME_MODE) | kTraceUseMsFlushTimer);
  EXPECT_EQ(p.FlushTimer, 10u);
  EXPECT_EQ(p.BufferSize, 4u);
  EXPECT_EQ(p.LoggerNameOffset, sizeof(EVENT_TRACE_PROPERTIES));
  const auto* name = reinterpret_cast<const wchar_t*>(buf.data() + p.LoggerNameOffset);
  EXPECT_EQ(std::wstring(name), L"syn-guard-tcpip");
  // The keywords: the accepts' ut:TcpipListener and the SYN-attack events' ut:Global.
  EXPECT_EQ(o.keywords, 0x8000000002ull);
}

TEST(EtwSession, StoppingASessionThatDoesNotExistIsNoError) {
  // Under Wine ControlTraceW knows no session either: the orphan clean-up at
  // start must not fail on a clean host.
  auto r = stopSessionByName(L"syn-guard-test-no-such-session");
  EXPECT_TRUE(r.ok()) << r.error().message();
}

}  // namespace
}  // namespace sg::win
