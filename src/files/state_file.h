// Small files the agent and the console keep between runs (state records,
// keys, certificates): written so that a reader or a crash sees the old
// content or the new, never half, and read with a bound on their size.
#pragma once

#include <cstddef>
#include <string>

#include "core/result.h"

namespace sg {

// Writes `content` to `path` with exactly `mode` (the umask does not apply):
// into a temporary file beside it (never following a link), fsynced, renamed
// over `path`, then the directory fsynced so the rename survives a crash. On
// failure the temporary file is removed and `path` is untouched.
Result<void> writeFileAtomic(const std::string& path, const std::string& content, unsigned mode);

// The content of `path`, at most `max_bytes` (kInvalidArgument beyond);
// kNotFound when it does not exist, so callers can tell "none yet" apart.
Result<std::string> readSmallFile(const std::string& path, size_t max_bytes = 64 * 1024);

}  // namespace sg
