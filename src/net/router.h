// Method + path -> handler. Patterns are literal segments and {name}
// captures ("/v1/endpoints/{name}/isolate"); a capture matches one non-empty
// segment. Unknown path: 404; known path, other method: 405. A handler that
// throws gets a 500 (counted by the server), never a crash.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/http_types.h"

namespace sg::net {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  void add(std::string method, const std::string& pattern, HttpHandler handler);
  // Fills request.params from the matched pattern. `threw` is set when the
  // handler threw (the 500 is returned).
  HttpResponse route(HttpRequest request, bool* threw = nullptr) const;
  // Answers a path no route matches (instead of the 404), e.g. static files.
  void setFallback(HttpHandler handler) { fallback_ = std::move(handler); }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" for a capture
    HttpHandler handler;
  };
  static bool match(const Route& route, const std::vector<std::string>& path,
                    std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
  HttpHandler fallback_;
};

// "/a/b/" -> {"a", "b"}; empty segments dropped.
std::vector<std::string> splitPath(const std::string& path);

}  // namespace sg::net
