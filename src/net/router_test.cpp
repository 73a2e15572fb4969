#include "net/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace sg::net {
namespace {

HttpRequest request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

nlohmann::json bodyOf(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

Router testRouter() {
  Router router;
  router.add("GET", "/v1/floods", [](const HttpRequest&) { return HttpResponse{200, "[]"}; });
  router.add("POST", "/v1/endpoints/{name}/isolate", [](const HttpRequest& r) {
    return HttpResponse{202, nlohmann::json{{"isolated", r.params.at("name")}}.dump()};
  });
  router.add("GET", "/v1/boom",
             [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  return router;
}

TEST(RouterTest, RoutesByMethodAndPathWithCaptures) {
  Router router = testRouter();
  EXPECT_EQ(router.route(request("GET", "/v1/floods")).body, "[]");
  EXPECT_EQ(router.route(request("GET", "/v1/floods/")).status, 200);  // trailing slash
  HttpResponse r = router.route(request("POST", "/v1/endpoints/web-1/isolate"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(bodyOf(r)["isolated"], "web-1");
}

TEST(RouterTest, UnknownPathIs404AndWrongMethodIs405WithJsonErrors) {
  Router router = testRouter();
  HttpResponse r = router.route(request("GET", "/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(bodyOf(r)["error"], "not_found");
  r = router.route(request("DELETE", "/v1/floods"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(bodyOf(r)["error"], "method_not_allowed");
  EXPECT_NE(bodyOf(r)["message"].get<std::string>().find("GET"), std::string::npos);
  EXPECT_EQ(router.route(request("POST", "/v1/endpoints//isolate")).status, 404);
}

TEST(RouterTest, HandlerThatThrowsIsA500NotACrash) {
  Router router = testRouter();
  bool threw = false;
  HttpResponse r = router.route(request("GET", "/v1/boom"), &threw);
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(threw);
  EXPECT_EQ(bodyOf(r)["error"], "internal");
}

TEST(RouterTest, ErrorBodyStaysValidJsonWithHostileText) {
  HttpResponse r = errorResponse(400, "bad_request", std::string("bad \"\xff\xfe\" utf8\n"));
  EXPECT_NO_THROW(bodyOf(r));
  EXPECT_EQ(r.content_type, "application/json");
}

}  // namespace
}  // namespace sg::net
