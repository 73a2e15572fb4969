// startStoreFeed over PgChangeFeed: the writes of the other consoles (this
// store's own are filtered out by their origin).
#include "console/service_feed.h"

#ifdef SYNGUARD_WITH_POSTGRES
#include "console/pg_feed.h"
#include "console/pg_store.h"
#endif

namespace sg::console {

#ifdef SYNGUARD_WITH_POSTGRES
namespace {

class PgStoreFeed final : public StoreFeed {
 public:
  explicit PgStoreFeed(std::unique_ptr<PgChangeFeed> feed) : feed_(std::move(feed)) {}

 private:
  std::unique_ptr<PgChangeFeed> feed_;
};

}  // namespace

Result<std::unique_ptr<StoreFeed>> startStoreFeed(Store& store, FeedHooks hooks) {
  auto* pg = dynamic_cast<PgStore*>(&store);
  if (pg == nullptr) return std::unique_ptr<StoreFeed>();
  PgFeedCallbacks callbacks;
  callbacks.on_change = [origin = pg->origin(), hook = hooks.on_change](const StoreChange& c) {
    if (c.origin == origin) return;
    hook(FeedChange{c.kind, c.key, c.op, c.version});
  };
  callbacks.on_resync = hooks.on_resync;
  SG_READ(feed, PgChangeFeed::start(pg->url(), std::move(callbacks)));
  return std::unique_ptr<StoreFeed>(new PgStoreFeed(std::move(*feed)));
}
#else
Result<std::unique_ptr<StoreFeed>> startStoreFeed(Store& /*store*/, FeedHooks /*hooks*/) {
  return std::unique_ptr<StoreFeed>();
}
#endif

}  // namespace sg::console
