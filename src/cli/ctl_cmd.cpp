// syn-guard ctl endpoints | floods [--all] | port-floods [--all] | blocks | incidents | policies |
// audit [--json]; block SOURCE [--ttl D] [--reason T]; unblock SOURCE;
// isolate ENDPOINT [--reason T]; release ENDPOINT; escalate FLOOD_ID [--note T];
// policy set NAME --selector k=v[,k=v] [...]; policy delete NAME;
// token create --role R [--name N]; endpoint revoke ENDPOINT.
// Each a request to the console's REST API (docs/api.md).
#include <chrono>
#include <optional>

#include "cli/commands.h"
#include "cli/ctl.h"

namespace sg::cli {

namespace ctl {

namespace {

using nlohmann::json;

// Every flag and argument of every ctl command (one command runs per process).
struct Args {
  Flags flags;
  bool json = false;
  bool all = false;
  std::string source;
  std::string ttl;
  std::string reason;
  std::string endpoint;
  uint64_t flood_id = 0;
  std::string note;
  std::string name;
  std::string selector;
  uint64_t threshold = 0;
  std::string window;
  std::string block_duration;
  std::string enforcer;
  std::string role;
};

struct Ctx {
  std::shared_ptr<Io> io;
  std::shared_ptr<Args> args;
  int* exit_code;

  void fail(const std::string& cmd, const std::string& why, int code) const {
    *io->err << "syn-guard: ctl " << cmd << ": " << why << "\n";
    *exit_code = code;
  }

  // One request; the reply's JSON on 2xx, else nullopt with the error printed
  // and the exit code set.
  std::optional<json> call(const std::string& cmd, const Request& req) const {
    auto settings = resolveSettings(args->flags, io->env, io->read_file);
    if (!settings) {
      fail(cmd, settings.error().message(), 2);
      return std::nullopt;
    }
    auto reply = io->transport(*settings, req);
    if (!reply) {
      fail(cmd, "cannot reach the console at " + settings->url + ": " + reply.error().message(), 1);
      return std::nullopt;
    }
    json body = json::parse(reply->body, nullptr, false);
    if (reply->status < 200 || reply->status > 299) {
      std::string msg = body.is_object() && body.contains("message") && body["message"].is_string()
                            ? body["message"].get<std::string>()
                            : reply->body.substr(0, 200);
      if (reply->status == 401) msg += " (check --token-file or SYN_GUARD_TOKEN_FILE)";
      fail(cmd, msg + " (HTTP " + std::to_string(reply->status) + ")",
           reply->status >= 500 ? 1 : 2);
      return std::nullopt;
    }
    if (body.is_discarded()) {
      fail(cmd, "the console's answer is not JSON", 1);
      return std::nullopt;
    }
    return body;
  }

  // A list command: the items as a table or (--json) as one JSON array.
  void list(const std::string& kind, const std::string& path) const {
    auto body = call(kind, {"GET", path, ""});
    if (!body) return;
    if (!body->contains("items") || !(*body)["items"].is_array()) {
      fail(kind, "the console's answer has no items", 1);
      return;
    }
    // The fleet-wide view above the port floods' table (--json: the items only).
    if (!args->json && body->contains("fleet")) *io->out << formatPortFleet((*body)["fleet"]);
    print(kind, (*body)["items"]);
  }

  void print(const std::string& kind, const json& items) const {
    if (args->json) {
      *io->out << items.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    } else {
      *io->out << formatTable(kind, items, args->all);
    }
  }

  // The whole audit log, page by page (bounded: at most 1,000 pages).
  void audit() const {
    constexpr int kPage = 1000;
    json all = json::array();
    uint64_t after = 0;
    for (int page = 0; page < 1000; ++page) {
      auto body = call(
          "audit",
          {"GET", "/v1/audit?after=" + std::to_string(after) + "&limit=" + std::to_string(kPage),
           ""});
      if (!body) return;
      const json& items = (*body)["items"];
      if (!items.is_array()) {
        fail("audit", "the console's answer has no items", 1);
        return;
      }
      for (const auto& it : items) all.push_back(it);
      if (items.size() < static_cast<size_t>(kPage) || !items.back().contains("id")) break;
      after = items.back()["id"].get<uint64_t>();
    }
    print("audit", all);
  }

  void say(const std::string& line) const { *io->out << line << "\n"; }
};

std::string versionOf(const json& j) {
  return j.contains("version") ? " (version " + j["version"].dump() + ")" : "";
}

// "dept=payments,org=acme" -> {"dept":"payments","org":"acme"}; "" -> {}.
Result<json> parseSelector(const std::string& text) {
  json out = json::object();
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string part = text.substr(start, comma - start);
    start = comma + 1;
    size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
      return makeError(Errc::kInvalidArgument, "--selector: '" + part + "' is not key=value");
    }
    std::string key = part.substr(0, eq);
    if (out.contains(key)) {
      return makeError(Errc::kInvalidArgument, "--selector: '" + key + "' given twice");
    }
    out[key] = part.substr(eq + 1);
  }
  return out;
}

void addLists(CLI::App& ctl, const Ctx& c) {
  struct ListCmd {
    const char* name;
    const char* help;
  };
  const ListCmd lists[] = {
      {"endpoints", "Enrolled endpoints: online, isolated, policy and the version they run"},
      {"floods", "Active floods (--all: with the ended ones)"},
      {"port-floods",
       "Port floods: a target flooded from many sources, fleet-wide (--all: with the ended ones)"},
      {"blocks", "Global blocks and how many endpoints applied them"},
      {"incidents", "Escalated floods"},
      {"policies", "Threshold policies and their selectors"},
      {"audit", "Who did what, when and why"},
  };
  for (const auto& l : lists) {
    auto* sub = ctl.add_subcommand(l.name, l.help);
    sub->add_flag("--json", c.args->json, "Print the items as one JSON array");
    const std::string name = l.name;
    if (name == "floods" || name == "port-floods") {
      sub->add_flag("--all", c.args->all, "Add the ended floods");
    }
    sub->callback([c, name] {
      if (name == "audit") {
        c.audit();
      } else if (name == "floods") {
        c.list(name, c.args->all ? "/v1/floods?all=true" : "/v1/floods");
      } else if (name == "port-floods") {
        c.list(name, c.args->all ? "/v1/port-floods?all=true" : "/v1/port-floods");
      } else {
        c.list(name, "/v1/" + name);
      }
    });
  }
}

void addBlocks(CLI::App& ctl, const Ctx& c) {
  auto* block = ctl.add_subcommand("block", "Block a source (address or prefix) on every endpoint");
  block->add_option("source", c.args->source, "Address or prefix, e.g. 203.0.113.7, 10.0.0.0/8")
      ->required();
  block->add_option("--ttl", c.args->ttl, "Lift it after this long (e.g. 10m); default: never");
  block->add_option("--reason", c.args->reason, "Why (kept in the audit log)");
  block->callback([c] {
    json body{{"source", c.args->source}};
    if (!c.args->ttl.empty()) body["ttl"] = c.args->ttl;
    if (!c.args->reason.empty()) body["reason"] = c.args->reason;
    auto r = c.call("block", {"POST", "/v1/blocks", body.dump()});
    if (!r) return;
    c.say("blocked " + r->value("source", c.args->source) + " on every endpoint, " +
          (c.args->ttl.empty() ? "permanently" : "for " + c.args->ttl) + versionOf(*r));
  });

  auto* unblock = ctl.add_subcommand("unblock", "Lift a global block everywhere");
  unblock->add_option("source", c.args->source, "The blocked address or prefix")->required();
  unblock->callback([c] {
    auto r = c.call("unblock", {"DELETE", "/v1/blocks/" + encodeSegment(c.args->source), ""});
    if (!r) return;
    c.say("unblocked " + r->value("source", c.args->source) + " everywhere" + versionOf(*r));
  });
}

void addEndpointActions(CLI::App& ctl, const Ctx& c) {
  auto* isolate = ctl.add_subcommand(
      "isolate", "Cut an endpoint off from everything but the console and its allowlist");
  isolate->add_option("endpoint", c.args->endpoint, "Endpoint name")->required();
  isolate->add_option("--reason", c.args->reason, "Why (kept in the audit log)");
  isolate->callback([c] {
    json body = json::object();
    if (!c.args->reason.empty()) body["reason"] = c.args->reason;
    auto r = c.call(
        "isolate",
        {"POST", "/v1/endpoints/" + encodeSegment(c.args->endpoint) + "/isolate", body.dump()});
    if (r) c.say("isolated " + c.args->endpoint + versionOf(*r));
  });

  auto* release = ctl.add_subcommand("release", "Lift an endpoint's isolation");
  release->add_option("endpoint", c.args->endpoint, "Endpoint name")->required();
  release->callback([c] {
    auto r = c.call("release",
                    {"POST", "/v1/endpoints/" + encodeSegment(c.args->endpoint) + "/release", ""});
    if (r) c.say("released " + c.args->endpoint + versionOf(*r));
  });

  auto* endpoint = ctl.add_subcommand("endpoint", "Manage an endpoint's credentials");
  endpoint->require_subcommand(1);
  auto* revoke = endpoint->add_subcommand(
      "revoke", "Revoke an endpoint's credentials: its link closes at once (admin)");
  revoke->add_option("endpoint", c.args->endpoint, "Endpoint name")->required();
  revoke->callback([c] {
    auto r = c.call("endpoint revoke",
                    {"POST", "/v1/endpoints/" + encodeSegment(c.args->endpoint) + "/revoke", ""});
    if (r) c.say("revoked the credentials of " + c.args->endpoint);
  });
}

void addEscalate(CLI::App& ctl, const Ctx& c) {
  auto* escalate =
      ctl.add_subcommand("escalate", "Open an incident for a flood (posted to the webhooks)");
  escalate->add_option("flood_id", c.args->flood_id, "The flood's id (ctl floods)")->required();
  escalate->add_option("--note", c.args->note, "A note for the incident");
  escalate->callback([c] {
    json body = json::object();
    if (!c.args->note.empty()) body["note"] = c.args->note;
    auto r = c.call(
        "escalate",
        {"POST", "/v1/floods/" + std::to_string(c.args->flood_id) + "/escalate", body.dump()});
    if (r) {
      c.say("flood " + std::to_string(c.args->flood_id) + " escalated: incident " +
            r->value("incident_id", json()).dump());
    }
  });
}

void addPolicy(CLI::App& ctl, const Ctx& c) {
  auto* policy = ctl.add_subcommand("policy", "Set or delete a threshold policy (admin)");
  policy->require_subcommand(1);
  auto* set = policy->add_subcommand("set", "Create or replace a policy; pushed live");
  set->add_option("name", c.args->name, "Policy name")->required();
  set->add_option("--selector", c.args->selector,
                  "Labels it applies to: org, type, dept, name (e.g. dept=payments,org=acme; "
                  "'' for every endpoint)")
      ->required();
  auto* threshold =
      set->add_option("--flood-threshold", c.args->threshold, "Attempts per window that flood");
  set->add_option("--flood-window", c.args->window, "Counting window (e.g. 5s)");
  set->add_option("--block-duration", c.args->block_duration, "How long a flooder is blocked");
  set->add_option("--enforcer", c.args->enforcer, "xdp | nftables | none");
  set->callback([c, threshold] {
    auto selector = parseSelector(c.args->selector);
    if (!selector) {
      c.fail("policy set", selector.error().message(), 2);
      return;
    }
    json body{{"selector", *selector}};
    if (threshold->count() > 0) body["flood_threshold"] = c.args->threshold;
    if (!c.args->window.empty()) body["flood_window"] = c.args->window;
    if (!c.args->block_duration.empty()) body["block_duration"] = c.args->block_duration;
    if (!c.args->enforcer.empty()) body["enforcer"] = c.args->enforcer;
    auto r =
        c.call("policy set", {"PUT", "/v1/policies/" + encodeSegment(c.args->name), body.dump()});
    if (r) c.say("policy " + c.args->name + " set" + versionOf(*r));
  });
  auto* del = policy->add_subcommand("delete", "Delete a policy; its endpoints re-resolve");
  del->add_option("name", c.args->name, "Policy name")->required();
  del->callback([c] {
    auto r = c.call("policy delete", {"DELETE", "/v1/policies/" + encodeSegment(c.args->name), ""});
    if (r) c.say("policy " + c.args->name + " deleted" + versionOf(*r));
  });
}

void addToken(CLI::App& ctl, const Ctx& c) {
  auto* token = ctl.add_subcommand("token", "API tokens for people and scripts (admin)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand(
      "create", "Create an API token; prints it once, on one line, on stdout");
  create->add_option("--role", c.args->role, "viewer | operator | admin")->required();
  create->add_option("--name", c.args->name,
                     "Who uses it (shown in the audit log); default: ctl-<role>-<unix time>");
  create->callback([c] {
    std::string name = c.args->name;
    if (name.empty()) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch());
      name = "ctl-" + c.args->role + "-" + std::to_string(now.count());
    }
    json body{{"name", name}, {"role", c.args->role}};
    auto r = c.call("token create", {"POST", "/v1/tokens", body.dump()});
    if (!r) return;
    if (!r->contains("token") || !(*r)["token"].is_string()) {
      c.fail("token create", "the console's answer has no token", 1);
      return;
    }
    c.say((*r)["token"].get<std::string>());
    *c.io->err << "API token '" << name << "' (" << c.args->role
               << "): shown only now; keep it in a file readable only by you\n";
  });
}

}  // namespace

void registerCtlWith(CLI::App& app, int* exit_code, std::shared_ptr<Io> io) {
  auto* ctl =
      app.add_subcommand("ctl", "Operate the fleet through the console's REST API (docs/api.md)");
  ctl->require_subcommand(1);
  ctl->fallthrough();  // --console & co. also after the subcommand
  Ctx c{std::move(io), std::make_shared<Args>(), exit_code};
  ctl->add_option(
      "--console", c.args->flags.console,
      std::string("Console URL (else SYN_GUARD_CONSOLE, else ") + kDefaultConsole + ")");
  ctl->add_option("--token-file", c.args->flags.token_file,
                  std::string("File holding an API token (else SYN_GUARD_TOKEN_FILE, else ") +
                      kDefaultTokenFile + ")");
  ctl->add_option("--ca-file", c.args->flags.ca_file,
                  std::string("The console's CA certificate (else SYN_GUARD_CA_FILE, else ") +
                      kDefaultCaFile + ")");
  addLists(*ctl, c);
  addBlocks(*ctl, c);
  addEndpointActions(*ctl, c);
  addEscalate(*ctl, c);
  addPolicy(*ctl, c);
  addToken(*ctl, c);
}

}  // namespace ctl

void registerCtl(CLI::App& app, int* exit_code) {
  ctl::registerCtlWith(app, exit_code, std::make_shared<ctl::Io>(ctl::defaultIo()));
}

}  // namespace sg::cli
