#include "agent/console_link_isolation.h"

#include <algorithm>

namespace sg::agent {

void applyConsoleIsolation(const IsolationTarget& target, bool on, const std::vector<Prefix>& peers,
                           bool from_snapshot, bool& isolated_by_console,
                           std::vector<proto::NackItem>& items) {
  const char* op = on ? "isolate" : "release";
  IsolationPort* port = target.port;
  if (port == nullptr) {
    if (on) items.push_back(proto::NackItem{op, "", "this agent runs without isolation"});
    return;
  }
  if (!on) {
    if (port->isolated() && (isolated_by_console || !from_snapshot)) {
      if (auto r = port->release(); !r.ok()) {
        items.push_back(proto::NackItem{op, "", r.error().message()});
        return;
      }
    }
    isolated_by_console = false;
    return;
  }
  IsolationSpec spec;
  spec.console = target.console;
  if (spec.console.empty()) {
    items.push_back(
        proto::NackItem{op, "", "the console's address is not known (name not resolved)"});
    return;
  }
  auto add = [&spec](const Prefix& p) {
    if (std::find(spec.allow.begin(), spec.allow.end(), p) == spec.allow.end()) {
      spec.allow.push_back(p);
    }
  };
  for (const Prefix& p : peers) add(p);
  for (const Prefix& p : target.config_allow) add(p);
  if (!(port->isolated() && port->spec() == spec)) {
    if (auto r = port->isolate(spec); !r.ok()) {
      items.push_back(proto::NackItem{op, "", r.error().message()});
      return;
    }
  }
  isolated_by_console = true;
}

}  // namespace sg::agent
