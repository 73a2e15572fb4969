// Store write throughput: how many flood upserts per second (what a report
// stores) the console's store takes, on SQLite (one writer: the baseline) and
// on PostgreSQL with 1, 2 and 4 stores writing at once to one database, as
// several consoles do. Each store writes from its own thread.
//
//   build/bin/store_bench [--db postgres://USER:PASSWORD@HOST:PORT/DB] [--writes N] [--batch N]
//
// --batch N: floods written N a call (Store::putFloods, one transaction), as
// the console's ingest does with the reports that arrive together; 1 (the
// default) is putFlood, a transaction each.
//
// The PostgreSQL rows run in a database of their own (sg_bench_<pid>, made and
// dropped here: the role needs CREATEDB); without --db (or
// SYNGUARD_TEST_PG_URL) only the SQLite row is printed. The tests' server
// (scripts/pg-test-server.sh) runs without fsync, as SQLite's WAL with
// synchronous=NORMAL does not fsync each commit either: against a server that
// does, PostgreSQL's rows fall with its disk's flush rate.
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "console/pg_store.h"
#include "console/sqlite_store.h"

namespace {

using sg::console::FloodRecord;
using sg::console::Store;

// `stores` write `writes` floods each, at once, `batch` a call (putFloods,
// one transaction: the console's ingest writes the floods of the reports that
// arrived together so); floods written per second overall.
double run(std::vector<std::unique_ptr<Store>>& stores, int writes, int batch) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<bool> failed{false};
  for (size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] {
      std::vector<FloodRecord> pending;
      for (int k = 0; k < writes; ++k) {
        const FloodRecord f{i * 1'000'000 + static_cast<uint64_t>(k) + 1,
                            "192.0.2.7",
                            true,
                            1,
                            2,
                            R"({"severity":"HIGH","endpoints":["web-1","web-2","web-3"]})"};
        pending.push_back(f);
        if (static_cast<int>(pending.size()) < batch && k + 1 < writes) continue;
        auto done = batch == 1 ? stores[i]->putFlood(f) : stores[i]->putFloods(pending);
        pending.clear();
        if (!done.ok()) {
          std::fprintf(stderr, "store_bench: %s\n", done.error().message().c_str());
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) std::exit(1);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(stores.size()) * writes / s;
}

// `url` naming database `dbname` instead of its own.
std::string withDatabase(const std::string& url, const std::string& dbname) {
  const size_t path = url.find('/', url.find("://") + 3);
  const size_t query = url.find('?', path == std::string::npos ? 0 : path);
  return url.substr(0, std::min(path, query)) + "/" + dbname +
         (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace

int main(int argc, char** argv) {
  std::string db = getenv("SYNGUARD_TEST_PG_URL") ? getenv("SYNGUARD_TEST_PG_URL") : "";
  int writes = 2000;
  int batch = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
      db = argv[++i];
    } else if (std::strcmp(argv[i], "--writes") == 0 && i + 1 < argc) {
      writes = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: store_bench [--db postgres://...] [--writes N] [--batch N]\n");
      return 2;
    }
  }
  if (writes <= 0 || batch <= 0) return 2;

  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "sg-store-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return 1;
  std::vector<std::unique_ptr<Store>> sqlite;
  auto opened = sg::console::SqliteStore::open(tmpl + "/console.db");
  if (!opened.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", opened.error().message().c_str());
    return 1;
  }
  sqlite.push_back(std::move(*opened));
  const double base = run(sqlite, writes, batch);
  sqlite.clear();
  fs::remove_all(tmpl);
  std::printf("store writes (%s, %d per store)   stores   floods/s   vs SQLite\n",
              batch == 1 ? "putFlood" : ("putFloods of " + std::to_string(batch)).c_str(), writes);
  std::printf("%-38s %6d %10.0f %11.2f\n", "SQLite (WAL, one writer)", 1, base, 1.0);
  if (db.empty()) {
    std::printf("(no --db and no SYNGUARD_TEST_PG_URL: PostgreSQL not measured)\n");
    return 0;
  }

  auto server = sg::console::parsePgUrl(db);
  if (!server.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", server.error().message().c_str());
    return 1;
  }
  auto admin = sg::console::PgConn::connect(*server, {});
  if (!admin.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", admin.error().message().c_str());
    return 1;
  }
  const std::string name = "sg_bench_" + std::to_string(getpid());  // digits only
  int status = 0;
  for (int count : {1, 2, 4}) {
    auto made = (*admin)->script("CREATE DATABASE " + name);
    if (!made.ok()) {
      std::fprintf(stderr, "store_bench: %s\n", made.error().message().c_str());
      return 1;
    }
    std::vector<std::unique_ptr<Store>> stores;
    for (int i = 0; i < count && status == 0; ++i) {
      auto s = sg::console::PgStore::open(withDatabase(db, name));
      if (!s.ok()) {
        std::fprintf(stderr, "store_bench: %s\n", s.error().message().c_str());
        status = 1;
      } else {
        stores.push_back(std::move(*s));
      }
    }
    if (status == 0) {
      const double rate = run(stores, writes, batch);
      std::printf("%-38s %6d %10.0f %11.2f\n", "PostgreSQL (one database)", count, rate,
                  rate / base);
    }
    stores.clear();
    (void)(*admin)->script("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    if (status != 0) return status;
  }
  return 0;
}
