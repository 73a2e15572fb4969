#include "agent/event_log.h"

#include <sys/time.h>

#include <ctime>

namespace sg::agent {

std::string EventLog::nowRfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1000000);
  return buf;
}

std::string EventLog::render(const std::string& event, const nlohmann::json& fields,
                             const std::string& ts) const {
  if (format_ == LogFormat::kJson) {
    nlohmann::ordered_json line;
    line["event"] = event;
    line["ts"] = ts;
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = ts + " " + event;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    line += " " + it.key() + "=";
    line += it.value().is_string()
                ? it.value().get<std::string>()
                : it.value().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return line;
}

void EventLog::emit(const std::string& event, const nlohmann::json& fields) {
  std::string line = render(event, fields, nowRfc3339());
  Observer observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
    std::fflush(out_);
    observer = observer_;
  }
  if (observer) observer(event, fields);
}

void EventLog::setObserver(Observer observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

}  // namespace sg::agent
