#include "console/pg_conn_url.h"

#include <libpq-fe.h>

#include <memory>

namespace sg::console {

namespace {

// The URL with anything between "://" and the last '@' of the authority
// reduced to the user name: for messages about a URL libpq refused.
std::string withoutPassword(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "<not a URL>";
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  if (at == std::string::npos) return url;
  const std::string user = authority.substr(0, authority.find(':'));
  return url.substr(0, start) + user.substr(0, std::min(user.size(), at)) + "@" +
         authority.substr(at + 1) + (end == std::string::npos ? "" : url.substr(end));
}

std::string rawPassword(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const size_t start = scheme + 3;
  const size_t end = url.find_first_of("/?", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const size_t at = authority.rfind('@');
  const size_t colon = authority.find(':');
  if (at == std::string::npos || colon == std::string::npos || colon > at) return "";
  return authority.substr(colon + 1, at - colon - 1);
}

}  // namespace

bool isPgUrl(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

std::string scrubPassword(std::string message, const std::string& password) {
  if (password.empty()) return message;
  for (size_t at = message.find(password); at != std::string::npos;
       at = message.find(password, at + 3)) {
    message.replace(at, password.size(), "***");
  }
  return message;
}

Result<PgUrl> parsePgUrl(const std::string& url) {
  if (!isPgUrl(url)) {
    return makeError(Errc::kInvalidArgument,
                     "not a PostgreSQL URL (postgres://user:password@host:port/dbname): " +
                         withoutPassword(url));
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err ? err : "out of memory";
    PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return makeError(Errc::kInvalidArgument, "invalid PostgreSQL URL " + withoutPassword(url) +
                                                 ": " + scrubPassword(why, rawPassword(url)));
  }
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> owned(opts, PQconninfoFree);
  std::string user, host, port, dbname, password;
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string key = o->keyword;
    if (key == "user") user = o->val;
    if (key == "host") host = o->val;
    if (key == "hostaddr" && host.empty()) host = o->val;
    if (key == "port") port = o->val;
    if (key == "dbname") dbname = o->val;
    if (key == "password") password = o->val;
  }
  PgUrl out;
  out.url = url;
  out.password = password;
  out.display = "postgres://" + (user.empty() ? "" : user + "@") +
                (host.empty() ? "(local socket)" : host) + (port.empty() ? "" : ":" + port) + "/" +
                dbname;
  return out;
}

}  // namespace sg::console
