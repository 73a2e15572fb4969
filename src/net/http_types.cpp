#include "net/http_types.h"

#include <nlohmann/json.hpp>

namespace sg::net {

HttpResponse errorResponse(int status, std::string_view code, std::string_view message) {
  nlohmann::json body{{"error", code}, {"message", message}};
  // Replace invalid UTF-8 (a message may quote untrusted input) instead of throwing.
  return HttpResponse{status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json"};
}

}  // namespace sg::net
