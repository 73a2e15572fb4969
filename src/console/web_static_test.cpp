// WebRoot over a temporary directory: files, gzip siblings, cache and
// security headers, the page's fallback, and every traversal attempt refused.
#include "console/web_static.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scratch_dir.h"

namespace sg::console {
namespace {

namespace fs = std::filesystem;

std::string header(const net::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class WebStaticTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = base_ / "web";
    fs::create_directories(root_ / "assets");
    write(root_ / "index.html", "<!doctype html><title>SYN Guard</title>");
    write(root_ / "assets" / "app-1a2b.js", "console.log(1)");
    write(root_ / "assets" / "app-1a2b.js.gz", "GZBYTES");
    write(root_ / "assets" / "style-9f.css", "body{}");
    write(base_ / "secret.txt", "outside the root");
    fs::create_symlink(base_ / "secret.txt", root_ / "assets" / "leak.css");
    fs::create_symlink(base_, root_ / "up");
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  net::HttpResponse get(const std::string& path, const std::string& encoding = "",
                        const std::string& method = "GET") {
    net::HttpRequest r;
    r.method = method;
    r.path = path;
    r.accept_encoding = encoding;
    return WebRoot::open(root_.string()).serve(r);
  }

  sg::test::ScratchDir scratch_{"sg-web"};
  fs::path base_ = scratch_.path();
  fs::path root_;
};

TEST_F(WebStaticTest, ServesThePageWithItsHeaders) {
  auto r = get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>SYN Guard</title>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_NE(header(r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_NE(header(r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(r, "X-Frame-Options"), "DENY");
  EXPECT_EQ(get("/index.html").body, r.body);
}

TEST_F(WebStaticTest, AssetsAreImmutableAndGzipWhenAccepted) {
  auto plain = get("/assets/app-1a2b.js");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "console.log(1)");
  EXPECT_EQ(plain.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(plain, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(plain, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(plain, "Content-Encoding"), "");

  auto gz = get("/assets/app-1a2b.js", "br, gzip;q=0.8");
  EXPECT_EQ(gz.body, "GZBYTES");
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(get("/assets/app-1a2b.js", "gzip;q=0").body, "console.log(1)");
  // No sibling: the plain file, whatever the client takes.
  EXPECT_EQ(get("/assets/style-9f.css", "gzip").body, "body{}");
}

TEST_F(WebStaticTest, PageRoutesFallBackToIndexButAssetsAndApiDoNot) {
  EXPECT_EQ(get("/floods").body, "<!doctype html><title>SYN Guard</title>");
  EXPECT_EQ(get("/endpoints/web-1").status, 200);
  EXPECT_EQ(get("/assets/missing-00.js").status, 404);
  auto api = get("/v1/nothing");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_EQ(get("/", "", "POST").status, 405);
  EXPECT_EQ(get("/v1/nothing", "", "POST").status,
            404);  // an unknown API path, whatever the method
  auto head = get("/", "", "HEAD");
  EXPECT_EQ(head.status, 200);
}

TEST_F(WebStaticTest, TraversalIsRefused) {
  for (const char* path :
       {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt", "/assets%2f..%2f..%2fsecret.txt", "/..%5csecret.txt",
        "/assets\\..\\..\\secret.txt", "/index.html%00.js", "/%zz", "/.hidden", "/up/secret.txt",
        "/assets/leak.css"}) {
    auto r = get(path);
    EXPECT_NE(r.body, "outside the root") << path;
    EXPECT_TRUE(r.status == 404 || r.body.find("<!doctype html>") == 0) << path << " " << r.status;
  }
  // Traversal answers 404, never the page.
  EXPECT_EQ(get("/../secret.txt").status, 404);
  EXPECT_EQ(get("/%2e%2e/secret.txt").status, 404);
  EXPECT_EQ(get("/index.html%00").status, 404);
  EXPECT_EQ(get("/a\\b").status, 404);
  // A symlink out of the root is not followed (asset: 404; elsewhere: the page).
  EXPECT_EQ(get("/assets/leak.css").status, 404);
  EXPECT_EQ(get("/up/secret.txt").body, "<!doctype html><title>SYN Guard</title>");
}

TEST_F(WebStaticTest, MissingRootAnswers503) {
  net::HttpRequest r;
  r.method = "GET";
  r.path = "/";
  WebRoot none = WebRoot::open((base_ / "nope").string());
  EXPECT_FALSE(none.available());
  auto resp = none.serve(r);
  EXPECT_EQ(resp.status, 503);
  EXPECT_EQ(resp.body, "dashboard not built: run scripts/build.sh\n");
  r.path = "/v1/x";
  EXPECT_EQ(none.serve(r).status, 404);
}

TEST(WebPath, AcceptsGzip) {
  EXPECT_TRUE(acceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(acceptsGzip("GZIP"));
  EXPECT_TRUE(acceptsGzip("*"));
  EXPECT_FALSE(acceptsGzip("br"));
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip; q=0.000"));
  EXPECT_TRUE(acceptsGzip("gzip;q=0.5"));
}

}  // namespace
}  // namespace sg::console
