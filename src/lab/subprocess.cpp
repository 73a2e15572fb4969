#include "lab/subprocess.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sg::lab {
namespace {

std::string joinArgv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<std::unique_ptr<Process>> Process::spawn(const std::vector<std::string>& argv,
                                                const std::string& netns) {
  if (argv.empty()) return makeError(Errc::kInvalidArgument, "spawn: empty command");
  int ns_fd = -1;
  if (!netns.empty()) {
    std::string path = "/var/run/netns/" + netns;
    ns_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      return makeError(Errc::kNotFound,
                       "spawn " + argv[0] + ": open " + path + ": " + std::strerror(errno));
    }
  }
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    if (ns_fd >= 0) close(ns_fd);
    return makeError(Errc::kIo, std::string("spawn: pipe: ") + std::strerror(errno));
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    if (ns_fd >= 0) close(ns_fd);
    return makeError(Errc::kIo, std::string("spawn: pipe: ") + std::strerror(errno));
  }
  // Everything the child touches is prepared before fork: after fork in a
  // threaded process only async-signal-safe calls are allowed.
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[0]);
    close(err_pipe[1]);
    if (ns_fd >= 0) close(ns_fd);
    return makeError(Errc::kIo, std::string("spawn: fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setpgid(0, 0);  // Ctrl-C reaches the lab owner, which stops us in order.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) {
      const char msg[] = "spawn: setns failed\n";
      (void)!write(err_pipe[1], msg, sizeof(msg) - 1);
      _exit(127);
    }
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvp(cargv[0], cargv.data());
    const char msg[] = "spawn: exec failed\n";
    (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (ns_fd >= 0) close(ns_fd);
  std::unique_ptr<Process> p(new Process());
  p->pid_ = pid;
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  p->out_thread_ = std::thread([proc = p.get(), out_fd] { proc->readStdout(out_fd); });
  p->err_thread_ = std::thread([proc = p.get(), err_fd] { proc->readStderr(err_fd); });
  return p;
}

void Process::readStdout(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = partial.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(partial.substr(0, pos));
      partial.erase(0, pos + 1);
      cv_.notify_all();
    }
  }
  close(fd);
  std::lock_guard<std::mutex> lock(mu_);
  if (!partial.empty()) lines_.push_back(partial);
  eof_ = true;
  cv_.notify_all();
}

void Process::readStderr(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    if (err_.size() < (1u << 20)) err_.append(buf, static_cast<size_t>(n));
  }
  close(fd);
}

std::optional<std::string> Process::readLine(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !lines_.empty() || eof_; });
  if (lines_.empty()) return std::nullopt;
  std::string line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

std::vector<std::string> Process::drainLines() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out(lines_.begin(), lines_.end());
  lines_.clear();
  return out;
}

bool Process::stdoutClosed() {
  std::lock_guard<std::mutex> lock(mu_);
  return eof_ && lines_.empty();
}

std::string Process::stderrText() {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

std::optional<int> Process::waitExit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = decodeStatus(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) {
      exit_code_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Process::running() { return !waitExit(std::chrono::milliseconds(0)).has_value(); }

int Process::stop(std::chrono::milliseconds grace) {
  if (!exit_code_) {
    kill(pid_, SIGTERM);
    if (!waitExit(grace)) {
      kill(pid_, SIGKILL);
      (void)waitExit(std::chrono::seconds(10));
    }
  }
  return exit_code_.value_or(-1);
}

void Process::waitOutput() {
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
}

Process::~Process() {
  stop();
  waitOutput();
}

Result<CommandOutput> runCommand(const std::vector<std::string>& argv, const std::string& netns) {
  auto proc = Process::spawn(argv, netns);
  if (!proc.ok()) return proc.error();
  Process& p = **proc;
  CommandOutput out;
  // Commands run here (ip, nft, sysctl) finish in well under a second; a
  // hung one is killed after a minute rather than hanging the lab.
  auto code = p.waitExit(std::chrono::seconds(60));
  out.exit_code = code ? *code : p.stop(std::chrono::milliseconds(100));
  p.waitOutput();
  for (const auto& line : p.drainLines()) {
    out.out += line;
    out.out += '\n';
  }
  out.err = p.stderrText();
  if (!code) {
    return makeError(Errc::kIo, "`" + joinArgv(argv) + "` did not finish within 60s");
  }
  return out;
}

Result<std::string> runChecked(const std::vector<std::string>& argv, const std::string& netns) {
  auto r = runCommand(argv, netns);
  if (!r.ok()) return r.error();
  if (r->exit_code != 0) {
    std::string err = r->err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return makeError(Errc::kIo, "`" + joinArgv(argv) + "` exited with " +
                                    std::to_string(r->exit_code) + ": " + err);
  }
  return std::move(r->out);
}

}  // namespace sg::lab
