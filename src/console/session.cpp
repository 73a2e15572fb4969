#include "console/session.h"

namespace sg::console {

namespace {

using Out = std::vector<proto::ConsoleMessage>;

Error protocolError(const std::string& what) { return makeError(Errc::kInvalidArgument, what); }

}  // namespace

Session::Session(Correlator& correlator, DesiredState& desired, Clock& clock, std::string endpoint)
    : correlator_(correlator), desired_(desired), clock_(clock), endpoint_(std::move(endpoint)) {}

Session::~Session() {
  if (active_) (void)desired_.setConnected(endpoint_, false);
}

void Session::noteSent(const proto::ConsoleMessage& m) {
  if (const auto* s = std::get_if<proto::Snapshot>(&m)) sent_version_ = s->version;
  if (const auto* d = std::get_if<proto::Delta>(&m)) sent_version_ = d->version;
}

Result<Out> Session::onHello(const proto::Hello& hello) {
  if (active_) return protocolError("second hello on one link");
  if (hello.name != endpoint_) {
    return makeError(Errc::kPermissionDenied, "hello names '" + hello.name +
                                                  "' but the credentials are " + endpoint_ + "'s");
  }
  SG_TRY(desired_.setConnected(endpoint_, true));
  active_ = true;
  protocol_ = hello.protocol;
  Out out;
  out.emplace_back(proto::Welcome{clock_.nowNs(), correlator_.contiguousSeq(endpoint_)});
  SG_READ(catch_up, desired_.catchUp(endpoint_, hello.applied_version));
  // What the agent runs counts as acknowledged when this console could have
  // given it (e.g. an agent reconnecting already up to date sends no ack).
  if (hello.applied_version <= desired_.desiredVersion(endpoint_)) {
    SG_TRY(desired_.onAck(endpoint_, hello.applied_version));
  }
  sent_version_ = hello.applied_version;
  if (*catch_up) {
    noteSent(**catch_up);
    out.push_back(std::move(**catch_up));
  }
  return out;
}

Result<Out> Session::onMessage(const proto::AgentMessage& message) {
  if (const auto* hello = std::get_if<proto::Hello>(&message)) return onHello(*hello);
  if (!active_) return protocolError("expected hello first");
  const uint64_t now = clock_.nowNs();
  Out out;
  if (const auto* report = std::get_if<proto::Report>(&message)) {
    last_report_ = correlator_.onReport(endpoint_, offset_.offsetNs().value_or(0), *report);
    out.emplace_back(proto::ReportAck{report->seq});  // duplicates too: the agent drops it
  } else if (const auto* ack = std::get_if<proto::Ack>(&message)) {
    SG_TRY(desired_.onAck(endpoint_, ack->version));
  } else if (const auto* nack = std::get_if<proto::Nack>(&message)) {
    SG_TRY(desired_.onNack(endpoint_, *nack));
  } else if (const auto* hb = std::get_if<proto::Heartbeat>(&message)) {
    offset_.addOneWay(hb->agent_time_ns, now);
    heartbeat_ = *hb;
  } else if (const auto* p = std::get_if<proto::Ping>(&message)) {
    out.emplace_back(proto::Pong{p->nonce, p->time_ns, now});
  } else if (const auto* pong = std::get_if<proto::Pong>(&message)) {
    if (outstanding_ping_ && pong->nonce == outstanding_ping_->nonce &&
        pong->time_ns == outstanding_ping_->time_ns) {
      offset_.addRoundTrip(outstanding_ping_->time_ns, pong->peer_time_ns, now);
      outstanding_ping_.reset();
    }  // else: late or unknown, ignored
  }
  return out;
}

Result<std::optional<proto::ConsoleMessage>> Session::pushIfBehind(std::optional<uint64_t> now_ns) {
  if (!active_ || desired_.desiredVersion(endpoint_) == sent_version_) {
    return std::optional<proto::ConsoleMessage>{};
  }
  SG_READ(catch_up, desired_.catchUp(endpoint_, sent_version_, now_ns));
  if (*catch_up) noteSent(**catch_up);
  return std::move(*catch_up);
}

proto::Ping Session::ping() {
  outstanding_ping_ = proto::Ping{next_nonce_++, clock_.nowNs()};
  return *outstanding_ping_;
}

}  // namespace sg::console
