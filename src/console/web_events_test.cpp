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

std::shared_ptr<EventStream> must(Result<std::shared_ptr<EventStream>> r) {
  return r ? *r : nullptr;
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
  auto s = must(h->open("", "42", nullptr));
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
  auto s = must(h->open("7f3a9c01:6", "42", nullptr));
  auto got = parse(drain(*s));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].id, "7f3a9c01:7");
  EXPECT_EQ(got[3].id, "7f3a9c01:10");
  // Up to date: nothing to replay, no reset.
  auto current = must(h->open("7f3a9c01:10", "42", nullptr));
  EXPECT_EQ(drain(*current), "");
  EXPECT_EQ(h->counters().resets.load(), 0u);
}

TEST_F(EventHubTest, ResetWhenItCannotResume) {
  EventHubOptions o;
  o.ring_events = 5;
  auto h = hub(o);
  h->publish(floods(1, 10));  // the ring holds 6..10
  EXPECT_EQ(h->ringSize(), 5u);
  EXPECT_EQ(parse(drain(*must(h->open("7f3a9c01:5", "1", nullptr)))).size(), 5u);  // 6..10: no gap
  for (const char* id : {"7f3a9c01:4", "deadbeef:9", "7f3a9c01:11", "junk", "7f3a9c01:"}) {
    auto got = parse(drain(*must(h->open(id, "1", nullptr))));
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
  EXPECT_EQ(parse(drain(*must(h->open("7f3a9c01:1", "1", nullptr))))[0].event, "reset");
  EXPECT_EQ(parse(drain(*must(h->open("7f3a9c01:2", "1", nullptr))))[0].id, "7f3a9c01:3");
}

TEST_F(EventHubTest, ASlowReaderIsCutOff) {
  EventHubOptions o;
  o.max_unsent_bytes = 1000;
  auto h = hub(o);
  auto s = must(h->open("", "1", nullptr));
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
  auto a = must(h->open("", "1", nullptr));
  auto b = must(h->open("", "1", nullptr));
  auto refused = h->open("", "1", nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Errc::kResourceExhausted);
  EXPECT_EQ(h->counters().refused.load(), 1u);
  a->finished();
  EXPECT_NE(must(h->open("", "1", nullptr)), nullptr);
}

// One API token cannot take every stream (review finding).
TEST_F(EventHubTest, AtMostMaxStreamsPerOwner) {
  EventHubOptions o;
  o.max_streams = 4;
  o.max_streams_per_owner = 2;
  auto h = hub(o);
  auto a1 = must(h->open("", "1", nullptr, "hash-a"));
  auto a2 = must(h->open("", "1", nullptr, "hash-a"));
  ASSERT_NE(a2, nullptr);
  auto a3 = h->open("", "1", nullptr, "hash-a");
  ASSERT_FALSE(a3.ok());
  EXPECT_EQ(a3.error().code(), Errc::kResourceExhausted);
  EXPECT_NE(a3.error().message().find("for this token"), std::string::npos);
  EXPECT_EQ(h->counters().refused_owner.load(), 1u);
  EXPECT_EQ(h->counters().refused.load(), 0u);
  auto b1 = must(h->open("", "1", nullptr, "hash-b"));
  auto b2 = must(h->open("", "1", nullptr, "hash-b"));
  ASSERT_NE(b2, nullptr);
  auto c1 = h->open("", "1", nullptr, "hash-c");  // 4 open in all
  ASSERT_FALSE(c1.ok());
  EXPECT_EQ(h->counters().refused.load(), 1u);
  a1->finished();
  a1.reset();  // finished, then destroyed: counted off once
  auto a4 = must(h->open("", "1", nullptr, "hash-a"));
  EXPECT_NE(a4, nullptr);
  EXPECT_EQ(must(h->open("", "1", nullptr, "hash-c")), nullptr);
  b1.reset();  // destroyed without finished(): counted off too
  EXPECT_NE(must(h->open("", "1", nullptr, "hash-c")), nullptr);
}

// A stream cut off (slow reader) or ended (its session) is dead at once, but
// its connection may hold it a while (a slow reader's socket drains slowly);
// until then it took a place under both caps, and the client's reconnect was
// refused (429) for streams nobody reads.
TEST_F(EventHubTest, ADeadStreamFreesItsPlaceBeforeTheCapsAreCounted) {
  EventHubOptions o;
  o.max_streams = 4;
  o.max_streams_per_owner = 2;
  o.max_unsent_bytes = 1000;
  auto h = hub(o);
  bool alive = true;
  auto slow = must(h->open("", "1", nullptr, "hash-a"));
  auto ended = must(h->open(
      "", "1", [&] { return alive; }, "hash-a"));
  auto other = must(h->open("", "1", nullptr, "hash-b"));
  ASSERT_NE(other, nullptr);
  drain(*ended);
  drain(*other);
  for (int i = 0; i < 40; ++i) {  // ~35 bytes each: `slow` never reads
    h->publish(floods(i, i));
    drain(*ended);
    drain(*other);
  }
  ASSERT_EQ(h->counters().slow_closed.load(), 1u);
  // The token's reconnect takes the cut-off stream's place.
  auto again = must(h->open("", "1", nullptr, "hash-a"));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(h->streams(), 3u);
  // A stream whose session ended, found at its check: its place too.
  alive = false;
  clock_.advance(kSec);
  bool done = false;
  drain(*ended, &done);
  ASSERT_TRUE(done);
  auto a2 = must(h->open("", "1", nullptr, "hash-a"));
  ASSERT_NE(a2, nullptr);
  EXPECT_EQ(h->counters().refused_owner.load(), 0u);
  auto third = must(h->open("", "1", nullptr, "hash-c"));
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(h->counters().refused.load(), 0u);
  // Live ones still count: the token's two, and four in all.
  EXPECT_EQ(must(h->open("", "1", nullptr, "hash-d")), nullptr);
  EXPECT_EQ(h->counters().refused.load(), 1u);
  // The dead streams' connections end later: counted off once only.
  slow->finished();
  slow.reset();
  ended.reset();
  EXPECT_EQ(h->streams(), 4u);
  third.reset();
  EXPECT_EQ(must(h->open("", "1", nullptr, "hash-a")), nullptr);  // again, a2
  EXPECT_EQ(h->counters().refused_owner.load(), 1u);
  EXPECT_NE(must(h->open("", "1", nullptr, "hash-c")), nullptr);
}

// 256 streams x 4 MiB was a 1 GiB worst case (review finding).
TEST_F(EventHubTest, UnsentTextIsBoundedOverall) {
  const EventHubOptions o;
  EXPECT_LE(o.max_streams * o.max_unsent_bytes, size_t{64} << 20);
  EXPECT_LT(o.max_streams_per_owner, o.max_streams);
}

// A resume whose replay would not fit the stream's buffer gets a reset
// instead of being cut off at once (and again after every reconnect).
TEST_F(EventHubTest, AResumeTooBigForTheBufferIsAReset) {
  EventHubOptions o;
  o.max_unsent_bytes = 1000;
  auto h = hub(o);
  for (int i = 1; i <= 40; ++i) h->publish(floods(i, i));  // ~35 bytes each
  bool done = false;
  auto far = parse(drain(*must(h->open("7f3a9c01:1", "1", nullptr)), &done));
  EXPECT_FALSE(done);
  ASSERT_EQ(far.size(), 1u);
  EXPECT_EQ(far[0].event, "reset");
  EXPECT_EQ(h->counters().slow_closed.load(), 0u);
  auto near = parse(drain(*must(h->open("7f3a9c01:35", "1", nullptr)), &done));
  EXPECT_FALSE(done);
  ASSERT_EQ(near.size(), 5u);
  EXPECT_EQ(near[0].id, "7f3a9c01:36");
}

// The alive check may capture what its caller destroys once the hub has
// closed the stream: it must not run after close() (review finding).
TEST_F(EventHubTest, AliveIsNeverCalledAfterClose) {
  auto h = hub();
  int checks = 0;
  auto s = must(h->open("", "1", [&checks] {
    ++checks;
    return true;
  }));
  drain(*s);
  h->closeAll();
  clock_.advance(2 * kSec);
  bool done = false;
  drain(*s, &done);
  EXPECT_TRUE(done);
  EXPECT_EQ(checks, 0);
  s->finished();
  auto late = h->open("", "1", [&checks] {
    ++checks;
    return true;
  });
  EXPECT_FALSE(late.ok());  // a stopped hub opens nothing
  EXPECT_EQ(checks, 0);
}

TEST_F(EventHubTest, KeepaliveAfterFifteenSilentSeconds) {
  auto h = hub();
  auto s = must(h->open("", "1", nullptr));
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
  auto s = must(h->open("", "1", [&] {
    ++checks;
    return alive;
  }));
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
  auto s = must(h->open("", "1", nullptr));
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
  auto s = must(web.hub().open("", "1", nullptr));
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
