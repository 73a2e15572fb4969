// Session: one agent's link as a state machine, with no I/O: the transport
// (WebSocket over TLS, later) authenticates the agent, parses each frame with
// proto::parseAgentMessage, hands it to onMessage and sends back what it
// returns; an error closes the link (and is counted by the transport).
//
//   AWAIT_HELLO --hello--> ACTIVE: welcome, then a snapshot or delta if behind
//   ACTIVE: report -> Correlator, report_ack    ack/nack -> DesiredState
//           heartbeat, ping -> pong, pong -> clock offset
//
// When the desired state changes, the console calls pushIfBehind() on every
// session; it sends a delta from the version last sent on this link.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "console/clock_offset.h"
#include "console/correlator.h"
#include "console/desired_state.h"
#include "core/clock.h"
#include "core/result.h"
#include "proto/messages.h"

namespace sg::console {

class Session {
 public:
  // `endpoint`: the name the agent's credentials belong to.
  Session(Correlator& correlator, DesiredState& desired, Clock& clock, std::string endpoint);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Result<std::vector<proto::ConsoleMessage>> onMessage(const proto::AgentMessage& message);
  // A delta or snapshot when the endpoint's desired version moved past what
  // this link last sent; nothing before the hello. `now_ns`: see
  // DesiredState::catchUp (one value for a whole fan-out).
  Result<std::optional<proto::ConsoleMessage>> pushIfBehind(
      std::optional<uint64_t> now_ns = std::nullopt);
  // The next ping to send (the pong feeds the clock offset).
  proto::Ping ping();

  bool active() const { return active_; }
  // The protocol version of the link: its hello's (the console answers in
  // it, so an agent that speaks only version 1 keeps working).
  uint32_t protocol() const { return protocol_; }
  const std::string& endpoint() const { return endpoint_; }
  const ClockOffset& offset() const { return offset_; }
  const std::optional<proto::Heartbeat>& lastHeartbeat() const { return heartbeat_; }
  // What the last report did (which floods it changed, or that it was a
  // duplicate): the link stores those floods before sending the report_ack.
  const ReportOutcome& lastReport() const { return last_report_; }

 private:
  Result<std::vector<proto::ConsoleMessage>> onHello(const proto::Hello& hello);
  void noteSent(const proto::ConsoleMessage& m);

  Correlator& correlator_;
  DesiredState& desired_;
  Clock& clock_;
  std::string endpoint_;
  bool active_ = false;
  uint32_t protocol_ = proto::kMinProtocolVersion;
  uint64_t sent_version_ = 0;  // the version the agent will run after what was sent
  ClockOffset offset_;
  std::optional<proto::Ping> outstanding_ping_;
  uint64_t next_nonce_ = 1;
  std::optional<proto::Heartbeat> heartbeat_;
  ReportOutcome last_report_;
};

}  // namespace sg::console
