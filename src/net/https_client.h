// One HTTPS request, synchronous, bounded in time and size: the agent's
// enrollment (POST the CSR with the token, the console's CA pinned) and the
// `ctl` CLI's REST calls. Same TLS verification as the WebSocket client.
#pragma once

#include <chrono>
#include <string>

#include "core/result.h"
#include "net/tls_config.h"

namespace sg::net {

struct HttpsTarget {
  std::string host;
  uint16_t port = 8443;
  TlsClientConfig tls;
  std::chrono::milliseconds timeout{10'000};  // the whole exchange
  size_t max_response_bytes = 8 * 1024 * 1024;
};

struct HttpsReply {
  int status = 0;
  std::string body;
  std::string content_type;
};

// `authorization` is sent as the Authorization header when non-empty
// ("Bearer sgA_..."). A non-2xx status is a reply, not an error; errors are
// for no reply at all (connect, TLS, timeout, oversized).
Result<HttpsReply> httpsRequest(const HttpsTarget& target, const std::string& method,
                                const std::string& path, const std::string& body = {},
                                const std::string& authorization = {});

}  // namespace sg::net
