// The change feed as the console service sees it: a neutral view of
// PgChangeFeed (service_feed_pg.cpp), so the service's files need no libpq
// and a console on SQLite (one writer) runs without a feed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "console/store.h"

namespace sg::console {

struct FeedChange {
  std::string kind;  // change_kind::* of pg_feed_change.h
  std::string key;
  std::string op;
  uint64_t version = 0;
};

struct FeedHooks {
  std::function<void(const FeedChange&)> on_change;  // a write of another console
  std::function<void()> on_resync;                   // changes may have been missed
};

// Stops the feed's thread when destroyed.
class StoreFeed {
 public:
  virtual ~StoreFeed() = default;
};

// Listens to `store`'s changes when several consoles may share it (a PgStore):
// returns nullptr for other stores. Listening starts before this returns, so
// state read afterwards misses no change. Hooks run on the feed's thread.
Result<std::unique_ptr<StoreFeed>> startStoreFeed(Store& store, FeedHooks hooks);

}  // namespace sg::console
