#include "agent/console_link_core.h"

#ifndef _WIN32
#include <sys/eventfd.h>
#include <unistd.h>
#endif

#include <algorithm>

#include "files/state_file.h"
#include "proto/codec.h"

namespace sg::agent {
namespace {

const char* const kSeqFile = "/console-link.json";

// The loop's wake-up: an eventfd on Linux; none on Windows (fd -1), whose
// agent loop calls takeWork() on its tick instead.
void signalWake(int fd) {
#ifndef _WIN32
  uint64_t one = 1;
  if (fd >= 0) (void)!::write(fd, &one, sizeof one);
#else
  (void)fd;
#endif
}

void drainWake(int fd) {
#ifndef _WIN32
  uint64_t n = 0;
  if (fd >= 0) (void)!::read(fd, &n, sizeof n);
#else
  (void)fd;
#endif
}

void closeWakeFd(int fd) {
#ifndef _WIN32
  if (fd >= 0) ::close(fd);
#else
  (void)fd;
#endif
}

struct SavedSeqs {
  uint64_t reserved = 0;
  uint64_t acked = 0;
};

Result<SavedSeqs> loadSeqs(const std::string& dir) {
  if (dir.empty()) return SavedSeqs{};
  auto text = readSmallFile(dir + kSeqFile);
  if (!text) {
    if (text.error().code() == Errc::kNotFound) return SavedSeqs{};
    return text.error();
  }
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.value("report_seq_reserved", nlohmann::json()).is_number_unsigned() ||
      !j.value("acked_report_seq", nlohmann::json()).is_number_unsigned()) {
    return Error(Errc::kInvalidArgument,
                 dir + kSeqFile + ": expected {\"report_seq_reserved\",\"acked_report_seq\"}");
  }
  return SavedSeqs{j["report_seq_reserved"].get<uint64_t>(), j["acked_report_seq"].get<uint64_t>()};
}

}  // namespace

Result<std::unique_ptr<ConsoleLinkCore>> ConsoleLinkCore::open(LinkCoreOptions options,
                                                               Clock& mono) {
  auto saved = loadSeqs(options.state_dir);
  if (!saved) return saved.error().context("console link state");
#ifdef _WIN32
  const int fd = -1;  // see signalWake
#else
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Error(Errc::kIo, "eventfd for the console link");
#endif
  return std::unique_ptr<ConsoleLinkCore>(
      new ConsoleLinkCore(std::move(options), mono, fd, saved->reserved, saved->acked));
}

ConsoleLinkCore::ConsoleLinkCore(LinkCoreOptions options, Clock& mono, int wake_fd,
                                 uint64_t seq_reserved, uint64_t acked)
    : options_(std::move(options)),
      mono_(mono),
      wake_fd_(wake_fd),
      // Every seq up to the reservation may have gone out before a restart.
      last_seq_(seq_reserved),
      seq_reserved_(seq_reserved),
      saved_acked_(acked),
      queue_(options_.queue, [this] { return nextSeq(); }) {
  queue_.onWelcome(acked);
}

ConsoleLinkCore::~ConsoleLinkCore() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    saveSeqs();
  }
  closeWakeFd(wake_fd_);
}

void ConsoleLinkCore::setTransport(LinkTransport* transport) {
  std::lock_guard<std::mutex> lock(mu_);
  transport_ = transport;
}

uint64_t ConsoleLinkCore::nextSeq() {
  ++last_seq_;
  if (last_seq_ > seq_reserved_) {
    seq_reserved_ = last_seq_ + kSeqReserve - 1;
    saveSeqs();
  }
  return last_seq_;
}

void ConsoleLinkCore::saveSeqs() {
  saved_acked_ = queue_.lastAcked();
  if (options_.state_dir.empty()) return;
  nlohmann::json j{
      {"version", 1}, {"report_seq_reserved", seq_reserved_}, {"acked_report_seq", saved_acked_}};
  if (auto r = writeFileAtomic(options_.state_dir + kSeqFile, j.dump() + "\n", 0600); !r) {
    last_error_ = "saving the report seqs: " + r.error().message();
  }
}

bool ConsoleLinkCore::sendLocked(const proto::AgentMessage& m) {
  if (transport_ == nullptr || !connected_) return false;
  if (!transport_->send(proto::encode(m, offer_))) return false;
  ++counters_.messages_out;
  return true;
}

void ConsoleLinkCore::flush() {
  if (!connected_ || !welcomed_) return;
  if (auto r = queue_.next(/*port_floods=*/offer_ >= 2)) {
    if (sendLocked(*r)) {
      ++counters_.reports_sent;
    } else {
      queue_.onDisconnected();  // sent again after the next welcome
    }
  }
}

void ConsoleLinkCore::wake() { signalWake(wake_fd_); }

void ConsoleLinkCore::onConnected() {
  std::lock_guard<std::mutex> lock(mu_);
  connected_ = true;
  welcomed_ = false;
  refused_ = false;
  ++generation_;
  ++counters_.connects;
  queue_.onDisconnected();
  hello_sent_ = sendLocked(proto::Hello{options_.name, options_.agent_version, options_.platform,
                                        applied_version_.load(), queue_.lastAcked(), offer_});
}

void ConsoleLinkCore::onText(const std::string& text) {
  auto parsed = proto::parseConsoleMessage(text);
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_.messages_in;
  if (!parsed) {
    ++counters_.rejected;
    last_error_ = "console message refused: " + parsed.error().message();
    return;
  }
  if (const auto* w = std::get_if<proto::Welcome>(&*parsed)) {
    welcomed_ = true;
    // The console stored seqs past ours (this agent lost its state
    // directory, or was restored from an old copy): numbering goes on after
    // them, or each new report would be taken for one already stored, acked
    // and dropped. Saved at once, so a restart does not go back either.
    if (w->last_report_seq > last_seq_) {
      last_seq_ = w->last_report_seq;
      seq_reserved_ = std::max(seq_reserved_, last_seq_);
      ++counters_.seq_jumps;
      saveSeqs();
    }
    queue_.onWelcome(w->last_report_seq);
    if (queue_.lastAcked() != saved_acked_) saveSeqs();
    flush();
  } else if (const auto* a = std::get_if<proto::ReportAck>(&*parsed)) {
    queue_.onReportAck(a->seq);
    flush();
  } else if (const auto* p = std::get_if<proto::Ping>(&*parsed)) {
    sendLocked(proto::Pong{p->nonce, p->time_ns, mono_.nowNs()});
  } else if (const auto* s = std::get_if<proto::Snapshot>(&*parsed)) {
    inbox_.emplace_back(generation_, *s);
    wake();
  } else if (const auto* d = std::get_if<proto::Delta>(&*parsed)) {
    inbox_.emplace_back(generation_, *d);
    wake();
  }  // pong: the agent measures nothing
}

void ConsoleLinkCore::onConsoleClosed(uint16_t code, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  constexpr uint16_t kNormalClosure = 1000;
  // Only a close before the welcome refuses the hello. Older consoles close
  // normally with no reason (as after any refused message).
  refused_ =
      hello_sent_ && !welcomed_ &&
      (code == proto::kCloseUnsupportedVersion || (code == kNormalClosure && reason.empty()));
}

void ConsoleLinkCore::onDisconnected(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  // The console refused the hello (a version it does not speak): the next
  // link offers one version less, down to version 1, and the link after a
  // welcome (or after version 1 was refused too) the newest again, so an
  // upgraded console is found at the next reconnect. A link that broke
  // (network, console restart, a reset by someone on the path) keeps the
  // offer: stepping down then would only hold port floods back.
  if (refused_ && offer_ > proto::kMinProtocolVersion) {
    --offer_;
    ++counters_.version_fallbacks;
  } else {
    offer_ = proto::kProtocolVersion;
  }
  refused_ = false;
  hello_sent_ = false;
  connected_ = false;
  welcomed_ = false;
  queue_.onDisconnected();
  last_error_ = reason;
}

void ConsoleLinkCore::heartbeatDue() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!connected_ || !welcomed_) return;
  inbox_.emplace_back(generation_, HeartbeatDue{});
  wake();
  flush();  // a report the transport refused (its queue was full) goes now
}

void ConsoleLinkCore::report(const proto::Event& event) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push(event);
  flush();
}

void ConsoleLinkCore::report(const proto::PortFloodReport& flood) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push(flood);
  flush();
}

uint32_t ConsoleLinkCore::protocolVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offer_;
}

uint64_t ConsoleLinkCore::portFloodsDropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.portFloodsDropped();
}

size_t ConsoleLinkCore::portFloodsWaiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.portFloodsWaiting();
}

std::vector<LinkWork> ConsoleLinkCore::takeWork() {
  drainWake(wake_fd_);
  std::vector<std::pair<uint64_t, LinkWork>> items;
  std::lock_guard<std::mutex> lock(mu_);
  items.swap(inbox_);
  std::vector<LinkWork> out;
  for (auto& [gen, work] : items) {
    if (gen == generation_ && connected_) out.push_back(std::move(work));
  }
  return out;
}

void ConsoleLinkCore::sendAnswer(const proto::AgentMessage& ack_or_nack) {
  std::lock_guard<std::mutex> lock(mu_);
  sendLocked(ack_or_nack);
}

void ConsoleLinkCore::sendHeartbeat(const proto::Heartbeat& heartbeat) {
  std::lock_guard<std::mutex> lock(mu_);
  sendLocked(heartbeat);
}

bool ConsoleLinkCore::connected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return connected_;
}

size_t ConsoleLinkCore::queueDepth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.depth();
}

uint64_t ConsoleLinkCore::droppedReports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.droppedTotal();
}

LinkCounters ConsoleLinkCore::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

std::string ConsoleLinkCore::lastError() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

}  // namespace sg::agent
