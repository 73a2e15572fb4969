// EtwSession: a real-time ETW session on Microsoft-Windows-TCPIP (RAII: the
// destructor stops it). Small buffers and a millisecond flush timer keep an
// event's delay from the kernel to the callback short; a session of the same
// name left by a crashed agent is stopped first (the seed's cleanup quirk).
// Windows only, and only a real host can run it: Wine has no kernel
// providers (docs/windows-notes.md).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "win/etw_decode.h"
#include "win/win_compat.h"

namespace sg::win {

// EVENT_TRACE_USE_MS_FLUSH_TIMER (a Windows 7+ LoggerMode flag: FlushTimer in
// milliseconds) is not in mingw-w64's evntrace.h; value as in the SDK's
// LoggerMode flags (also re-declared, from the SDK, in microsoft/ctsTraffic).
inline constexpr ULONG kTraceUseMsFlushTimer = 0x00000010;

struct EtwSessionOptions {
  std::wstring name = L"syn-guard-tcpip";
  ULONG buffer_kb = 4;  // the smallest ETW allows: a flood fills (and hands over) one fast
  ULONG flush_ms = 10;  // a partly filled buffer waits at most this long
  ULONG min_buffers = 4;
  ULONG max_buffers = 64;
  UCHAR level = 4;  // TRACE_LEVEL_INFORMATION: the accepts are Informational
  // ut:TcpipListener (0x2: the accept events) | ut:Global (0x8000000000: SYN-attack state).
  ULONGLONG keywords = 0x2ull | 0x8000000000ull;
};

// The EVENT_TRACE_PROPERTIES block (with room for the name) StartTraceW
// takes, filled from `o`. Tested under Wine.
std::vector<uint8_t> sessionProperties(const EtwSessionOptions& o);

class EtwSession {
 public:
  using Callback = std::function<void(const EtwRecordView&)>;
  // Stops an orphan of the same name, starts the session, enables the
  // provider, opens it for real-time consumption.
  static Result<std::unique_ptr<EtwSession>> start(const EtwSessionOptions& o, Callback cb);
  ~EtwSession();
  // Delivers events to the callback until stop() (ProcessTrace): run it on
  // a thread of its own.
  Result<void> run();
  void stop();
  // Events the session lost (buffers full), from its properties.
  uint64_t eventsLost();

 private:
  EtwSession(EtwSessionOptions o, Callback cb) : options_(std::move(o)), callback_(std::move(cb)) {}
  static void WINAPI onEvent(PEVENT_RECORD rec);
  EtwSessionOptions options_;
  Callback callback_;
  TRACEHANDLE session_ = 0;
  TRACEHANDLE consumer_ = INVALID_PROCESSTRACE_HANDLE;
};

// Stops a session by name; an absent one is not an error.
Result<void> stopSessionByName(const std::wstring& name);

}  // namespace sg::win
