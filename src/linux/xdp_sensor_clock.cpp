// The program's clock: HZ before load, the offset to CLOCK_MONOTONIC after.
#include "linux/xdp_sensor_clock.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "linux/errno_text.h"
#include "linux/xdp_sensor.h"
#include "syn_guard.skel.h"

namespace sg {
namespace {

constexpr int kProbeRuns = 8;  // offset samples; the largest wins (see calibrateClock)

uint64_t monoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The whole of a gzip file ("" when it cannot be read).
std::string readGzip(const char* path) {
  gzFile f = gzopen(path, "rb");
  if (f == nullptr) return "";
  std::string out;
  char buf[16384];
  int n = 0;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A program that returns bpf_jiffies64() (its low 32 bits reach the caller
// as the test run's retval). Socket filter: the cheapest type to test-run.
class JiffiesProbe {
 public:
  Result<void> load() {
    const bpf_insn insns[] = {
        {.code = BPF_JMP | BPF_CALL,
         .dst_reg = 0,
         .src_reg = 0,
         .off = 0,
         .imm = BPF_FUNC_jiffies64},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    fd_ = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "sg_hz_probe", "GPL", insns, 2, nullptr);
    if (fd_ < 0) {
      return makeError(Errc::kUnavailable,
                       "loading the jiffies probe (to measure HZ) failed: " + errnoText(errno));
    }
    return Ok{};
  }
  ~JiffiesProbe() {
    if (fd_ >= 0) close(fd_);
  }
  Result<uint32_t> read() {
    unsigned char pkt[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
    if (bpf_prog_test_run_opts(fd_, &opts) != 0) {
      return makeError(Errc::kIo, "running the jiffies probe failed: " + errnoText(errno));
    }
    return opts.retval;
  }

 private:
  int fd_ = -1;
};

// Reads jiffies until they change (at most `limit` ns); returns the new value
// and the CLOCK_MONOTONIC time right after it was read.
Result<std::pair<uint32_t, uint64_t>> nextTick(JiffiesProbe& probe, uint64_t limit_ns) {
  // The edge lies between the last read that saw the old value and the first
  // that saw the new one. When the thread was preempted between the two (a
  // loaded machine), that bracket is wide and the edge's time unknown: wait
  // for the next edge instead, so a late wake-up never skews the rate.
  constexpr uint64_t kMaxBracketNs = 50'000;
  auto first = probe.read();
  if (!first.ok()) return first.error();
  uint32_t seen = *first;
  const uint64_t deadline = monoNs() + limit_ns;
  uint64_t before = monoNs();
  while (before < deadline) {
    auto j = probe.read();
    if (!j.ok()) return j.error();
    const uint64_t after = monoNs();
    if (*j != seen) {
      if (after - before <= kMaxBracketNs) return std::make_pair(*j, after);
      seen = *j;  // bracket too wide: use the next edge
    }
    before = after;
  }
  return makeError(Errc::kUnavailable, "jiffies did not advance within " +
                                           std::to_string(limit_ns / 1'000'000) + " ms");
}

}  // namespace

uint32_t roundHz(double measured) {
  const uint32_t choices[] = {100, 250, 300, 1000};
  uint32_t best = choices[0];
  for (uint32_t c : choices) {
    if (std::fabs(measured - c) < std::fabs(measured - best)) best = c;
  }
  return best;
}

Result<uint32_t> configHzFromText(std::string_view config) {
  constexpr std::string_view kKey = "CONFIG_HZ=";
  size_t pos = 0;
  while (pos < config.size()) {
    size_t end = config.find('\n', pos);
    if (end == std::string_view::npos) end = config.size();
    const std::string_view line = config.substr(pos, end - pos);
    if (line.substr(0, kKey.size()) == kKey) {
      const std::string value(line.substr(kKey.size()));
      char* rest = nullptr;
      const unsigned long hz = std::strtoul(value.c_str(), &rest, 10);
      if (rest == value.c_str() || *rest != '\0' || hz < 24 || hz > 10000) {
        return makeError(Errc::kInvalidArgument,
                         "kernel config has an unusable CONFIG_HZ '" + value + "'");
      }
      return static_cast<uint32_t>(hz);
    }
    pos = end + 1;
  }
  return makeError(Errc::kNotFound, "kernel config has no CONFIG_HZ line");
}

Result<uint32_t> measureHz(std::chrono::milliseconds span) {
  JiffiesProbe probe;
  SG_TRY(probe.load());
  constexpr uint64_t kTickLimit = 500'000'000;  // many jiffies at any HZ, even under load
  // From one tick edge to another: the count of ticks over the time between
  // them is exact up to the probe's ~µs latency.
  auto start = nextTick(probe, kTickLimit);
  if (!start.ok()) return start.error();
  std::this_thread::sleep_for(span);
  auto end = nextTick(probe, kTickLimit);
  if (!end.ok()) return end.error();
  const uint32_t ticks = end->first - start->first;  // wraps correctly
  const double secs = static_cast<double>(end->second - start->second) / 1e9;
  if (ticks == 0 || secs <= 0) return makeError(Errc::kUnavailable, "HZ measurement gave no ticks");
  return roundHz(ticks / secs);
}

Result<uint32_t> kernelHz() {
  std::string config = readGzip("/proc/config.gz");
  if (config.empty()) {
    utsname u{};
    if (uname(&u) == 0) config = readFile(std::string("/boot/config-") + u.release);
  }
  if (!config.empty()) {
    auto hz = configHzFromText(config);
    if (hz.ok()) return hz;
  }
  return measureHz();
}

uint64_t KernelClock::nowNs() { return sensor_.kernelNowNs(); }

// The program's now at CLOCK_MONOTONIC t is jiffies(t) * ns_per_jiffy, which
// lies in (t + C - ns_per_jiffy, t + C] for a constant C. Each probe run gives
// jiffies * ns_per_jiffy - ktime <= C; the largest of several runs is C up to
// how close a run came to a tick edge. So kernelNowNs() runs ahead of the
// program's clock by less than a jiffy, never behind (by more than that error).
Result<void> XdpSensor::calibrateClock() {
  const int fd = bpf_program__fd(skel_->progs.sg_clock_probe);
  unsigned char pkt[64] = {};
  bool have = false;
  int64_t best = 0;
  for (int i = 0; i < kProbeRuns; i++) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
    if (bpf_prog_test_run_opts(fd, &opts) != 0) {
      return makeError(Errc::kIo, "running the clock probe failed: " + errnoText(errno));
    }
    const uint64_t j = __atomic_load_n(&skel_->bss->sg_probe_jiffies, __ATOMIC_SEQ_CST);
    const uint64_t k = __atomic_load_n(&skel_->bss->sg_probe_ktime_ns, __ATOMIC_SEQ_CST);
    const int64_t off = static_cast<int64_t>(j * ns_per_jiffy_ - k);
    if (!have || off > best) best = off;
    have = true;
    if (i + 1 < kProbeRuns)
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(ns_per_jiffy_ / 1000 / kProbeRuns)));
  }
  clock_offset_ns_ = best;
  return Ok{};
}

uint64_t XdpSensor::kernelNowNs() const {
  return static_cast<uint64_t>(static_cast<int64_t>(monoNs()) + clock_offset_ns_);
}

}  // namespace sg
