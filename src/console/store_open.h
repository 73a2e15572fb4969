// Which Store a console runs on, from its --db flag:
//   ""              SQLite at DATA_DIR/console.db (the embedded default)
//   "sqlite:PATH"   SQLite at PATH (relative to DATA_DIR unless absolute)
//   "postgres://…"  PostgreSQL (not built in yet: kUnavailable)
#pragma once

#include <memory>
#include <string>

#include "console/store.h"
#include "core/result.h"

namespace sg::console {

Result<std::unique_ptr<Store>> openStore(const std::string& db_url, const std::string& data_dir);

}  // namespace sg::console
