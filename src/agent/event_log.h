// EventLog: the agent's log on stdout. One event per line: a JSON object
// (--log-format json, for machines) or "TIME EVENT key=value ..." (text, for
// people). Every event carries "event" and "ts" (RFC 3339, UTC, ms).
#pragma once

#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.h"

namespace sg::agent {

class EventLog {
 public:
  EventLog(LogFormat format, std::FILE* out) : format_(format), out_(out) {}

  // `fields` must be an object; "event" and "ts" are added first.
  void emit(const std::string& event, const nlohmann::json& fields = nlohmann::json::object());
  // Also hands each event to `observer` after writing it, on the emitting
  // thread (the console link turns block changes into reports). Empty: none.
  using Observer = std::function<void(const std::string& event, const nlohmann::json& fields)>;
  void setObserver(Observer observer);
  // Renders one line without writing it (tests).
  std::string render(const std::string& event, const nlohmann::json& fields,
                     const std::string& ts) const;
  static std::string nowRfc3339();

 private:
  LogFormat format_;
  std::FILE* out_;
  std::mutex mu_;
  Observer observer_;
};

}  // namespace sg::agent
