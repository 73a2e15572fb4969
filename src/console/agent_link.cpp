// The agent link: the WebSocket handler of /v1/agent. Each connection gets a
// Session named by the verified client certificate's CN; every frame is
// parsed with the protocol's one parser (a bad frame closes the link,
// counted), handed to the session, and its replies sent. A report's floods
// and the endpoint's report seq are stored before its report_ack goes out.
// A change fans out as one encoded message shared by every link it suits.
#include <algorithm>
#include <chrono>

#include "console/fanout_frames.h"
#include "console/service_impl.h"
#include "proto/codec.h"
#include "proto/field_reader.h"

namespace sg::console {

namespace {

class AgentLinkHandler final : public net::WsHandler {
 public:
  explicit AgentLinkHandler(ConsoleServiceImpl& service) : service_(service) {}
  void onOpen(const std::shared_ptr<net::WsConnection>& conn) override {
    service_.linkOpened(conn);
  }
  void onText(const std::shared_ptr<net::WsConnection>& conn, std::string text) override {
    service_.linkText(conn, text);
  }
  void onClose(const std::shared_ptr<net::WsConnection>& conn, const std::string&) override {
    service_.linkClosed(conn);
  }

 private:
  ConsoleServiceImpl& service_;
};

// A close frame's reason is UTF-8 of at most 123 bytes (RFC 6455 5.5.1),
// which a peer may check: printable ASCII only (an error message may quote
// the agent's bytes), cut to fit.
std::string closeReason(const std::string& why) {
  constexpr size_t kMaxCloseReason = 123;
  std::string out = why.substr(0, kMaxCloseReason);
  for (char& c : out) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

std::shared_ptr<net::WsHandler> ConsoleServiceImpl::agentLink() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!handler_) handler_ = std::make_shared<AgentLinkHandler>(*this);
  return handler_;
}

std::string ConsoleServiceImpl::agentRefusal(const net::PeerInfo& peer) const {
  if (peer.cert_cn.empty()) return "no client certificate";
  auto rec = records_.find(peer.cert_cn);
  if (rec == records_.end()) return "unknown endpoint '" + peer.cert_cn + "'";
  if (rec->second.revoked) return "endpoint '" + peer.cert_cn + "' is revoked";
  // A certificate from before a re-enrollment no longer counts.
  if (peer.cert_sha256.empty() || peer.cert_sha256 != rec->second.credential_hash) {
    return "certificate of '" + peer.cert_cn + "' is not its current one";
  }
  return "";
}

std::optional<net::HttpResponse> ConsoleServiceImpl::authorizeAgent(
    const net::HttpRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string why = agentRefusal(request.peer);
  if (why.empty()) return std::nullopt;
  ++counters_.agents_refused;
  return net::errorResponse(403, "forbidden", why);
}

bool ConsoleServiceImpl::agentCertCurrent(const net::PeerInfo& peer) {
  std::lock_guard<std::mutex> lock(mu_);
  return agentRefusal(peer).empty();
}

void ConsoleServiceImpl::linkOpened(const std::shared_ptr<net::WsConnection>& conn) {
  std::lock_guard<std::mutex> lock(mu_);
  // Checked again: the endpoint may have been revoked since the upgrade began.
  if (const std::string why = agentRefusal(conn->peer()); !why.empty()) {
    ++counters_.agents_refused;
    conn->closeWith(kClosePolicy, why);  // as a revoke of an open link, with the 403's reason
    return;
  }
  const std::string& name = conn->peer().cert_cn;
  if (auto old = link_of_.find(name); old != link_of_.end()) {
    ++counters_.links_replaced;
    dropLink(links_.find(old->second), kCloseNormal, "replaced by a newer link of this endpoint");
  }
  Link link;
  link.conn = conn;
  link.session = std::make_unique<Session>(*correlator_, *desired_, clock_, name);
  link.last_in_ns = clock_.nowNs();
  link.last_ping_ns = link.last_in_ns;
  links_[conn->id()] = std::move(link);
  link_of_[name] = conn->id();
}

void ConsoleServiceImpl::linkClosed(const std::shared_ptr<net::WsConnection>& conn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = links_.find(conn->id());
  if (it != links_.end()) dropLink(it, kCloseNormal, "closed by the agent");
}

void ConsoleServiceImpl::dropLink(std::map<uint64_t, Link>::iterator it, uint16_t close_code,
                                  const std::string& close_reason) {
  if (it == links_.end()) return;
  it->second.conn->closeWith(close_code, closeReason(close_reason));
  const std::string name = it->second.session->endpoint();
  if (auto l = link_of_.find(name); l != link_of_.end() && l->second == it->first) {
    link_of_.erase(l);
  }
  const uint64_t id = it->first;
  links_.erase(it);  // the session marks the endpoint disconnected
  liveEndpoint(name);
  liveBlocks();  // no longer pending there (revoked: no longer acked either)
  noteFanoutAck(id, std::nullopt);
}

void ConsoleServiceImpl::send(Link& link, const proto::ConsoleMessage& message) {
  if (link.conn->send(proto::encode(message, link.session->protocol()))) ++counters_.messages_out;
}

std::vector<int64_t> ConsoleServiceImpl::detectedTimes(const Link& link,
                                                       const proto::Report& report) const {
  std::vector<int64_t> out;
  const std::optional<int64_t> offset = link.session->offset().offsetNs();
  if (!offset) return out;  // before the first pong: no clock to compare with
  out.reserve(report.events.size());
  for (const proto::Event& e : report.events) {
    out.push_back(static_cast<int64_t>(e.detected_ns) - *offset);
  }
  return out;
}

void ConsoleServiceImpl::fanOut() {
  liveDesired();
  const auto started = std::chrono::steady_clock::now();
  ++counters_.fanouts;
  // One "now" for every link (TTLs count from it) and one encoding per
  // distinct message: the links share its bytes. The writes themselves run
  // on the io threads after the lock is released (WsConnection::sendShared).
  const uint64_t now = clock_.nowNs();
  FanoutFrames frames;
  std::vector<uint64_t> broken;
  FanoutWait wait{started, desired_->version(), {}};
  for (auto& [id, link] : links_) {
    auto push = link.session->pushIfBehind(now);
    if (!push) {
      broken.push_back(id);
      continue;
    }
    if (*push) {
      if (link.conn->sendShared(frames.frame(**push, link.session->protocol())))
        ++counters_.messages_out;
      ++counters_.fanout_sends;
      wait.waiting[id] = std::visit(
          [](const auto& m) -> uint64_t {
            if constexpr (requires { m.version; }) {
              return m.version;
            } else {
              return 0;
            }
          },
          **push);
    }
  }
  if (!wait.waiting.empty()) {
    if (fanout_waits_.size() == kFanoutWaits) fanout_waits_.pop_front();  // never all acked
    fanout_waits_.push_back(std::move(wait));
  }
  for (uint64_t id : broken)
    dropLink(links_.find(id), kCloseInternal, "could not build the agent's update");
  fanout_time_.add(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
          .count());
}

void ConsoleServiceImpl::noteFanoutAck(uint64_t link_id, std::optional<uint64_t> version) {
  for (auto w = fanout_waits_.begin(); w != fanout_waits_.end();) {
    auto l = w->waiting.find(link_id);
    if (l != w->waiting.end() && (!version || *version >= l->second)) w->waiting.erase(l);
    if (!w->waiting.empty()) {
      ++w;
      continue;
    }
    last_fanout_acked_ms_ =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w->started)
            .count();
    last_fanout_acked_version_ = w->version;
    fanout_acked_.add(last_fanout_acked_ms_);
    w = fanout_waits_.erase(w);
  }
}

void ConsoleServiceImpl::linkText(const std::shared_ptr<net::WsConnection>& conn,
                                  const std::string& text) {
  auto parsed = proto::parseAgentMessage(text);
  std::lock_guard<std::mutex> lock(mu_);
  // A welcome names the newest report seq the console has: the agent drops
  // what it holds up to there, so every report correlated is stored first
  // (the agent may come back on a new link before the write that acks).
  if (parsed && std::holds_alternative<proto::Hello>(*parsed) &&
      (!pending_acks_.empty() || !unsaved_floods_.empty() || !unsaved_port_floods_.empty())) {
    flushReports();
  }
  auto it = links_.find(conn->id());
  if (it == links_.end()) {  // replaced, revoked or reaped: nothing more from it
    conn->close();
    return;
  }
  if (!parsed) {
    ++counters_.bad_messages;
    // A version this console does not speak (a newer agent's hello): said in
    // the close frame, so the agent offers an older version next.
    if (proto::isUnsupportedVersion(parsed.error())) {
      dropLink(it, proto::kCloseUnsupportedVersion, parsed.error().message());
    } else {
      dropLink(it, kCloseProtocolError, "bad message: " + parsed.error().message());
    }
    return;
  }
  ++counters_.messages_in;
  Link& link = it->second;
  link.last_in_ns = clock_.nowNs();
  // Only a report the session will correlate (after the hello, a seq not
  // seen before) costs store work: a report before the hello or a replay
  // costs nothing.
  if (const auto* report = std::get_if<proto::Report>(&*parsed);
      report != nullptr && link.session->active() &&
      !correlator_->seenReport(link.session->endpoint(), report->seq)) {
    prepareFloods(*report);
  }
  const uint64_t acked_before = ackedVersion(link.session->endpoint());
  auto out = link.session->onMessage(*parsed);
  if (!out) {
    ++counters_.protocol_errors;
    dropLink(it, kCloseProtocolError, "protocol error: " + out.error().message());
    return;
  }
  // False: it closed the link (its credential went stale).
  if (!onAgentMessage(link, *parsed, acked_before, *out)) return;
  for (const auto& m : *out) send(link, m);
  if (!defer_) flushReports();  // no batching: a report is stored and acked at once
}

void ConsoleServiceImpl::queueReportAck(const Link& link, const proto::Report& report,
                                        bool duplicate, uint64_t stored_seq) {
  PendingAck a;
  a.link_id = link.conn->id();
  a.endpoint = link.session->endpoint();
  a.credential = link.conn->peer().cert_sha256;
  a.seq = report.seq;
  a.duplicate = duplicate;
  a.stored_seq = stored_seq;
  if (!duplicate) a.detected_ns = detectedTimes(link, report);
  pending_acks_.push_back(std::move(a));
  if (!defer_ || flush_queued_) return;
  // Runs after the messages already waiting on the io threads: the reports
  // among them join this batch. An idle console runs it next, at once.
  flush_queued_ = true;
  defer_([this] {
    std::lock_guard<std::mutex> lock(mu_);
    flushReports();
  });
}

void ConsoleServiceImpl::flushReports() {
  flush_queued_ = false;
  if (pending_acks_.empty() && unsaved_floods_.empty() && unsaved_port_floods_.empty()) return;
  const TimeBase base = timeBase();
  std::vector<FloodRecord> records;
  records.reserve(unsaved_floods_.size());
  for (uint64_t id : unsaved_floods_) {
    if (auto r = floodRecord(id, base)) records.push_back(std::move(*r));
  }
  std::vector<PendingAck> acks = std::exchange(pending_acks_, {});
  if (!records.empty() && !store_->putFloods(records).ok()) {
    // No ack: the agents keep their reports and send them again; the floods
    // stay unsaved and go with the next batch.
    counters_.store_errors += acks.size();
    return;
  }
  unsaved_floods_.clear();
  while (!unsaved_port_floods_.empty()) {  // port floods: version 2
    if (!savePortFlood(*unsaved_port_floods_.begin()).ok()) {
      counters_.store_errors += acks.size();  // no ack, as above
      return;
    }
    unsaved_port_floods_.erase(unsaved_port_floods_.begin());
  }
  // Then each acked endpoint's link state (its contiguous report seq, now
  // stored: the welcome and the tick's write-back name no more than this),
  // once, for the link holding `credential` only.
  std::vector<EndpointLinkUpdate> updates;
  std::map<std::pair<std::string, std::string>, size_t> update_of;
  for (const PendingAck& a : acks) {
    auto rec = records_.find(a.endpoint);
    if (a.duplicate || rec == records_.end()) continue;  // a replay changes nothing: no write
    EndpointRecord& r = rec->second;
    r.last_report_seq = std::max(r.last_report_seq, a.stored_seq);
    if (update_of.emplace(std::make_pair(a.endpoint, a.credential), updates.size()).second) {
      updates.push_back(
          {a.endpoint, a.credential,
           EndpointLinkState{r.applied_version, r.last_report_seq, r.last_heartbeat_ms}});
    }
  }
  auto matched = updates.empty() ? Result<std::vector<bool>>(std::vector<bool>{})
                                 : store_->updateEndpointLinks(updates);
  if (!matched.ok()) {
    counters_.store_errors += acks.size();
    return;
  }
  for (size_t i = 0; i < updates.size(); ++i) {
    if ((*matched)[i]) {
      dirty_.erase(updates[i].name);
    } else {  // no ack: the agent may not report as this endpoint
      refuseStaleLink(updates[i].name, updates[i].credential_hash);
    }
  }
  const auto now = static_cast<int64_t>(clock_.nowNs());
  for (const PendingAck& a : acks) {
    auto u = update_of.find(std::make_pair(a.endpoint, a.credential));
    if (!a.duplicate && (u == update_of.end() || !(*matched)[u->second])) continue;
    auto it = links_.find(a.link_id);
    if (it == links_.end()) continue;  // gone: the agent sends it again on its next link
    send(it->second, proto::ReportAck{a.seq});
    if (a.duplicate) continue;
    ++counters_.reports;
    for (int64_t at : a.detected_ns) {
      if (at <= now) report_latency_.add(static_cast<double>(now - at) / 1e6);
    }
  }
}

void ConsoleServiceImpl::noteSeqRegression(Link& link, uint64_t seq) {
  ++counters_.report_seq_regressions;
  if (link.seq_regression_audited) return;
  link.seq_regression_audited = true;  // once per link: the log is not flooded
  const std::string& name = link.session->endpoint();
  (void)auditLocked("agent:" + name, "report_seq_regression", name,
                    "report seq " + std::to_string(seq) + " at or below the " +
                        std::to_string(link.welcomed_seq) +
                        " stored: the agent numbers its reports again from below (lost state "
                        "directory?); such reports are dropped");
}

void ConsoleServiceImpl::refuseStaleLink(const std::string& name, const std::string& credential) {
  ++counters_.agents_refused;
  if (auto r = store_->getEndpoint(name)) reloadEndpoint(*r);  // a revoked one's link goes here
  if (auto l = link_of_.find(name); l != link_of_.end()) {
    auto it = links_.find(l->second);
    if (it != links_.end() && it->second.conn->peer().cert_sha256 == credential) {
      dropLink(it, kClosePolicy, "credential no longer current");
    }
  }
}

// Bookkeeping after the session took a message: what must be stored before
// the replies go out, and what the views show.
bool ConsoleServiceImpl::onAgentMessage(Link& link, const proto::AgentMessage& message,
                                        uint64_t acked_before,
                                        std::vector<proto::ConsoleMessage>& out) {
  const std::string name = link.session->endpoint();
  const std::string credential = link.conn->peer().cert_sha256;
  EndpointRecord& rec = records_[name];
  // What an operator sees of the endpoint moves with these; with a
  // heartbeat only as liveHeartbeat() says, with a ping or pong never.
  if (std::holds_alternative<proto::Hello>(message) ||
      std::holds_alternative<proto::Report>(message) ||
      std::holds_alternative<proto::Ack>(message) || std::holds_alternative<proto::Nack>(message)) {
    liveEndpoint(name);
  }
  if (const auto* report = std::get_if<proto::Report>(&message)) {
    if (report->seq <= link.welcomed_seq) noteSeqRegression(link, report->seq);
    // The ack waits for the write that stores the report (flushReports),
    // a duplicate's too: its first copy may still be waiting.
    std::erase_if(out, [](const proto::ConsoleMessage& m) {
      return std::holds_alternative<proto::ReportAck>(m);
    });
    const ReportOutcome& outcome = link.session->lastReport();
    if (!outcome.duplicate) {
      notePortFloods(link, *report);
      unsaved_floods_.insert(outcome.changed.begin(), outcome.changed.end());
    }
    // rec.last_report_seq follows once the write lands (flushReports).
    queueReportAck(link, *report, outcome.duplicate, correlator_->contiguousSeq(name));
  } else if (std::holds_alternative<proto::Hello>(message)) {
    link.heartbeat_ns = clock_.nowNs();  // late from here without a heartbeat
    liveBlocks();  // connected: the blocks it has not acked count as pending now
    // The welcome names what is stored, not only correlated: the agent
    // drops what it names, and a write that failed must be sent again.
    for (auto& m : out) {
      if (auto* w = std::get_if<proto::Welcome>(&m)) {
        w->last_report_seq = std::min(w->last_report_seq, rec.last_report_seq);
        link.welcomed_seq = w->last_report_seq;
      }
    }
  } else if (std::holds_alternative<proto::Ack>(message) ||
             std::holds_alternative<proto::Nack>(message)) {
    if (const EndpointState* ep = desired_->endpoint(name)) {
      rec.applied_version = ep->acked_version;
      dirty_[name] = credential;
    }
    // Their applied/pending counts moved: only the blocks it acked now (a
    // nack's rejections may name any block).
    if (std::holds_alternative<proto::Nack>(message)) {
      liveBlocks();
    } else {
      liveBlockVersions(acked_before, ackedVersion(name));
    }
    if (!fanout_waits_.empty()) {
      const auto* ack = std::get_if<proto::Ack>(&message);
      noteFanoutAck(link.conn->id(),
                    ack != nullptr ? ack->version : std::get<proto::Nack>(message).version);
    }
  } else if (const auto* hb = std::get_if<proto::Heartbeat>(&message)) {
    rec.last_heartbeat_ms = wall_();
    liveHeartbeat(link, *hb);
    dirty_[name] = credential;
  }
  return true;
}

}  // namespace sg::console
