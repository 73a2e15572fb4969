// SignatureResponder: the port-flood response that drops a flood's SYNs by
// their signature in XDP (issue 8; bpf/sg_sig.h, core/signature.h). It sees
// every harvest (onSamples, before the PortFloodWatch does) and keeps the
// ports' fingerprint samples in a SignatureLearner; when a flood is engaged
// it chooses signatures from the flood's samples against the port's normal
// ones and installs them through the sensor (SensorPort::setSignatures),
// chooses again every second while the flood lasts (a tool that changes its
// SYNs gets new signatures; one the chooser can no longer separate keeps the
// last ones), and removes them when the flood ends. Each installation or
// refusal is logged as `port_flood_signature`. Switchable
// (port_flood_signature_drop); the kernel keeps sampling either way.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/event_log.h"
#include "agent/sensor_port.h"
#include "core/port_flood.h"
#include "core/port_flood_response.h"
#include "core/signature.h"
#include "core/signature_learner.h"

namespace sg::agent {

class SignatureResponder final : public PortFloodResponder {
 public:
  SignatureResponder(SensorPort& sensor, EventLog& log, const PortFloodOptions& options);

  void setOptions(const PortFloodOptions& options) { options_ = options; }
  // Every harvest, before the watch: samples learned, armed floods' choices renewed.
  void onSamples(uint64_t now_ns, const std::vector<DstSample>& samples);

  // "signature" once installed for the flood's target; "none" while the
  // chooser waits for samples or refuses (it keeps trying while the flood lasts).
  Result<std::string> engage(const PortFlood& flood, const ResponsePlan& plan,
                             std::vector<Prefix>* engaged) override;
  Result<void> release(const PortFlood& flood) override;

  // The targets with signatures now: {target, signatures, why}.
  nlohmann::json statusJson() const;

 private:
  struct Armed {
    sg_addr dst{};
    uint16_t port = 0;
    std::vector<sg_sig> installed;
    uint64_t next_ns = 0;  // when to choose again
    bool refusal_logged = false;
    std::string why;
  };
  // Chooses for `a` and installs what changed; true when signatures are in force.
  bool choose(Armed& a, uint64_t now_ns);

  SensorPort& sensor_;
  EventLog& log_;
  PortFloodOptions options_;
  SignatureLearner learner_;
  std::map<std::string, Armed> armed_;  // target -> its state
};

}  // namespace sg::agent
