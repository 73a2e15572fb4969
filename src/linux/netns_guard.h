// Running code in a fresh, private network namespace, so that tests (and
// self-checks) that change nftables, addresses or routes never touch the host.
//
// unshare(CLONE_NEWNET) and setns() change only the calling thread, so the
// body runs on a dedicated thread that unshares first; the namespace (with
// everything made inside it: nftables tables, addresses, sockets) disappears
// when that thread has ended and the last socket opened in it is closed.
// Processes started from the body (posix_spawn, fork) inherit the namespace.
#pragma once

#include <functional>

#include "core/result.h"

namespace sg {

// Runs `body` on a new thread inside a new network namespace whose loopback
// is up, and joins it. An error (and `body` never runs) when the namespace
// cannot be made (needs CAP_SYS_ADMIN) or lo cannot be brought up.
Result<void> runInFreshNetns(const std::function<void()>& body);

// Brings interface `name` up in the calling thread's namespace.
Result<void> setLinkUp(const char* name);

}  // namespace sg
