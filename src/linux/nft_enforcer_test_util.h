// Test-only helpers for the nftables tests: run an nft script with a context
// of its own (independent of the enforcer under test), list a table, drop
// CAP_NET_ADMIN.
#pragma once

#include <linux/capability.h>
#include <nftables/libnftables.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/result.h"

namespace sg {

// Runs `script` in the calling thread's namespace; its output, or kIo with
// libnftables' error text.
inline Result<std::string> nftRun(const std::string& script) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return makeError(Errc::kIo, "nft_ctx_new failed");
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx);
  std::string err = nft_ctx_get_error_buffer(ctx);
  nft_ctx_free(ctx);
  if (rc != 0) return makeError(Errc::kIo, err);
  return out;
}

// `list table inet <table>` in the calling thread's namespace: the table as
// nft prints it, or "" when it is absent (or nft fails).
inline std::string nftListTable(const std::string& table) {
  auto out = nftRun("list table inet " + table);
  return out.ok() ? *out : std::string();
}

// Capabilities are per thread: this leaves the rest of the process as it was.
inline Result<void> dropCapNetAdminOnThisThread() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) {
    return makeError(Errc::kIo, std::string("capget: ") + std::strerror(errno));
  }
  data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
  data[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
  if (syscall(SYS_capset, &hdr, data) != 0) {
    return makeError(Errc::kIo, std::string("capset: ") + std::strerror(errno));
  }
  return Ok{};
}

}  // namespace sg
