// sg-flood: a bounded SYN generator for the lab namespaces (see flood.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "core/duration.h"
#include "lab/flood.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sg-flood: send TCP SYNs to a host in a lab network namespace.\n"
      "Only destinations (and sources) inside 10.200.0.0/16 or fd00:200::/32 are accepted:\n"
      "run it inside a namespace you made (ip netns exec NS sg-flood ...). Every run is\n"
      "bounded by --count AND --duration. Prints a JSON summary on stdout."};
  sg::lab::FloodOptions o;
  std::string target;
  std::string duration = "5s";
  std::string shape = "mss";
  app.add_option("--target", target, "Destination ADDR:PORT or [ADDR6]:PORT (lab ranges only)")
      ->required();
  app.add_option("--src", o.src, "Fixed source address (lab ranges only)");
  app.add_option("--spoof", o.spoof_cidr, "Random source per packet from this prefix");
  app.add_option("--src-port", o.src_port, "Fixed source port (default: random per packet)");
  app.add_option("--count", o.count, "Stop after this many packets")->capture_default_str();
  app.add_option("--duration", duration, "Stop after this long (e.g. 5s, 500ms)")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "Packets per second (default: as fast as it goes)");
  app.add_option("--batch", o.batch, "Packets per sendmmsg call (1..1024)")->capture_default_str();
  app.add_option("--shape", shape,
                 "SYN shape: mss (MSS option), bare (no option, window 0), linux (Linux's SYN)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto sh = sg::lab::parseSynShape(shape);
  if (!sh.ok()) {
    std::fprintf(stderr, "sg-flood: --shape: %s\n", sh.error().message().c_str());
    return 2;
  }
  o.shape = *sh;

  auto d = sg::parseDuration(duration);
  if (!d.ok()) {
    std::fprintf(stderr, "sg-flood: --duration: %s\n", d.error().message().c_str());
    return 2;
  }
  o.duration = *d;
  // ADDR:PORT, [ADDR6]:PORT
  size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon + 1 >= target.size()) {
    std::fprintf(stderr, "sg-flood: --target: expected ADDR:PORT, got '%s'\n", target.c_str());
    return 2;
  }
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  try {
    unsigned long port = std::stoul(target.substr(colon + 1));
    if (port == 0 || port > 65535) throw std::out_of_range("port");
    o.dst_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    std::fprintf(stderr, "sg-flood: --target: bad port in '%s'\n", target.c_str());
    return 2;
  }
  o.dst = host;
  if (auto v = sg::lab::validateFlood(o); !v.ok()) {
    std::fprintf(stderr, "sg-flood: %s\n", v.error().message().c_str());
    return 2;
  }
  auto stats = sg::lab::runFlood(o);
  if (!stats.ok()) {
    std::fprintf(stderr, "sg-flood: %s\n", stats.error().message().c_str());
    return 1;
  }
  std::printf("%s\n", stats->json().c_str());
  return 0;
}
