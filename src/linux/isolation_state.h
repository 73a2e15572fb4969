// IsolationState: the isolation's record in the agent's state directory, so
// that an isolation survives a restart. One small JSON file, mode 0600:
//
//   {"version":1,"isolated":true,"spec":{"console":["192.0.2.10"],"allow":["198.51.100.0/24"]}}
//   {"version":1,"isolated":false}
//
// Written atomically (a temporary file in the same directory, fsync, rename,
// fsync of the directory): a crash leaves the old record or the new one.
#pragma once

#include <optional>
#include <string>

#include "core/isolation.h"
#include "core/result.h"

namespace sg {

class IsolationState {
 public:
  static constexpr const char* kFileName = "isolation.json";

  // The record `<state_dir>/isolation.json`.
  explicit IsolationState(const std::string& state_dir);

  // The recorded spec; nullopt when not isolated or when there is no file
  // yet. An unreadable or malformed file is an error naming it (kIo,
  // kInvalidArgument): the caller cannot tell whether the host should be
  // isolated, so it must not guess.
  Result<std::optional<IsolationSpec>> load() const;
  // Records `spec` (nullopt: released). Makes the directory (0700) when it
  // does not exist yet.
  Result<void> save(const std::optional<IsolationSpec>& spec) const;

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

// The file's text for `spec`, and back (exposed for tests).
std::string isolationStateJson(const std::optional<IsolationSpec>& spec);
Result<std::optional<IsolationSpec>> parseIsolationStateJson(const std::string& text);

}  // namespace sg
