// syn-guard console: the console (state in SQLite under --data, or
// PostgreSQL with --db), its HTTPS + WebSocket server for the REST API, the
// agents' enrollment and their links; and `syn-guard console token create`,
// which writes a one-time enrollment token straight into the console's store.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "console/agent_link.h"
#include "console/api.h"
#include "console/api_counters.h"
#include "console/service.h"
#include "console/service_tokens.h"
#include "console/store_open.h"
#include "console/web_routes.h"
#include "console/webhooks.h"
#include "core/address.h"
#include "core/config.h"
#include "core/duration.h"
#include "files/state_file.h"
#include "net/server.h"
#include "pki/cert.h"
#include "pki/console_pki.h"
#include "pki/host_sans.h"
#include "pki/key.h"
#include "pki/pin.h"

namespace sg::cli {

namespace {

namespace asio = boost::asio;

constexpr const char* kDefaultData = "/var/lib/syn-guard/console";

struct ConsoleFlags {
  std::string data = kDefaultData;
  std::string listen = "127.0.0.1:8443";
  std::vector<std::string> sans;
  std::string db;
  std::string log_format = "text";
  std::vector<std::string> webhooks;  // https:// URLs escalated incidents are posted to
  std::string webhook_ca_file;        // trust this CA for them (default: the system's roots)
  unsigned webhook_attempts = 5;      // per URL and incident
  std::string web_root;               // the dashboard's files ("": beside the executable)
  // the dashboard's https:// address behind a reverse proxy that rewrites Host
  std::vector<std::string> public_urls;
  // token create
  std::string labels;
  std::string ttl = "24h";
};

struct Listen {
  std::string host;  // an IP literal, without brackets
  uint16_t port = 0;
  std::string url() const {
    const bool v6 = host.find(':') != std::string::npos;
    return "https://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

// "127.0.0.1:8443", "[::1]:8443", "0.0.0.0:8443" (IP literals: the server binds one address).
Result<Listen> parseListen(const std::string& text) {
  Listen out;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return makeError(Errc::kInvalidArgument, "--listen '" + text + "': expected [IPv6]:PORT");
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) {
      return makeError(Errc::kInvalidArgument,
                       "--listen '" + text + "': expected HOST:PORT (IPv6 as [ADDR]:PORT)");
    }
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (!parseAddress(out.host)) {
    return makeError(Errc::kInvalidArgument,
                     "--listen '" + text + "': the host must be an IP address");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) > 65535) {
    return makeError(Errc::kInvalidArgument, "--listen '" + text + "': port must be 0..65535");
  }
  out.port = static_cast<uint16_t>(std::stoul(port));
  return out;
}

int fail(const std::string& what, const Error& e, int code) {
  std::fprintf(stderr, "syn-guard: %s: %s\n", what.c_str(), e.message().c_str());
  return code;
}

// Runtime failures are 1; what the user can fix in the invocation is 2.
int codeFor(const Error& e) {
  switch (e.code()) {
    case Errc::kInvalidArgument:
    case Errc::kPermissionDenied:
    case Errc::kUnavailable:
    case Errc::kAlreadyExists:
      return 2;
    default:
      return 1;
  }
}

// The data directory: created 0700 (parents 0755) when missing.
Result<void> makeDataDir(const std::string& dir) {
  if (dir.empty()) return makeError(Errc::kInvalidArgument, "--data must not be empty");
  std::string path;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    path = dir.substr(0, pos);
    if (path.empty()) continue;
    const unsigned mode = pos == std::string::npos ? 0700 : 0755;
    if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
      return makeError(errno == EACCES ? Errc::kPermissionDenied : Errc::kIo,
                       "creating " + path + ": " + std::strerror(errno));
    }
  }
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return makeError(Errc::kInvalidArgument, dir + " is not a directory");
  }
  return Ok{};
}

void logLine(LogFormat format, const nlohmann::ordered_json& fields, const std::string& text) {
  if (format == LogFormat::kJson) {
    std::printf("%s\n",
                fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
  std::fflush(stdout);
}

// GET /metrics: the service's, the REST API's and the transport's counters,
// for a valid API token.
void addMetricsRoute(net::Router& router, console::ConsoleService& svc,
                     const console::ApiCounters& api, const console::WebConsole& web,
                     std::shared_ptr<std::shared_ptr<net::Server>> server) {
  router.add("GET", "/metrics", [&svc, &api, &web, server](const net::HttpRequest& req) {
    auto who = svc.authenticate(req.authorization);
    if (!who) return net::errorResponse(401, "unauthenticated", who.error().message());
    std::string text = svc.metricsText();
    console::appendPrometheus(text, api);
    web.appendPrometheus(text);
    if (auto s = *server) net::appendPrometheus(text, s->counters());
    return net::HttpResponse{200, std::move(text), "text/plain; version=0.0.4"};
  });
}

int runConsole(const ConsoleFlags& f) {
  auto format = parseLogFormat(f.log_format);
  if (!format) return fail("console", format.error(), 2);
  auto listen = parseListen(f.listen);
  if (!listen) return fail("console", listen.error(), 2);
  std::vector<std::string> public_origins;
  for (const std::string& url : f.public_urls) {
    auto origin = console::publicOrigin(url);
    if (!origin) return fail("console", origin.error().context("--public-url"), 2);
    public_origins.push_back(*origin);
  }
  console::WebhookOptions hooks;
  hooks.urls = f.webhooks;
  hooks.max_attempts = f.webhook_attempts;
  if (!f.webhook_ca_file.empty()) {
    auto ca = readSmallFile(f.webhook_ca_file, 1024 * 1024);
    if (!ca) return fail("console", ca.error().context("--webhook-ca-file"), 2);
    hooks.ca_pem = std::move(*ca);
  }
  if (auto valid = hooks.validate(); !valid) return fail("console", valid.error(), 2);
  if (auto made = makeDataDir(f.data); !made)
    return fail("console", made.error(), codeFor(made.error()));

  auto store = console::openStore(f.db, f.data);
  if (!store) return fail("console", store.error(), codeFor(store.error()));
  const std::vector<std::string> sans = pki::hostSans(listen->host, f.sans);
  auto pki = pki::loadOrCreateConsolePki(pki::ConsolePkiOptions{f.data, sans});
  if (!pki) return fail("console", pki.error(), codeFor(pki.error()));
  const std::string token_file = f.data + "/admin.token";
  auto admin = console::ensureAdminToken(**store, token_file, console::systemWallMs());
  if (!admin) return fail("console", admin.error(), 1);
  auto ca_key = pki::keyToPem(pki->ca_key);
  if (!ca_key) return fail("console", ca_key.error(), 1);

  MonotonicClock clock;
  auto svc = console::ConsoleService::open(std::move(*store), console::ConsoleOptions{}, clock,
                                           console::systemWallMs, pki->ca_pem, *ca_key);
  if (!svc) return fail("console", svc.error(), 1);
  // Escalated incidents go to the webhooks' queue from the first request on;
  // its worker starts once the URL is known.
  auto webhooks = console::Webhooks::create(**svc, hooks);
  if (!webhooks) return fail("console", webhooks.error(), 2);
  (*svc)->setIncidentHook(
      [w = webhooks->get()](const console::IncidentRecord& i) { w->enqueue(i); });

  asio::io_context ioc;
  // The ingest's group commit: reports that arrive together share one write.
  (*svc)->setDeferrer([&ioc](std::function<void()> f) { asio::post(ioc, std::move(f)); });
  auto server_slot = std::make_shared<std::shared_ptr<net::Server>>();
  net::Router router;
  console::ApiCounters api_counters;  // outlives the server: declared before it
  console::WebOptions web_options;
  web_options.web_root = f.web_root;
  web_options.sessions.public_origins = public_origins;
  console::WebConsole web(**svc, clock, console::systemWallMs, web_options);
  console::addApiRoutes(router, **svc, &api_counters, &web.sessions());
  console::addEnrollRoute(router, **svc);
  addMetricsRoute(router, **svc, api_counters, web, server_slot);
  web.addRoutes(router, &api_counters);
  net::ServerOptions opts;
  opts.host = listen->host;
  opts.port = listen->port;
  opts.tls = net::TlsServerConfig{pki->server_pem, pki->server_key_pem, pki->ca_pem};
  auto server = net::Server::start(ioc, opts, std::move(router), console::agentRoute(**svc), clock);
  if (!server) return fail("console", server.error(), codeFor(server.error()));
  *server_slot = *server;
  listen->port = (*server)->port();

  Listen shown = *listen;
  if (shown.host == "0.0.0.0" || shown.host == "::")
    shown.host = sans.empty() ? "127.0.0.1" : sans[0];
  const std::string url = shown.url();
  (*webhooks)->setConsoleUrl(url);
  if (auto pending = (*webhooks)->requeuePending(); !pending) {
    return fail("console", pending.error().context("incidents pending a webhook"), 1);
  }
  (*webhooks)->start();
  const std::string ca_file = f.data + "/ca.crt";
  const std::string data_flag = f.data == kDefaultData ? "" : " --data " + f.data;
  logLine(*format,
          {{"event", "console_ready"},
           {"url", url},
           {"admin_token_file", token_file},
           {"ca_file", ca_file},
           {"admin_token_created", admin->created}},
          "syn-guard console ready at " + url + "\n  admin API token: " + token_file +
              (admin->created ? " (new)" : "") + "\n  CA certificate:  " + ca_file +
              "\n  enroll an agent:\n    syn-guard console token create" + data_flag +
              " --labels org=acme,type=server\n    syn-guard agent --console " + url +
              " --enroll <TOKEN>");
  // After console_ready (the first line, which scripts wait for).
  if (!web.root().available()) {
    logLine(*format, {{"event", "web_root_missing"}, {"web_root", web.root().dir()}},
            "syn-guard console: no dashboard at " + web.root().dir() +
                " (dashboard not built: run scripts/build.sh); the API works regardless");
  }

  // tick() every second; SIGINT/SIGTERM stop the server, then the work runs out.
  asio::steady_timer timer(ioc);
  std::function<void()> arm = [&] {
    timer.expires_after(std::chrono::seconds(1));
    timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      (*svc)->tick();
      arm();
    });
  };
  arm();
  // The dashboard's live events: what changed, coalesced, every 100 ms.
  asio::steady_timer pump_timer(ioc);
  std::function<void()> arm_pump = [&] {
    pump_timer.expires_after(std::chrono::milliseconds(100));
    pump_timer.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      web.pump();
      arm_pump();
    });
  };
  arm_pump();
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::string stop_signal;
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    stop_signal = sig == SIGINT ? "SIGINT" : "SIGTERM";
    timer.cancel();
    pump_timer.cancel();
    web.stop();
    (*server)->stop();
  });
  std::thread second([&ioc] { ioc.run(); });
  ioc.run();
  second.join();
  server_slot->reset();
  server->reset();
  (*webhooks)->stop();  // what it had not posted stays "pending": posted at the next start
  webhooks->reset();
  svc->reset();  // writes back what is pending
  logLine(*format, {{"event", "stopped"}, {"signal", stop_signal}},
          "syn-guard console stopped (" + stop_signal + ")");
  return 0;
}

int runTokenCreate(const ConsoleFlags& f) {
  auto labels = console::parseLabels(f.labels);
  if (!labels) return fail("console token create", labels.error().context("--labels"), 2);
  auto ttl = parseDuration(f.ttl);
  if (!ttl || ttl->count() <= 0) {
    return fail("console token create",
                makeError(Errc::kInvalidArgument, "--ttl '" + f.ttl + "': expected e.g. 1h, 30m"),
                2);
  }
  auto ca_pem = readSmallFile(f.data + "/ca.crt");
  if (!ca_pem) {
    return fail("console token create",
                makeError(Errc::kInvalidArgument, "no console CA in " + f.data + " (" +
                                                      ca_pem.error().message() +
                                                      "); start `syn-guard console` once first"),
                2);
  }
  auto ca = pki::certFromPem(*ca_pem);
  if (!ca) return fail("console token create", ca.error(), 1);
  auto store = console::openStore(f.db, f.data);
  if (!store) return fail("console token create", store.error(), codeFor(store.error()));
  auto token = console::issueEnrollmentToken(**store, pki::caPin(ca->get()), *labels, *ttl,
                                             console::systemWallMs());
  if (!token) return fail("console token create", token.error(), codeFor(token.error()));
  std::printf("%s\n", token->c_str());
  return 0;
}

}  // namespace

void registerConsole(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ConsoleFlags>();
  auto* sub = app.add_subcommand(
      "console", "Run the console: agents report to it, operators act on every endpoint at once");
  sub->add_option("--data", f->data, "State directory (created 0700)")->capture_default_str();
  sub->add_option("--listen", f->listen, "HOST:PORT to serve on (IPv6: [ADDR]:PORT)")
      ->capture_default_str();
  sub->add_option("--san", f->sans,
                  "Extra name or address for the server certificate (repeatable)");
  sub->add_option("--db", f->db, "sqlite:PATH or postgres://... (default: SQLite under --data)");
  sub->add_option("--log-format", f->log_format, "text (default) or json");
  sub->add_option("--webhook", f->webhooks,
                  "https:// URL escalated incidents are posted to as JSON (repeatable)");
  sub->add_option("--webhook-ca-file", f->webhook_ca_file,
                  "CA certificate (PEM) the webhooks are trusted through (default: the system's)");
  sub->add_option("--webhook-attempts", f->webhook_attempts,
                  "Attempts per webhook and incident, 1..20, with backoff")
      ->capture_default_str();
  sub->add_option("--web-root", f->web_root,
                  "Directory of the built dashboard (default: <exe dir>/../share/syn-guard/web)");
  sub->add_option("--public-url", f->public_urls,
                  "https:// address browsers open the dashboard at, when a reverse proxy in front "
                  "rewrites Host: its origin may log in and act (repeatable)");

  auto* token = sub->add_subcommand("token", "Enrollment tokens for agents");
  token->require_subcommand(1);
  auto* create = token->add_subcommand(
      "create", "Print a one-time enrollment token (it also pins the console's CA)");
  create->add_option("--data", f->data, "The console's state directory")->capture_default_str();
  create->add_option("--db", f->db, "The console's --db, if it has one");
  create->add_option("--labels", f->labels, "Labels of the endpoint: org=..,type=..,dept=..");
  create->add_option("--ttl", f->ttl, "How long the token stays valid")->capture_default_str();
  create->callback([f, exit_code] { *exit_code = runTokenCreate(*f); });

  sub->callback([f, sub, token, exit_code] {
    if (sub->got_subcommand(token)) return;
    *exit_code = runConsole(*f);
  });
}

}  // namespace sg::cli
