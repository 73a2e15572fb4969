// Fakes shared by BlockBook's tests: an enforcer that records its calls, and a
// fixture with a FakeSensor, a fake clock and a JSON log read back as text.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "agent/block_book.h"
#include "agent/fake_sensor.h"
#include "test_helpers.h"

namespace sg::agent {

class FakeEnforcer final : public Enforcer {
 public:
  std::vector<std::string> calls;
  bool fail = false;
  bool fail_read = false;
  uint64_t dropped = 0;
  const char* name() const override { return "fake"; }
  Result<uint64_t> droppedPackets() override {
    if (fail_read) return Error(Errc::kIo, "counter unreadable");
    return dropped;
  }
  Result<void> block(const BlockSpec& spec) override {
    if (fail) return Error(Errc::kIo, "enforcer down");
    calls.push_back("block " + spec.key.str() + " " + std::to_string(spec.ttl.count() / 1000000));
    return Ok{};
  }
  Result<void> unblock(const Address& key, uint8_t) override {
    calls.push_back("unblock " + key.str());
    return Ok{};
  }
  Result<void> blockPrefix(const Prefix& p, Nanos ttl) override {
    if (fail) return Error(Errc::kIo, "enforcer down");
    calls.push_back("block " + p.str() + " " + std::to_string(ttl.count() / 1000000));
    return Ok{};
  }
  Result<void> unblockPrefix(const Prefix& p) override {
    calls.push_back("unblock " + p.str());
    return Ok{};
  }
};

inline sg_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  sg_addr x{};
  x.b[10] = 0xff;
  x.b[11] = 0xff;
  x.b[12] = a;
  x.b[13] = b;
  x.b[14] = c;
  x.b[15] = d;
  return x;
}

inline sg_event blockEvent(const sg_addr& src, uint64_t ts, uint64_t block_ns) {
  sg_event e{};
  e.type = SG_EV_BLOCK_ADDED;
  e.src = src;
  e.ts_ns = ts;
  e.block_ns = block_ns;
  e.count = 201;
  e.dst_port = 8080;
  e.ifindex = 3;
  return e;
}

struct Fixture {
  FakeSensor sensor;
  FakeClock clock{10'000'000'000};
  std::FILE* out = std::tmpfile();
  EventLog log{LogFormat::kJson, out};
  AgentConfig config;

  std::string logText() {
    std::fflush(out);
    std::rewind(out);
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) s.append(buf, n);
    return s;
  }
  ~Fixture() { std::fclose(out); }
};

}  // namespace sg::agent
