// The Windows agent's control channel: a local named pipe (\\.\pipe\syn-guard
// by default) whose DACL admits only Administrators and SYSTEM, remote
// clients rejected. One request line, one response line per connection, as
// the Linux control socket (control_handler.h speaks the protocol).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include "core/result.h"
#include "win/win_compat.h"

namespace sg::win {

inline constexpr wchar_t kDefaultPipeName[] = L"\\\\.\\pipe\\syn-guard";
// Protected DACL: GENERIC_ALL for BUILTIN\Administrators (BA) and LocalSystem (SY), no one else.
inline constexpr wchar_t kPipeSddl[] = L"D:P(A;;GA;;;BA)(A;;GA;;;SY)";

class ControlPipeServer {
 public:
  using Handler = std::function<std::string(std::string_view)>;
  ControlPipeServer(std::wstring name, Handler handler)
      : name_(std::move(name)), handler_(std::move(handler)) {}
  ~ControlPipeServer() { stop(); }

  // Creates the pipe (failing if another process owns the name) and serves
  // on a thread of its own.
  Result<void> start();
  void stop();

 private:
  void serve();
  std::wstring name_;
  Handler handler_;
  HANDLE pipe_ = INVALID_HANDLE_VALUE;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

// Client side: sends one line, returns the response line.
Result<std::string> pipeRequest(const std::wstring& name, const std::string& line);

}  // namespace sg::win
