#include "cli/demo_console.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "lab/lab.h"

namespace sg::cli {
namespace {

using Json = nlohmann::json;

// The relay listens on the console's own address inside the lab, so that
// address must exist there too: a loopback one.
bool isLoopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

std::string given(const char* flag, const std::string& value) {
  return value.empty() ? "" : std::string(" ") + flag + " " + value;
}

}  // namespace

Result<std::unique_ptr<DemoConsole>> DemoConsole::open(const DemoConsoleFlags& flags,
                                                       const std::string& endpoint_name,
                                                       std::string* why_alone) {
  if (flags.none) {
    *why_alone = "--no-console";
    return std::unique_ptr<DemoConsole>();
  }
  ctl::Io io = ctl::defaultIo();
  const bool named = !flags.console.empty() || io.env("SYN_GUARD_CONSOLE") != nullptr;
  // Without a named console, only a local one that answers is used.
  auto alone = [&](const std::string& why) -> Result<std::unique_ptr<DemoConsole>> {
    if (named) return makeError(Errc::kUnavailable, why);
    *why_alone = why;
    return std::unique_ptr<DemoConsole>();
  };
  auto settings =
      ctl::resolveSettings({flags.console, flags.token_file, flags.ca_file}, io.env, io.read_file);
  if (!settings) return alone("no console: " + settings.error().message());
  if (!isLoopback(settings->host)) {
    return alone("the demo reports only to a console on this host's loopback address (e.g. " +
                 std::string(ctl::kDefaultConsole) + "), not " + settings->url);
  }
  Json body = {{"labels", {{"org", "demo"}, {"type", "lab"}, {"dept", "demo"}}}, {"ttl", "10m"}};
  auto reply = io.transport(*settings, {"POST", "/v1/enrollment-tokens", body.dump()});
  if (!reply) {
    return alone("the console at " + settings->url + " does not answer (" +
                 reply.error().message() + ")");
  }
  Json answer = Json::parse(reply->body, nullptr, false);
  if (reply->status != 201 || !answer.is_object() || !answer.contains("token") ||
      !answer["token"].is_string()) {
    return alone("the console at " + settings->url + " gave no enrollment token (HTTP " +
                 std::to_string(reply->status) + ": " + reply->body.substr(0, 200) + ")");
  }
  std::unique_ptr<DemoConsole> c(new DemoConsole());
  c->settings_ = std::move(*settings);
  c->name_ = endpoint_name;
  c->enroll_token_ = answer["token"].get<std::string>();
  c->ctl_flags_ = given("--console", flags.console) + given("--token-file", flags.token_file) +
                  given("--ca-file", flags.ca_file);
  return c;
}

Result<std::vector<std::string>> DemoConsole::attach(const std::string& victim_netns) {
  lab::RelayOptions o;
  o.listen_netns = victim_netns;
  o.listen_host = settings_.host;
  o.listen_port = settings_.port;
  o.target_host = settings_.host;
  o.target_port = settings_.port;
  o.max_connections = 8;  // one agent: its enrollment, then its link (and reconnects)
  SG_READ(relay, lab::TcpRelay::start(o));
  relay_ = std::move(*relay);
  return std::vector<std::string>{"--console",   settings_.url, "--enroll",
                                  enroll_token_, "--name",      name_};
}

std::string DemoConsole::floodLine(const std::string& source,
                                   std::chrono::milliseconds timeout) const {
  auto transport = ctl::httpsTransport();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last = "no answer";
  do {
    auto reply = transport(settings_, {"GET", "/v1/floods?all=true", ""});
    if (!reply) {
      last = "no answer: " + reply.error().message();
    } else {
      Json list = Json::parse(reply->body, nullptr, false);
      last = "no flood from " + source + " seen by " + name_;
      const Json* found = nullptr;
      if (reply->status == 200 && list.is_object() && list["items"].is_array()) {
        for (const auto& f : list["items"]) {
          if (!f.is_object() || f.value("source", "") != source) continue;
          const Json& eps = f.contains("endpoints") ? f["endpoints"] : Json::array();
          for (const auto& e : eps) {
            if (e.is_string() && e.get<std::string>() == name_) found = &f;
          }
        }
      }
      if (found != nullptr) {
        std::string names;
        for (const auto& e : (*found)["endpoints"])
          names += (names.empty() ? "" : ", ") + e.get<std::string>();
        return "flood #" + std::to_string(found->value("id", 0LL)) + " from " + source + ": " +
               found->value("state", "?") + ", severity " + found->value("severity", "?") +
               ", endpoints " + names;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  } while (std::chrono::steady_clock::now() < deadline);
  return last;
}

}  // namespace sg::cli
