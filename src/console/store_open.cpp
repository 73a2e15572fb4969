#include "console/store_open.h"

#include "console/sqlite_store.h"

namespace sg::console {

Result<std::unique_ptr<Store>> openStore(const std::string& db_url, const std::string& data_dir) {
  std::string path;
  if (db_url.empty()) {
    path = data_dir + "/console.db";
  } else if (db_url.rfind("sqlite:", 0) == 0) {
    path = db_url.substr(7);
    if (path.empty()) return makeError(Errc::kInvalidArgument, "--db sqlite: needs a path");
    if (path[0] != '/') path = data_dir + "/" + path;
  } else if (db_url.rfind("postgres://", 0) == 0 || db_url.rfind("postgresql://", 0) == 0) {
    return makeError(Errc::kUnavailable, "PostgreSQL store not built in yet");
  } else {
    return makeError(
        Errc::kInvalidArgument,
        "--db must be sqlite:PATH or postgres://...");  // not echoed: may hold a password
  }
  auto store = SqliteStore::open(path);
  if (!store) return store.error().context("opening " + path);
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace sg::console
