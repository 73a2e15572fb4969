#include "console/web_static.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <optional>

namespace sg::console {

namespace {

constexpr size_t kMaxFileBytes = 32 * 1024 * 1024;
constexpr const char* kNotBuilt = "dashboard not built: run scripts/build.sh\n";

std::optional<std::string> realPath(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

bool endsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const char* contentType(const std::string& rel) {
  static constexpr std::array<std::pair<std::string_view, const char*>, 10> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".woff2", "font/woff2"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [ext, type] : kTypes) {
    if (endsWith(rel, ext)) return type;
  }
  return "application/octet-stream";
}

// A regular file's bytes (no symlink at the last step: `real` is resolved).
std::optional<std::string> readFile(const std::string& real) {
  const int fd = ::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<size_t>(st.st_size) <= kMaxFileBytes) {
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == data.size()) out = std::move(data);
  }
  ::close(fd);
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

net::HttpResponse textResponse(int status, std::string text) {
  net::HttpResponse r{status, std::move(text), "text/plain; charset=utf-8"};
  addSecurityHeaders(r);
  return r;
}

}  // namespace

std::string defaultWebRoot() {
  auto exe = realPath("/proc/self/exe");
  if (!exe) return {};
  const size_t slash = exe->rfind('/');
  if (slash == std::string::npos) return {};
  return exe->substr(0, slash) + "/../share/syn-guard/web";
}

void addSecurityHeaders(net::HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                         "data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                         "form-action 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

bool acceptsGzip(const std::string& accept_encoding) {
  size_t start = 0;
  while (start <= accept_encoding.size()) {
    size_t end = accept_encoding.find(',', start);
    if (end == std::string::npos) end = accept_encoding.size();
    std::string item = accept_encoding.substr(start, end - start);
    std::transform(item.begin(), item.end(), item.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    item.erase(
        std::remove_if(item.begin(), item.end(), [](char c) { return c == ' ' || c == '\t'; }),
        item.end());
    const size_t semi = item.find(';');
    const std::string name = item.substr(0, semi);
    if (name == "gzip" || name == "*") {
      if (semi == std::string::npos) return true;
      const std::string param = item.substr(semi + 1);
      // q=0, q=0.0, q=0.00, q=0.000: refused
      if (param.rfind("q=", 0) == 0 && param.find_first_not_of("0.", 2) == std::string::npos) {
        return false;
      }
      return true;
    }
    start = end + 1;
  }
  return false;
}

std::optional<std::string> webRelativePath(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::string decoded;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '%') {
      decoded += path[i];
      continue;
    }
    if (i + 2 >= path.size() || hexValue(path[i + 1]) < 0 || hexValue(path[i + 2]) < 0) {
      return std::nullopt;
    }
    decoded += static_cast<char>(hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]));
    i += 2;
  }
  std::string rel;
  size_t start = 1;
  while (start <= decoded.size()) {
    size_t slash = decoded.find('/', start);
    if (slash == std::string::npos) slash = decoded.size();
    const std::string seg = decoded.substr(start, slash - start);
    start = slash + 1;
    if (seg.empty()) continue;
    // ".", "..", hidden files; NUL and backslash anywhere
    if (seg[0] == '.' || seg.find('\0') != std::string::npos ||
        seg.find('\\') != std::string::npos) {
      return std::nullopt;
    }
    rel += (rel.empty() ? "" : "/") + seg;
  }
  return rel;
}

WebRoot WebRoot::open(const std::string& dir) {
  WebRoot w;
  w.given_ = dir;
  struct stat st {};
  if (dir.empty() || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return w;
  if (auto real = realPath(dir)) w.root_ = *real;
  return w;
}

std::optional<WebRoot::Found> WebRoot::find(const std::string& rel) const {
  auto real = realPath(root_ + "/" + rel);
  if (!real || real->rfind(root_ + "/", 0) != 0) return std::nullopt;  // absent, or outside
  struct stat st {};
  if (::stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return Found{rel, *real};
}

net::HttpResponse WebRoot::serve(const net::HttpRequest& req) const {
  if (req.path == "/v1" || req.path.rfind("/v1/", 0) == 0) {
    return net::errorResponse(404, "not_found", "no resource at " + req.path);
  }
  if (req.method != "GET" && req.method != "HEAD") {
    return net::errorResponse(405, "method_not_allowed",
                              req.method + " is not allowed here; allowed: GET, HEAD");
  }
  if (!available()) return textResponse(503, kNotBuilt);
  auto rel = webRelativePath(req.path);
  if (!rel) return textResponse(404, "not found\n");
  std::optional<Found> file;
  if (!rel->empty()) file = find(*rel);
  if (!file) {
    // Hashed assets are exact; every other path is one of the page's routes.
    if (rel->rfind("assets/", 0) == 0) return textResponse(404, "not found\n");
    file = find("index.html");
    if (!file) return textResponse(503, kNotBuilt);
  }
  return fileResponse(*file, req);
}

net::HttpResponse WebRoot::fileResponse(const Found& file, const net::HttpRequest& req) const {
  std::optional<std::string> body;
  bool gzipped = false;
  if (acceptsGzip(req.accept_encoding)) {
    if (auto gz = find(file.rel + ".gz")) {
      body = readFile(gz->real);
      gzipped = body.has_value();
    }
  }
  if (!body) body = readFile(file.real);
  if (!body) return textResponse(404, "not found\n");
  net::HttpResponse r{200, std::move(*body), contentType(file.rel)};
  addSecurityHeaders(r);
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (gzipped) r.headers.emplace_back("Content-Encoding", "gzip");
  const bool asset = file.rel.rfind("assets/", 0) == 0;
  r.headers.emplace_back("Cache-Control",
                         asset ? "public, max-age=31536000, immutable" : "no-cache");
  return r;
}

}  // namespace sg::console
