// What the transport hands to handlers and takes back: plain structs, no
// Beast types, so the console's handlers and their tests need no network.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sg::net {

// Who is on the other end of a connection.
struct PeerInfo {
  std::string remote_ip;    // "127.0.0.1", "::1"
  std::string cert_cn;      // CN of the client certificate the TLS layer verified, else ""
  std::string cert_sha256;  // SHA-256 of that certificate's DER, hex, else ""
};

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string path;           // without the query string
  std::string query;          // after '?', undecoded
  std::string body;           // at most ServerLimits::max_body_bytes
  std::string authorization;  // the Authorization header, if any
  // The other headers the console reads ("" when absent).
  std::string cookie;                         // Cookie
  std::string origin;                         // Origin
  std::string content_type;                   // Content-Type
  std::string host;                           // Host
  std::string csrf_token;                     // X-CSRF-Token
  std::string accept_encoding;                // Accept-Encoding
  std::string last_event_id;                  // Last-Event-ID
  std::map<std::string, std::string> params;  // from {name} segments of the route
  PeerInfo peer;
};

// A response body produced over time (Server-Sent Events): the connection
// sends the header, then whatever take() hands it, as HTTP/1.1 chunks, until
// take() says done or the connection ends. Called on the connection's strand.
class StreamBody {
 public:
  virtual ~StreamBody() = default;
  // Once, before the first take(). `wake` (any thread, any number of times)
  // makes the connection call take() soon.
  virtual void start(std::function<void()> wake) = 0;
  // What is ready to send ("" for nothing). *done = true: this is the end.
  virtual std::string take(bool* done) = 0;
  // The response ended (done, peer gone, write failed, server stopping). Once.
  virtual void finished() = 0;
  // take() is called at least this often without a wake (keepalives, expiry).
  virtual std::chrono::milliseconds pollEvery() const { return std::chrono::seconds(1); }
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Extra header fields, sent as given; a "Cache-Control" here replaces the
  // default "no-store".
  std::vector<std::pair<std::string, std::string>> headers;
  // Set: `body` is ignored and the response streams from it (keep-alive off).
  std::shared_ptr<StreamBody> stream;
};

// {"error": code, "message": message}: every error the transport or a
// handler returns has this shape.
HttpResponse errorResponse(int status, std::string_view code, std::string_view message);

}  // namespace sg::net
