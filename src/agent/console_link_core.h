// ConsoleLinkCore: the agent's side of the protocol (docs/protocol.md), with
// no I/O of its own: the transport (ConsoleLink: WebSocket over TLS on its
// own thread) calls onConnected/onText/onDisconnected and sends through
// LinkTransport; the agent's loop thread takes the desired-state messages
// from the inbox (its eventfd wakes the loop) and answers with ack/nack and
// heartbeats. Thread-safe: one mutex, never held while waiting.
//
//   connected -> hello{name, applied_version, acked_report_seq} at the
//                version offered: the newest (2), or 1 once after the
//                console refused the newest (its close frame before the
//                welcome: kCloseUnsupportedVersion, or 1000 with no reason
//                from a console older than that code); a link that merely
//                broke keeps the offer. The welcome settles the link's
//                version (docs/protocol.md "Versioning"); port floods wait
//                for a version-2 link.
//   welcome   -> drop the reports the console stored, resend the rest; new
//                seqs go on after its last_report_seq when that is past ours
//   report_ack -> drop that report, send the next (coalesced) one
//   ping      -> pong          snapshot/delta -> inbox (the agent applies)
//
// Report seqs survive restarts: <state_dir>/console-link.json keeps the
// highest seq handed out (reserved kSeqReserve at a time, so a report does
// not cost a file write) and the last acknowledged one.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

#include "agent/console_link_queue.h"
#include "core/clock.h"
#include "core/result.h"
#include "proto/messages.h"

namespace sg::agent {

class LinkTransport {
 public:
  virtual ~LinkTransport() = default;
  virtual bool send(std::string text) = 0;  // false: no link (or its queue is full)
};

// The loop thread's share of the work.
struct HeartbeatDue {};
using LinkWork = std::variant<proto::Snapshot, proto::Delta, HeartbeatDue>;

struct LinkCoreOptions {
  std::string name;           // the endpoint name (the certificate's CN)
  std::string agent_version;  // in the hello
  std::string state_dir;      // console-link.json; "" keeps nothing (tests)
  // In the hello: "linux" | "windows" (the Windows agent, src/win/link_runner.h).
  std::string platform = "linux";
  ReportQueueOptions queue;
};

struct LinkCounters {
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
  uint64_t rejected = 0;  // console messages that did not parse
  uint64_t connects = 0;
  uint64_t reports_sent = 0;
  uint64_t seq_jumps = 0;  // welcomes whose last_report_seq was past ours: numbering moved on
  uint64_t version_fallbacks = 0;  // hellos the console refused: the next offered one less
};

class ConsoleLinkCore {
 public:
  static constexpr uint64_t kSeqReserve = 256;

  // Reads console-link.json (a missing file: a fresh start).
  static Result<std::unique_ptr<ConsoleLinkCore>> open(LinkCoreOptions options, Clock& mono);
  ~ConsoleLinkCore();

  void setTransport(LinkTransport* transport);

  // ---- transport side
  void onConnected();
  void onText(const std::string& text);
  // The console's close frame ended the link (before onDisconnected).
  void onConsoleClosed(uint16_t code, const std::string& reason);
  void onDisconnected(const std::string& reason);
  void heartbeatDue();

  // ---- any thread
  void report(const proto::Event& event);
  void report(const proto::PortFloodReport& flood);

  // ---- loop side
  int wakeFd() const { return wake_fd_; }
  // Drains the wake-up and returns the work for the live link, in order
  // (work left from a link that dropped is discarded: the next hello says
  // what the agent runs, and the console sends what is still missing).
  std::vector<LinkWork> takeWork();
  // The version the agent runs (persisted by the caller): said in every hello.
  void setAppliedVersion(uint64_t version) { applied_version_ = version; }
  // Sends an ack or nack (the caller has set the applied version).
  void sendAnswer(const proto::AgentMessage& ack_or_nack);
  void sendHeartbeat(const proto::Heartbeat& heartbeat);

  // ---- status
  bool connected() const;
  uint64_t appliedVersion() const { return applied_version_; }
  size_t queueDepth() const;
  uint64_t droppedReports() const;
  LinkCounters counters() const;
  std::string lastError() const;
  // The version the next (or current) hello offers; after a welcome, the link's.
  uint32_t protocolVersion() const;
  // Port floods dropped from the full queue; port floods waiting (for a
  // version-2 link, or while cut off).
  uint64_t portFloodsDropped() const;
  size_t portFloodsWaiting() const;

 private:
  ConsoleLinkCore(LinkCoreOptions options, Clock& mono, int wake_fd, uint64_t seq_reserved,
                  uint64_t acked);
  uint64_t nextSeq();  // under mu_
  void saveSeqs();     // under mu_
  void flush();        // under mu_
  bool sendLocked(const proto::AgentMessage& m);
  void wake();

  LinkCoreOptions options_;
  Clock& mono_;
  int wake_fd_;
  std::atomic<uint64_t> applied_version_{0};
  mutable std::mutex mu_;
  LinkTransport* transport_ = nullptr;
  bool connected_ = false;
  bool welcomed_ = false;
  bool hello_sent_ = false;
  bool refused_ = false;  // the console refused this link's hello (its version)
  uint32_t offer_ = proto::kProtocolVersion;
  uint64_t generation_ = 0;
  uint64_t last_seq_ = 0;
  uint64_t seq_reserved_ = 0;
  uint64_t saved_acked_ = 0;
  ReportQueue queue_;
  std::vector<std::pair<uint64_t, LinkWork>> inbox_;
  LinkCounters counters_;
  std::string last_error_;
};

}  // namespace sg::agent
