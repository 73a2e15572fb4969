#include "net/router.h"

namespace sg::net {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

void Router::add(std::string method, const std::string& pattern, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), splitPath(pattern), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string>& path,
                   std::map<std::string, std::string>& params) {
  if (route.segments.size() != path.size()) return false;
  std::map<std::string, std::string> captured;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      captured[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  params = std::move(captured);
  return true;
}

namespace {

HttpResponse guarded(const HttpHandler& handler, const HttpRequest& request, bool* threw) {
  try {
    return handler(request);
  } catch (...) {
    if (threw != nullptr) *threw = true;
    return errorResponse(500, "internal", "the handler failed");
  }
}

}  // namespace

HttpResponse Router::route(HttpRequest request, bool* threw) const {
  if (threw != nullptr) *threw = false;
  std::vector<std::string> path = splitPath(request.path);
  std::string allowed;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> params;
    if (!match(r, path, params)) continue;
    if (r.method != request.method) {
      allowed += (allowed.empty() ? "" : ", ") + r.method;
      continue;
    }
    request.params = std::move(params);
    return guarded(r.handler, request, threw);
  }
  if (!allowed.empty()) {
    return errorResponse(405, "method_not_allowed",
                         request.method + " is not allowed here; allowed: " + allowed);
  }
  if (fallback_) return guarded(fallback_, request, threw);
  return errorResponse(404, "not_found", "no resource at " + request.path);
}

}  // namespace sg::net
