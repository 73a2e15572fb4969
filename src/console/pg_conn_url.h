// A PostgreSQL URL as the console takes it (`--db postgres://...`): checked
// with libpq's own parser, and described for messages without its password.
#pragma once

#include <string>

#include "core/result.h"

namespace sg::console {

struct PgUrl {
  std::string url;       // as given: what libpq connects with
  std::string display;   // postgres://user@host:port/dbname, never the password
  std::string password;  // as parsed ("" when none): scrubbed from libpq's messages
};

bool isPgUrl(const std::string& url);  // postgres:// or postgresql://

// kInvalidArgument (naming the URL without its password) when libpq cannot
// parse it or it is not a postgres:// URL.
Result<PgUrl> parsePgUrl(const std::string& url);

// `message` with every occurrence of `password` replaced by "***".
std::string scrubPassword(std::string message, const std::string& password);

}  // namespace sg::console
