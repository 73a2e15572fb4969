// syn-guard.exe: the Windows agent's command line. The same `agent` flags as
// on Linux (cli/agent_flags.h), the same `replay` (cli/replay_cmd.cpp), the
// control commands over the agent's named pipe, and `service` for the
// Service Control Manager. Exit codes as on Linux: 0 success, 1 runtime
// failure, 2 bad input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/agent_flags.h"
#include "cli/commands.h"
#include "win/agent_win.h"
#include "win/control_pipe.h"
#include "win/enroll_win.h"
#include "win/service_win.h"
#include "win/state_dir.h"
#include "win/state_dir_check.h"

namespace {

using sg::win::kDefaultPipeName;

int fail(const std::string& what, const std::string& why, int code) {
  std::fprintf(stderr, "syn-guard: %s: %s\n", what.c_str(), why.c_str());
  return code;
}

// A JSON line as the agent logs its notices (stdout).
void notice(const std::string& message) {
  std::printf("%s\n", nlohmann::json({{"event", "notice"}, {"message", message}}).dump().c_str());
  std::fflush(stdout);
}

HANDLE g_console_stop = nullptr;

BOOL WINAPI onConsoleCtrl(DWORD) {
  SetEvent(g_console_stop);
  return TRUE;
}

int exitCodeFor(sg::Errc code) {
  switch (code) {
    case sg::Errc::kInvalidArgument:
    case sg::Errc::kNotFound:
    case sg::Errc::kAlreadyExists:
    case sg::Errc::kPermissionDenied:
    case sg::Errc::kUnauthenticated:  // a refused enrollment token
      return 2;
    default:
      return 1;
  }
}

int runAgentWith(const sg::cli::AgentFlags& flags, HANDLE stop) {
  auto config = flags.resolve();
  if (!config.ok()) return fail("agent", config.error().message(), 2);
  sg::win::WinAgentOptions o{*config, kDefaultPipeName, stdout};
  // %ProgramData%\syn-guard\agent unless --state-dir or the config file says.
  auto program_data = sg::win::programDataDir();
  auto state_dir =
      sg::win::agentStateDir(config->state_dir, program_data.ok() ? *program_data : std::string());
  if (!state_dir.ok()) return fail("agent", state_dir.error().message(), 2);
  o.state_dir = *state_dir;
  o.config.state_dir = *state_dir;
  if (!flags.enroll_token.empty()) {
    if (flags.console_url.empty()) return fail("agent", "--enroll needs --console URL", 2);
    sg::win::WinEnrollBackend backend;
    const std::string name = flags.name.empty() ? sg::win::hostName() : flags.name;
    auto enrolled =
        sg::win::enrollAgent({flags.console_url, flags.enroll_token, name, o.state_dir}, backend);
    if (!enrolled.ok()) {
      return fail("agent", enrolled.error().message(), exitCodeFor(enrolled.error().code()));
    }
    std::printf("%s\n", nlohmann::json({{"event", "enrolled"},
                                        {"console", enrolled->url},
                                        {"name", enrolled->name},
                                        {"state_dir", o.state_dir}})
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  // Nothing is read from a state directory a non-administrator owns or that
  // is a junction (review M4): its key, CA and console could be anyone's.
  // A level with an open DACL (made before review M4) is restricted again.
  auto safe = sg::win::checkStateDir(o.state_dir);
  if (!safe.ok()) return fail("agent", safe.error().message(), 2);
  for (const std::string& level : safe->restricted) {
    notice("state directory level " + level + ": its open DACL was restricted to SYSTEM and " +
           "Administrators");
  }
  for (const std::string& w : safe->warnings) notice(w);
  auto creds = sg::win::loadLinkCredentials(o.state_dir, sg::win::unsealKey);
  if (!creds.ok()) return fail("agent", creds.error().message(), 2);
  if (creds->has_value()) {
    if (auto m = sg::win::checkKeyMatchesCert(**creds); !m.ok()) {
      return fail("agent", o.state_dir + ": " + m.error().message(), 2);
    }
  }
  if (!flags.console_url.empty()) {
    if (!creds->has_value()) {
      return fail("agent",
                  "--console: not enrolled (nothing in " + o.state_dir +
                      "): start once with --enroll TOKEN (`syn-guard console token create`)",
                  2);
    }
    auto want = sg::win::parseConsoleEndpoint(flags.console_url);
    if (!want.ok()) return fail("agent", "--console: " + want.error().message(), 2);
    auto have = sg::win::parseConsoleEndpoint((*creds)->url);
    if (!have.ok() || have->host != want->host || have->port != want->port) {
      return fail("agent",
                  "--console " + flags.console_url + ": the credentials in " + o.state_dir +
                      " are for " + (*creds)->url,
                  2);
    }
  }
  o.console = *creds;
  auto r = sg::win::runAgent(o, stop);
  if (!r.ok()) return fail("agent", r.error().message(), 1);
  return 0;
}

void registerAgentWin(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<sg::cli::AgentFlags>();
  auto* sub = app.add_subcommand("agent", "Run the agent: ETW sensor, WFP blocks, control pipe");
  flags->addTo(sub);
  sub->callback([flags, exit_code] {
    g_console_stop = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    SetConsoleCtrlHandler(onConsoleCtrl, TRUE);
    *exit_code = runAgentWith(*flags, g_console_stop);
  });
}

// The entry the Service Control Manager starts: the agent flags given at install.
void registerServiceRun(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<sg::cli::AgentFlags>();
  auto* sub = app.add_subcommand(sg::win::kServiceRunCommand, "");
  sub->group("");  // hidden
  flags->addTo(sub);
  sub->callback([flags, exit_code] {
    *exit_code = sg::win::serviceRun([flags](void* stop) {
      const int rc = runAgentWith(*flags, static_cast<HANDLE>(stop));
      if (rc != 0)
        sg::win::reportServiceError("syn-guard agent exited with code " + std::to_string(rc));
      return rc;
    });
  });
}

void registerService(CLI::App& app, int* exit_code) {
  auto action = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("service",
                                 "install | uninstall | start | stop the Windows service "
                                 "(install takes the agent's flags after --)");
  sub->add_option("action", *action, "install, uninstall, start or stop")->required();
  sub->allow_extras();
  sub->callback([sub, action, exit_code] {
    auto a = sg::win::parseServiceAction(*action);
    if (!a.ok()) {
      *exit_code = fail("service", a.error().message(), 2);
      return;
    }
    std::vector<std::string> rest = sub->remaining();
    if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
    auto r = sg::win::serviceControl(*a, rest);
    if (!r.ok()) {
      *exit_code = fail("service " + *action, r.error().message(),
                        r.error().code() == sg::Errc::kInvalidArgument ? 2 : 1);
    }
  });
}

int ask(const std::string& what, const nlohmann::json& request, bool raw) {
  auto reply = sg::win::pipeRequest(kDefaultPipeName, request.dump());
  if (!reply.ok()) return fail(what, reply.error().message(), 1);
  auto j = nlohmann::json::parse(*reply, nullptr, false);
  if (j.is_discarded()) return fail(what, "unreadable reply from the agent", 1);
  if (!j.value("ok", false)) return fail(what, j.value("error", "failed"), 1);
  std::printf("%s\n", raw ? j.dump(2).c_str() : j.dump().c_str());
  return 0;
}

void registerControlWin(CLI::App& app, int* exit_code) {
  app.add_subcommand("status", "The running agent's state and counters (JSON)")
      ->callback([exit_code] {
        *exit_code = ask("status", {{"cmd", "status"}}, true);
      });
  app.add_subcommand("blocks", "The blocks in force (JSON)")->callback([exit_code] {
    *exit_code = ask("blocks", {{"cmd", "blocks"}}, true);
  });
  auto target = std::make_shared<std::string>();
  auto for_text = std::make_shared<std::string>();
  auto permanent = std::make_shared<bool>(false);
  auto* block = app.add_subcommand("block", "Block an address or prefix");
  block->add_option("src", *target, "IP or CIDR")->required();
  block->add_option("--for", *for_text, "How long, e.g. 10m (default: the block duration)");
  block->add_flag("--permanent", *permanent, "Until unblocked");
  block->callback([target, for_text, permanent, exit_code] {
    nlohmann::json req{{"cmd", "block"}, {"src", *target}};
    if (*permanent) req["permanent"] = true;
    if (!for_text->empty()) {
      auto d = sg::parseDuration(*for_text);
      if (!d.ok()) {
        *exit_code = fail("block", d.error().message(), 2);
        return;
      }
      req["for_ms"] = static_cast<uint64_t>(d->count() / 1'000'000);
    }
    *exit_code = ask("block", req, false);
  });
  auto* unblock = app.add_subcommand("unblock", "Remove a block");
  unblock->add_option("src", *target, "IP or CIDR")->required();
  unblock->callback([target, exit_code] {
    *exit_code = ask("unblock", {{"cmd", "unblock"}, {"src", *target}}, false);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"syn-guard: SYN-flood protection (Windows agent)"};
  app.require_subcommand(1);
  int exit_code = 0;
  registerAgentWin(app, &exit_code);
  registerServiceRun(app, &exit_code);
  registerService(app, &exit_code);
  registerControlWin(app, &exit_code);
  sg::cli::registerReplay(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
