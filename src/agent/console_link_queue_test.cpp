#include "agent/console_link_queue.h"

#include <gtest/gtest.h>

namespace sg::agent {
namespace {

proto::Event ev(uint32_t count) {
  proto::Event e;
  e.kind = proto::EventKind::kBlockAdded;
  e.source = *parsePrefix("192.0.2.7");
  e.count = count;
  return e;
}

class ReportQueueTest : public ::testing::Test {
 protected:
  ReportQueue make(size_t max_events, size_t per_report = proto::kMaxEvents) {
    return ReportQueue({max_events, per_report}, [this] { return ++seq_; });
  }
  uint64_t seq_ = 0;
};

TEST_F(ReportQueueTest, AnIdleLinkSendsAtOnceAndABusyOneCoalesces) {
  ReportQueue q = make(100);
  q.push(ev(1));
  auto first = q.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->events.size(), 1u);
  // While report 1 waits for its ack, the next events wait together.
  q.push(ev(2));
  q.push(ev(3));
  q.push(ev(4));
  EXPECT_FALSE(q.next().has_value());
  EXPECT_EQ(q.depth(), 4u);
  EXPECT_TRUE(q.onReportAck(1));
  auto second = q.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->seq, 2u);
  ASSERT_EQ(second->events.size(), 3u);
  EXPECT_EQ(second->events[0].count, 2u);
  EXPECT_EQ(second->events[2].count, 4u);
}

TEST_F(ReportQueueTest, AFullQueueDropsTheOldestAndCountsThemInTheNextReport) {
  ReportQueue q = make(3);
  for (uint32_t i = 1; i <= 5; ++i) q.push(ev(i));
  EXPECT_EQ(q.depth(), 3u);
  EXPECT_EQ(q.droppedTotal(), 2u);
  auto r = q.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->dropped, 2u);
  ASSERT_EQ(r->events.size(), 3u);
  EXPECT_EQ(r->events[0].count, 3u);  // 1 and 2, the oldest, are gone
  EXPECT_EQ(r->events[2].count, 5u);
  ASSERT_TRUE(q.onReportAck(r->seq));
  q.push(ev(6));
  auto next = q.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->dropped, 0u);  // counted once
  EXPECT_EQ(q.droppedTotal(), 2u);
}

TEST_F(ReportQueueTest, ReportsAreCutAtTheMaximumPerReport) {
  ReportQueue q = make(100, 2);
  for (uint32_t i = 1; i <= 5; ++i) q.push(ev(i));
  auto r = q.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->events.size(), 2u);
  EXPECT_EQ(q.depth(), 5u);
}

TEST_F(ReportQueueTest, AfterAReconnectTheWelcomeSaysWhetherToResend) {
  ReportQueue q = make(100);
  q.push(ev(1));
  auto sent = q.next();
  ASSERT_TRUE(sent.has_value());
  q.onDisconnected();
  q.push(ev(2));
  // Not stored by the console: the same report (same seq) goes again.
  q.onWelcome(0);
  auto again = q.next();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->seq, sent->seq);
  EXPECT_EQ(again->events, sent->events);
  // Stored, but its ack was lost with the link: dropped, the next one goes.
  q.onDisconnected();
  q.onWelcome(sent->seq);
  auto next = q.next();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->seq, sent->seq + 1);
  ASSERT_EQ(next->events.size(), 1u);
  EXPECT_EQ(next->events[0].count, 2u);
  EXPECT_EQ(q.lastAcked(), sent->seq);
}

TEST_F(ReportQueueTest, AStaleAckLeavesTheReportInFlight) {
  ReportQueue q = make(100);
  q.push(ev(1));
  auto r = q.next();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(q.onReportAck(r->seq + 5));
  EXPECT_FALSE(q.idle());
  EXPECT_TRUE(q.onReportAck(r->seq));
  EXPECT_TRUE(q.idle());
}

proto::PortFloodReport pf(proto::PortFloodKind kind, uint64_t rate, uint16_t port = 443) {
  proto::PortFloodReport p;
  p.kind = kind;
  p.dst = *parsePrefix("192.0.2.10");
  p.dst_port = port;
  p.reason = "rate";
  p.rate = p.peak_rate = rate;
  p.response = "none";
  p.first_ns = 5;
  p.at_ns = 6;
  return p;
}

TEST_F(ReportQueueTest, PortFloodsWaitWhileCutOffAndUpdatesCoalesce) {
  ReportQueue q = make(100);
  q.onDisconnected();
  q.push(pf(proto::PortFloodKind::kDetected, 100));
  for (uint64_t r = 200; r <= 1000; r += 100) q.push(pf(proto::PortFloodKind::kUpdated, r));
  q.push(pf(proto::PortFloodKind::kUpdated, 50, 80));  // another target's update stays
  q.push(ev(1));
  EXPECT_EQ(q.depth(), 4u);  // detected, one update of 443, the update of 80, the event
  auto r = q.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->port_floods.size(), 3u);
  EXPECT_EQ(r->port_floods[0].kind, proto::PortFloodKind::kDetected);
  EXPECT_EQ(r->port_floods[1].rate, 1000u);  // the newest update
  EXPECT_EQ(r->port_floods[2].dst_port, 80);
  EXPECT_EQ(r->events.size(), 1u);
  // A detected or ended is never merged away.
  q.push(pf(proto::PortFloodKind::kEnded, 10));
  q.push(pf(proto::PortFloodKind::kDetected, 10));
  EXPECT_EQ(q.depth(), 6u);
}

TEST_F(ReportQueueTest, PortFloodsBoundedOldestDroppedAndCounted) {
  ReportQueue q({100, proto::kMaxEvents, 2}, [this] { return ++seq_; });
  q.push(pf(proto::PortFloodKind::kDetected, 1, 1));
  q.push(pf(proto::PortFloodKind::kDetected, 2, 2));
  q.push(pf(proto::PortFloodKind::kDetected, 3, 3));
  auto r = q.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->port_floods.size(), 2u);
  EXPECT_EQ(r->port_floods[0].dst_port, 2);
  EXPECT_EQ(r->dropped, 1u);
  EXPECT_EQ(q.droppedTotal(), 1u);
}

// Review finding H2: a version-1 link used to drop every queued port flood.
TEST_F(ReportQueueTest, AVersion1LinkKeepsPortFloodsForTheNextVersion2Link) {
  ReportQueue q = make(100);
  q.push(pf(proto::PortFloodKind::kDetected, 100));
  q.push(ev(1));
  auto r = q.next(/*port_floods=*/false);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->port_floods.empty());
  EXPECT_EQ(r->events.size(), 1u);
  EXPECT_EQ(q.portFloodsWaiting(), 1u);
  EXPECT_TRUE(q.onReportAck(r->seq));
  EXPECT_FALSE(q.next(false).has_value()) << "a report of nothing but held port floods";
  // The unacknowledged report built for version 2 is sent again without its
  // port floods, which go back in front of the newer ones.
  q.push(pf(proto::PortFloodKind::kDetected, 200));
  auto v2 = q.next(true);
  ASSERT_TRUE(v2.has_value());
  ASSERT_EQ(v2->port_floods.size(), 2u);
  q.push(pf(proto::PortFloodKind::kDetected, 300));
  q.onDisconnected();
  auto again = q.next(false);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->seq, v2->seq);
  EXPECT_TRUE(again->port_floods.empty());
  EXPECT_EQ(q.portFloodsWaiting(), 3u);
  EXPECT_TRUE(q.onReportAck(again->seq));
  auto later = q.next(true);  // a version-2 link again: all three, oldest first
  ASSERT_TRUE(later.has_value());
  ASSERT_EQ(later->port_floods.size(), 3u);
  EXPECT_EQ(later->port_floods[0].rate, 100u);
  EXPECT_EQ(later->port_floods[2].rate, 300u);
  EXPECT_EQ(q.portFloodsDropped(), 0u);
}

TEST_F(ReportQueueTest, PortFloodsHeldForVersion2StayBoundedOldestDroppedAndCounted) {
  ReportQueue q({100, proto::kMaxEvents, 2}, [this] { return ++seq_; });
  q.push(pf(proto::PortFloodKind::kDetected, 1, 1));
  q.push(pf(proto::PortFloodKind::kDetected, 2, 2));
  auto v2 = q.next(true);
  ASSERT_TRUE(v2.has_value());
  q.push(pf(proto::PortFloodKind::kDetected, 3, 3));
  q.onDisconnected();
  auto v1 = q.next(false);  // 1 and 2 go back before 3: one too many
  ASSERT_TRUE(v1.has_value());
  EXPECT_EQ(q.portFloodsWaiting(), 2u);
  EXPECT_EQ(q.portFloodsDropped(), 1u);
  EXPECT_EQ(q.droppedTotal(), 1u);
  EXPECT_TRUE(q.onReportAck(v1->seq));
  auto r = q.next(true);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->port_floods.size(), 2u);
  EXPECT_EQ(r->port_floods[0].dst_port, 2);
  EXPECT_EQ(r->dropped, 1u);
}

}  // namespace
}  // namespace sg::agent
