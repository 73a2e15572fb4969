// clang-format off
#include "win/control_pipe.h"  // windows.h first: sddl.h needs it
#include <sddl.h>
// clang-format on

#include "agent/control_protocol.h"

namespace sg::win {
namespace {

constexpr DWORD kBufferSize = 64 * 1024;

Error lastError(const std::string& what) {
  return Error(Errc::kIo, what + ": error " + std::to_string(GetLastError()));
}

// Reads up to the first '\n' (not included), at most kMaxControlLine bytes.
Result<std::string> readLine(HANDLE h) {
  std::string line;
  char buf[4096];
  while (line.size() <= agent::kMaxControlLine) {
    DWORD got = 0;
    if (!ReadFile(h, buf, sizeof(buf), &got, nullptr) || got == 0) {
      if (GetLastError() == ERROR_MORE_DATA) {
        line.append(buf, got);
        continue;
      }
      return lastError("ReadFile");
    }
    line.append(buf, got);
    if (auto nl = line.find('\n'); nl != std::string::npos) {
      line.resize(nl);
      return line;
    }
  }
  return Error(Errc::kInvalidArgument,
               "request longer than " + std::to_string(agent::kMaxControlLine) + " bytes");
}

Result<void> writeAll(HANDLE h, const std::string& data) {
  size_t at = 0;
  while (at < data.size()) {
    DWORD put = 0;
    if (!WriteFile(h, data.data() + at, static_cast<DWORD>(data.size() - at), &put, nullptr)) {
      return lastError("WriteFile");
    }
    at += put;
  }
  return Ok{};
}

HANDLE createInstance(const std::wstring& name, bool first) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kPipeSddl, SDDL_REVISION_1, &sd,
                                                            nullptr)) {
    return INVALID_HANDLE_VALUE;
  }
  SECURITY_ATTRIBUTES sa{sizeof(sa), sd, FALSE};
  HANDLE h = CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_DUPLEX | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, kBufferSize,
      kBufferSize, 0, &sa);
  LocalFree(sd);
  return h;
}

}  // namespace

Result<void> ControlPipeServer::start() {
  pipe_ = createInstance(name_, true);
  if (pipe_ == INVALID_HANDLE_VALUE) {
    return lastError("CreateNamedPipeW (is another agent running?)");
  }
  thread_ = std::thread([this] { serve(); });
  return Ok{};
}

void ControlPipeServer::serve() {
  while (!stopping_) {
    const BOOL connected =
        ConnectNamedPipe(pipe_, nullptr) || GetLastError() == ERROR_PIPE_CONNECTED;
    if (stopping_) break;
    if (connected) {
      auto line = readLine(pipe_);
      const std::string reply =
          line.ok() ? handler_(*line) : std::string(R"({"ok":false,"error":"bad request line"})");
      (void)writeAll(pipe_, reply + "\n");
      FlushFileBuffers(pipe_);
    }
    DisconnectNamedPipe(pipe_);
  }
}

void ControlPipeServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  // Wake ConnectNamedPipe with a connection of our own.
  HANDLE h = CreateFileW(name_.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0,
                         nullptr);
  if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
  thread_.join();
  CloseHandle(pipe_);
  pipe_ = INVALID_HANDLE_VALUE;
}

Result<std::string> pipeRequest(const std::wstring& name, const std::string& line) {
  HANDLE h = INVALID_HANDLE_VALUE;
  for (int attempt = 0; attempt < 50; attempt++) {  // bounded: ~5 s while the server is busy
    h = CreateFileW(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0,
                    nullptr);
    if (h != INVALID_HANDLE_VALUE) break;
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND)
      return Error(Errc::kUnavailable, "no agent is running (no pipe)");
    if (err == ERROR_ACCESS_DENIED)
      return Error(Errc::kPermissionDenied, "the agent's pipe admits Administrators only");
    if (err != ERROR_PIPE_BUSY) return lastError("CreateFileW");
    WaitNamedPipeW(name.c_str(), 100);
  }
  if (h == INVALID_HANDLE_VALUE) return Error(Errc::kUnavailable, "the agent's pipe stayed busy");
  auto sent = writeAll(h, line + "\n");
  Result<std::string> reply = sent.ok() ? readLine(h) : Result<std::string>(sent.error());
  CloseHandle(h);
  return reply;
}

}  // namespace sg::win
