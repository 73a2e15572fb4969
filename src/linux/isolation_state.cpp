#include "linux/isolation_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "files/state_file.h"
#include "linux/errno_text.h"

namespace sg {
namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxFileSize = 64 * 1024;

Error ioError(int err, const std::string& what) {
  return makeError(err == EACCES || err == EPERM ? Errc::kPermissionDenied : Errc::kIo,
                   what + ": " + errnoText(err));
}

}  // namespace

std::string isolationStateJson(const std::optional<IsolationSpec>& spec) {
  nlohmann::json j;
  j["version"] = kVersion;
  j["isolated"] = spec.has_value();
  if (spec) j["spec"] = nlohmann::json::parse(isolationSpecJson(*spec));
  return j.dump() + "\n";
}

Result<std::optional<IsolationSpec>> parseIsolationStateJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return makeError(Errc::kInvalidArgument, "not a JSON object");
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || *version != kVersion) {
    return makeError(Errc::kInvalidArgument, "\"version\" must be " + std::to_string(kVersion) +
                                                 " (written by this agent)");
  }
  auto isolated = j.find("isolated");
  if (isolated == j.end() || !isolated->is_boolean()) {
    return makeError(Errc::kInvalidArgument, "\"isolated\" must be true or false");
  }
  if (!isolated->get<bool>()) return std::optional<IsolationSpec>{};
  auto spec = j.find("spec");
  if (spec == j.end()) return makeError(Errc::kInvalidArgument, "\"isolated\" without \"spec\"");
  auto parsed = parseIsolationSpecJson(spec->dump());
  if (!parsed) return parsed.error().context("\"spec\"");
  return std::optional<IsolationSpec>(*parsed);
}

IsolationState::IsolationState(const std::string& state_dir)
    : dir_(state_dir), path_(state_dir + "/" + kFileName) {}

Result<std::optional<IsolationSpec>> IsolationState::load() const {
  auto read = readSmallFile(path_, kMaxFileSize);
  if (!read && read.error().code() == Errc::kNotFound) return std::optional<IsolationSpec>{};
  if (!read) return read.error().context("reading the isolation record");
  const std::string& text = *read;
  auto parsed = parseIsolationStateJson(text);
  if (!parsed) {
    return parsed.error().context("isolation record " + path_ +
                                  " is malformed (fix or remove it; removed means not isolated)");
  }
  return parsed;
}

Result<void> IsolationState::save(const std::optional<IsolationSpec>& spec) const {
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    return ioError(errno, "making the state directory " + dir_);
  }
  auto r = writeFileAtomic(path_, isolationStateJson(spec), 0600);
  if (!r) return r.error().context("writing the isolation record " + path_);
  return Ok{};
}

}  // namespace sg
