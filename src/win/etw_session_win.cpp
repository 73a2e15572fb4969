#include <cstring>

#include "win/etw_session.h"

namespace sg::win {
namespace {

Error etwError(const char* call, ULONG rc) {
  if (rc == ERROR_ACCESS_DENIED) {
    return Error(Errc::kPermissionDenied,
                 std::string(call) + ": access denied (run as Administrator)");
  }
  return Error(Errc::kIo, std::string(call) + ": error " + std::to_string(rc));
}

EVENT_TRACE_PROPERTIES* props(std::vector<uint8_t>& buf) {
  return reinterpret_cast<EVENT_TRACE_PROPERTIES*>(buf.data());
}

}  // namespace

std::vector<uint8_t> sessionProperties(const EtwSessionOptions& o) {
  const size_t name_bytes = (o.name.size() + 1) * sizeof(wchar_t);
  std::vector<uint8_t> buf(sizeof(EVENT_TRACE_PROPERTIES) + name_bytes);
  EVENT_TRACE_PROPERTIES* p = props(buf);
  p->Wnode.BufferSize = static_cast<ULONG>(buf.size());
  p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
  p->Wnode.ClientContext = 1;  // QueryPerformanceCounter time stamps
  p->BufferSize = o.buffer_kb;
  p->MinimumBuffers = o.min_buffers;
  p->MaximumBuffers = o.max_buffers;
  p->LogFileMode = EVENT_TRACE_REAL_TIME_MODE | kTraceUseMsFlushTimer;
  p->FlushTimer = o.flush_ms;
  p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
  std::memcpy(buf.data() + p->LoggerNameOffset, o.name.c_str(), name_bytes);
  return buf;
}

Result<void> stopSessionByName(const std::wstring& name) {
  EtwSessionOptions o;
  o.name = name;
  std::vector<uint8_t> buf = sessionProperties(o);
  const ULONG rc = ControlTraceW(0, name.c_str(), props(buf), EVENT_TRACE_CONTROL_STOP);
  if (rc == ERROR_SUCCESS || rc == ERROR_WMI_INSTANCE_NOT_FOUND) return Ok{};
  return etwError("ControlTraceW(stop)", rc);
}

Result<std::unique_ptr<EtwSession>> EtwSession::start(const EtwSessionOptions& o, Callback cb) {
  if (auto r = stopSessionByName(o.name); !r.ok())
    return r.error().context("stopping an orphan session");
  std::unique_ptr<EtwSession> s(new EtwSession(o, std::move(cb)));
  std::vector<uint8_t> buf = sessionProperties(o);
  ULONG rc = StartTraceW(&s->session_, o.name.c_str(), props(buf));
  if (rc != ERROR_SUCCESS) return etwError("StartTraceW", rc);
  GUID provider = compat::kTcpipProvider;
  rc = EnableTraceEx2(s->session_, &provider, EVENT_CONTROL_CODE_ENABLE_PROVIDER, o.level,
                      o.keywords, 0, 0, nullptr);
  if (rc != ERROR_SUCCESS) return etwError("EnableTraceEx2", rc);
  EVENT_TRACE_LOGFILEW log{};
  std::wstring name = o.name;
  log.LoggerName = name.data();
  log.ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME | PROCESS_TRACE_MODE_EVENT_RECORD;
  log.EventRecordCallback = &EtwSession::onEvent;
  log.Context = s.get();
  s->consumer_ = OpenTraceW(&log);
  if (s->consumer_ == INVALID_PROCESSTRACE_HANDLE) return etwError("OpenTraceW", GetLastError());
  return s;
}

void WINAPI EtwSession::onEvent(PEVENT_RECORD rec) {
  auto* self = static_cast<EtwSession*>(rec->UserContext);
  if (self == nullptr ||
      std::memcmp(&rec->EventHeader.ProviderId, &compat::kTcpipProvider, sizeof(GUID)) != 0) {
    return;
  }
  EtwRecordView view;
  view.id = rec->EventHeader.EventDescriptor.Id;
  view.version = rec->EventHeader.EventDescriptor.Version;
  view.pointer64 = (rec->EventHeader.Flags & EVENT_HEADER_FLAG_32_BIT_HEADER) == 0;
  view.payload =
      std::span<const uint8_t>(static_cast<const uint8_t*>(rec->UserData), rec->UserDataLength);
  self->callback_(view);
}

Result<void> EtwSession::run() {
  TRACEHANDLE h = consumer_;
  const ULONG rc = ProcessTrace(&h, 1, nullptr, nullptr);
  if (rc != ERROR_SUCCESS && rc != ERROR_CANCELLED) return etwError("ProcessTrace", rc);
  return Ok{};
}

void EtwSession::stop() {
  if (consumer_ != INVALID_PROCESSTRACE_HANDLE) {
    CloseTrace(consumer_);  // ProcessTrace returns
    consumer_ = INVALID_PROCESSTRACE_HANDLE;
  }
  if (session_ != 0) {
    std::vector<uint8_t> buf = sessionProperties(options_);
    ControlTraceW(session_, nullptr, props(buf), EVENT_TRACE_CONTROL_STOP);
    session_ = 0;
  }
}

uint64_t EtwSession::eventsLost() {
  if (session_ == 0) return 0;
  std::vector<uint8_t> buf = sessionProperties(options_);
  if (ControlTraceW(session_, nullptr, props(buf), EVENT_TRACE_CONTROL_QUERY) != ERROR_SUCCESS)
    return 0;
  return props(buf)->EventsLost;
}

EtwSession::~EtwSession() { stop(); }

}  // namespace sg::win
