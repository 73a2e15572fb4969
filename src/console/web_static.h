// The dashboard's files (docs/dashboard.md "Serving"): the built page under a
// web root, answered for every path that is not an API route. Paths resolve
// inside the root only (no "..", no encoded dots, NUL or backslash, no symlink
// out of it); a `F.gz` sibling is sent when the client takes gzip; unknown
// non-asset paths answer index.html (the page's own routes); every answer
// carries the page's Content-Security-Policy and the other security headers.
#pragma once

#include <optional>
#include <string>

#include "net/http_types.h"

namespace sg::console {

// <directory of the running executable>/../share/syn-guard/web ("" if unknown).
std::string defaultWebRoot();

class WebRoot {
 public:
  // `dir` made absolute and symlink-free; a missing or non-directory `dir`
  // gives a root that answers 503 (available() false).
  static WebRoot open(const std::string& dir);

  bool available() const { return !root_.empty(); }
  const std::string& dir() const { return given_; }
  // GET/HEAD of any non-/v1/ path (the router's fallback).
  net::HttpResponse serve(const net::HttpRequest& request) const;

 private:
  struct Found {
    std::string rel;   // path inside the root, "index.html", "assets/x.js"
    std::string real;  // resolved absolute path
  };
  // The file at `rel`, resolved inside the root; nullopt if absent or outside.
  std::optional<Found> find(const std::string& rel) const;
  net::HttpResponse fileResponse(const Found& file, const net::HttpRequest& request) const;

  std::string given_;
  std::string root_;  // realpath of the root, "" when unavailable
};

// Headers every page and asset answer carries (CSP, nosniff, ...).
void addSecurityHeaders(net::HttpResponse& response);
// True when an Accept-Encoding value allows gzip.
bool acceptsGzip(const std::string& accept_encoding);
// The request path made relative to the web root ("" for "/"), or nullopt
// for a path that must not be resolved (traversal, NUL, backslash, bad %).
std::optional<std::string> webRelativePath(const std::string& path);

}  // namespace sg::console
