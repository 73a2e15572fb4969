#include "linux/isolation.h"

#include <unistd.h>

#include "core/config_checks.h"
#include "linux/isolation_rules.h"
#include "linux/nft_enforcer_netlink.h"
#include "linux/nft_enforcer_rules.h"
#include "linux/nft_table_owner.h"

namespace sg {

Isolator::Isolator(std::string table, IsolationState state)
    : table_(std::move(table)), state_(std::move(state)) {}

Result<std::unique_ptr<Isolator>> Isolator::create(const IsolatorOptions& options) {
  if (auto ok = limits::checkNftTable(options.table); !ok) {
    return ok.error().context("isolation table");
  }
  if (options.state_dir.empty()) {
    return makeError(Errc::kInvalidArgument, "isolation needs a state directory");
  }
  IsolationState state(options.state_dir);
  auto recorded = state.load();
  if (!recorded) return recorded.error();
  auto nl = NftNetlink::open();
  if (!nl) return nl.error();
  std::unique_ptr<Isolator> iso(new Isolator(options.table, state));
  iso->nl_ = std::move(*nl);
  auto existing = queryNftTable(*iso->nl_, options.table);
  if (!existing) return existing.error();
  if (*existing && nftTableHeld(**existing)) {
    return nftTableHeldError(options.table, **existing,
                             "two agents cannot share an isolation table; give this one its "
                             "own state directory and table");
  }
  SG_TRY(iso->replaceTable(*recorded, existing->has_value()));
  iso->spec_ = *recorded;
  iso->restored_ = recorded->has_value();
  iso->removed_stale_ = existing->has_value();
  return iso;
}

Isolator::~Isolator() {
  // Closing the owning socket deletes the table anyway; the explicit delete
  // covers kernels without table ownership. Nothing to report an error to.
  if (nl_) (void)nl_->commit({nftDeleteTableMsg(table_)});
}

Result<void> Isolator::replaceTable(const std::optional<IsolationSpec>& spec, bool had_table) {
  auto msgs = [&](bool owned) {
    std::vector<NftMsg> m;
    if (had_table) m.push_back(nftDeleteTableMsg(table_));
    m.push_back(nftNewTableMsg(table_, owned, nftOwnerComment(getpid())));
    if (spec) {
      for (auto& x : isolationChainMsgs(table_, *spec)) m.push_back(std::move(x));
    }
    return m;
  };
  auto r = nl_->commit(msgs(owned_));
  // Linux < 5.12 refuses the owner flag (EINVAL, or EOPNOTSUPP): unowned then.
  if (!r && owned_ && (r.error().code() == Errc::kIo || r.error().code() == Errc::kUnavailable)) {
    auto unowned = nl_->commit(msgs(false));
    if (unowned) owned_ = false;
    r = unowned;
  }
  if (!r) {
    return r.error().context(std::string(spec ? "isolating" : "releasing") +
                             " (nftables table inet " + table_ + ")");
  }
  return Ok{};
}

Result<void> Isolator::apply(const std::optional<IsolationSpec>& spec) {
  SG_TRY(state_.save(spec));
  auto r = replaceTable(spec, /*had_table=*/true);
  if (!r) {
    (void)state_.save(
        spec_);  // the record follows the kernel; the first error is the one to report
    return r.error();
  }
  spec_ = spec;
  return Ok{};
}

Result<void> Isolator::isolate(const IsolationSpec& spec) {
  SG_TRY(validateIsolationSpec(spec));
  return apply(spec);
}

Result<void> Isolator::release() {
  if (!spec_) return Ok{};
  return apply(std::nullopt);
}

}  // namespace sg
