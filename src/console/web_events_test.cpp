// The live event hub with a fake clock: ids, hello/reset, resume from the
// ring, its bounds in count and age, slow readers, the stream cap, keepalives,
// ending with the session; and coalescing through WebConsole::pump().
#include "console/web_events.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "console/api_fake_service.h"
#include "console/web_routes.h"

namespace sg::console {
namespace {

using nlohmann::json;

constexpr uint64_t kSec = 1'000'000'000;

struct Parsed {
  std::string id, event, data;
};

// "id: ..\nevent: ..\ndata: ..\n\n" records (comments skipped).
std::vector<Parsed> parse(const std::string& text) {
  std::vector<Parsed> out;
  Parsed cur;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    if (line.empty()) {
      if (!cur.event.empty()) out.push_back(cur);
      cur = Parsed{};
    } else if (line.rfind("id: ", 0) == 0) {
      cur.id = line.substr(4);
    } else if (line.rfind("event: ", 0) == 0) {
      cur.event = line.substr(7);
    } else if (line.rfind("data: ", 0) == 0) {
      cur.data = line.substr(6);
    }
  }
  return out;
}

std::string drain(EventStream& s, bool* done = nullptr) {
  bool d = false;
  std::string text = s.take(&d);
  if (done != nullptr) *done = d;
  return text;
}

std::vector<LiveEvent> floods(int from, int to) {
  std::vector<LiveEvent> out;
  for (int i = from; i <= to; ++i) out.push_back(LiveEvent{"flood", json{{"id", i}}.dump()});
  return out;
}

class EventHubTest : public ::testing::Test {
 protected:
  std::shared_ptr<EventHub> hub(EventHubOptions o = {}) {
    return EventHub::create(clock_, o, 0x7f3a9c01);
  }
  FakeClock clock_;
};

TEST_F(EventHubTest, NewStreamsStartWithHelloThenLiveEvents) {
  auto h = hub();
  h->publish(floods(1, 3));
  auto s = h->open("", "42", nullptr);
  ASSERT_NE(s, nullptr);
  int wakes = 0;
  s->start([&wakes] { ++wakes; });
  auto first = parse(drain(*s));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].event, "hello");
  EXPECT_EQ(first[0].id, "7f3a9c01:3");
  EXPECT_EQ(json::parse(first[0].data),
            (json{{"epoch", "7f3a9c01"}, {"seq", 3}, {"resource_version", "42"}}));
  h->publish(floods(4, 5));
  EXPECT_EQ(wakes, 1);  // woken once while it had nothing queued
  auto live = parse(drain(*s));
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].id, "7f3a9c01:4");
  EXPECT_EQ(live[0].event, "flood");
  EXPECT_EQ(live[0].data, R"({"id":4})");
  EXPECT_EQ(live[1].id, "7f3a9c01:5");
}

TEST_F(EventHubTest, ResumesFromTheRingWithoutAGap) {
  auto h = hub();
  h->publish(floods(1, 10));
  auto s = h->open("7f3a9c01:6", "42", nullptr);
  auto got = parse(drain(*s));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].id, "7f3a9c01:7");
  EXPECT_EQ(got[3].id, "7f3a9c01:10");
  // Up to date: nothing to replay, no reset.
  auto current = h->open("7f3a9c01:10", "42", nullptr);
  EXPECT_EQ(drain(*current), "");
  EXPECT_EQ(h->counters().resets.load(), 0u);
}

TEST_F(EventHubTest, ResetWhenItCannotResume) {
  EventHubOptions o;
  o.ring_events = 5;
  auto h = hub(o);
  h->publish(floods(1, 10));  // the ring holds 6..10
  EXPECT_EQ(h->ringSize(), 5u);
  EXPECT_EQ(parse(drain(*h->open("7f3a9c01:5", "1", nullptr))).size(), 5u);  // 6..10: no gap
  for (const char* id : {"7f3a9c01:4", "deadbeef:9", "7f3a9c01:11", "junk", "7f3a9c01:"}) {
    auto got = parse(drain(*h->open(id, "1", nullptr)));
    ASSERT_EQ(got.size(), 1u) << id;
    EXPECT_EQ(got[0].event, "reset") << id;
    EXPECT_EQ(got[0].id, "7f3a9c01:10");
  }
  EXPECT_EQ(h->counters().resets.load(), 5u);
}

TEST_F(EventHubTest, TheRingForgetsEventsOlderThanFiveMinutes) {
  auto h = hub();
  h->publish(floods(1, 2));
  clock_.advance(301 * kSec);
  h->publish(floods(3, 3));
  EXPECT_EQ(h->ringSize(), 1u);
  EXPECT_EQ(parse(drain(*h->open("7f3a9c01:1", "1", nullptr)))[0].event, "reset");
  EXPECT_EQ(parse(drain(*h->open("7f3a9c01:2", "1", nullptr)))[0].id, "7f3a9c01:3");
}

TEST_F(EventHubTest, ASlowReaderIsCutOff) {
  EventHubOptions o;
  o.max_unsent_bytes = 1000;
  auto h = hub(o);
  auto s = h->open("", "1", nullptr);
  drain(*s);
  for (int i = 0; i < 40; ++i) h->publish(floods(i, i));  // ~35 bytes each, never read
  bool done = false;
  EXPECT_EQ(drain(*s, &done), "");
  EXPECT_TRUE(done);
  EXPECT_EQ(h->counters().slow_closed.load(), 1u);
  s->finished();
  EXPECT_EQ(h->streams(), 0u);
}

TEST_F(EventHubTest, AtMostMaxStreams) {
  EventHubOptions o;
  o.max_streams = 2;
  auto h = hub(o);
  auto a = h->open("", "1", nullptr);
  auto b = h->open("", "1", nullptr);
  EXPECT_EQ(h->open("", "1", nullptr), nullptr);
  EXPECT_EQ(h->counters().refused.load(), 1u);
  a->finished();
  EXPECT_NE(h->open("", "1", nullptr), nullptr);
}

TEST_F(EventHubTest, KeepaliveAfterFifteenSilentSeconds) {
  auto h = hub();
  auto s = h->open("", "1", nullptr);
  drain(*s);
  clock_.advance(14 * kSec);
  EXPECT_EQ(drain(*s), "");
  clock_.advance(1 * kSec);
  EXPECT_EQ(drain(*s), ": keepalive\n\n");
  EXPECT_EQ(drain(*s), "");
}

TEST_F(EventHubTest, TheStreamEndsWithItsSession) {
  auto h = hub();
  bool alive = true;
  int checks = 0;
  auto s = h->open("", "1", [&] {
    ++checks;
    return alive;
  });
  bool done = false;
  drain(*s, &done);
  EXPECT_FALSE(done);
  alive = false;
  drain(*s, &done);
  EXPECT_FALSE(done);  // checked at most once a second
  clock_.advance(kSec);
  drain(*s, &done);
  EXPECT_TRUE(done);
  EXPECT_EQ(checks, 1);
  EXPECT_EQ(h->counters().ended_closed.load(), 1u);
}

TEST_F(EventHubTest, CloseAllEndsEveryStream) {
  auto h = hub();
  auto s = h->open("", "1", nullptr);
  h->closeAll();
  bool done = false;
  drain(*s, &done);
  EXPECT_TRUE(done);
}

TEST(EventId, Parses) {
  uint32_t e = 0;
  uint64_t s = 0;
  EXPECT_TRUE(parseEventId("7f3a9c01:1542", &e, &s));
  EXPECT_EQ(e, 0x7f3a9c01u);
  EXPECT_EQ(s, 1542u);
  for (const char* bad : {"", ":1", "7f:", "7f3a9c01", "7f3a9c01:-1", "xyz:1", "123456789:1",
                          "7f:99999999999999999999"}) {
    EXPECT_FALSE(parseEventId(bad, &e, &s)) << bad;
  }
}

// WebConsole::pump() publishes what the service hands out: one event per changed
// object (the service coalesces; the fake hands out what it is given).
TEST(WebConsolePump, PublishesTheServicesEvents) {
  FakeClock clock;
  test::FakeConsoleService fake;
  WebOptions o;
  o.web_root = "/nonexistent";
  WebConsole web(
      fake, clock, [] { return int64_t{0}; }, o);
  auto s = web.hub().open("", "1", nullptr);
  drain(*s);
  fake.live_ = {LiveEvent{"flood", R"({"id":3})"}, LiveEvent{"endpoint", R"({"name":"a"})"}};
  web.pump();
  web.pump();  // nothing new
  auto got = parse(drain(*s));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].event, "endpoint");
  EXPECT_EQ(web.hub().seq(), 2u);
  std::string metrics;
  web.appendPrometheus(metrics);
  EXPECT_NE(metrics.find("syn_guard_web_event_streams 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("syn_guard_web_events_sent_total 3\n"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace sg::console
