// Child processes for the lab: run a command to completion (ip, nft, sysctl),
// or spawn a long-running one (the agent) inside a network namespace and read
// its stdout line by line while it runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"

namespace sg::lab {

struct CommandOutput {
  int exit_code = 0;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv[0] (looked up in PATH) with the given arguments and waits for it;
// netns = "" runs it in the caller's namespace. Fails only when it cannot run.
Result<CommandOutput> runCommand(const std::vector<std::string>& argv,
                                 const std::string& netns = "");
// Same, but a non-zero exit is an error carrying the command and its stderr.
Result<std::string> runChecked(const std::vector<std::string>& argv, const std::string& netns = "");

// A spawned child. stdout is read line by line by a reader thread; stderr is
// collected whole. The destructor stops the child (SIGTERM, then SIGKILL) and
// reaps it. The child runs in its own process group
// (Ctrl-C reaches only the lab owner) and gets SIGTERM if the thread that
// spawned it exits, so spawn from a thread that outlives the child.
class Process {
 public:
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // fork, setns into /var/run/netns/<netns> (unless empty), exec argv.
  static Result<std::unique_ptr<Process>> spawn(const std::vector<std::string>& argv,
                                                const std::string& netns = "");

  pid_t pid() const { return pid_; }
  // Next stdout line, waiting up to `timeout`; nullopt on timeout or EOF.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  // All stdout lines available now, without waiting.
  std::vector<std::string> drainLines();
  // True once stdout reached EOF and every line was read.
  bool stdoutClosed();
  std::string stderrText();
  // Blocks until the child (and anything it left holding its pipes) closed
  // stdout and stderr; call after it exited to read its complete output.
  void waitOutput();

  // Waits up to `timeout` for the child to exit; its exit code (128+signal
  // when killed), or nullopt when still running.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  bool running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  Process() = default;
  void readStdout(int fd);
  void readStderr(int fd);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool eof_ = false;
  std::string err_;
  std::thread out_thread_;
  std::thread err_thread_;
};

}  // namespace sg::lab
