// What the transport hands to handlers and takes back: plain structs, no
// Beast types, so the console's handlers and their tests need no network.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace sg::net {

// Who is on the other end of a connection.
struct PeerInfo {
  std::string remote_ip;    // "127.0.0.1", "::1"
  std::string cert_cn;      // CN of the client certificate the TLS layer verified, else ""
  std::string cert_sha256;  // SHA-256 of that certificate's DER, hex, else ""
};

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // without the query string
  std::string query;                          // after '?', undecoded
  std::string body;                           // at most ServerLimits::max_body_bytes
  std::string authorization;                  // the Authorization header, if any
  std::map<std::string, std::string> params;  // from {name} segments of the route
  PeerInfo peer;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

// {"error": code, "message": message}: every error the transport or a
// handler returns has this shape.
HttpResponse errorResponse(int status, std::string_view code, std::string_view message);

}  // namespace sg::net
