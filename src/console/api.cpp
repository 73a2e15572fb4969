#include "console/api.h"

namespace sg::console {

void addApiRoutes(net::Router& /*router*/, ConsoleService& /*service*/) {
  // The routes land with the REST API (issue 6, step 1).
}

}  // namespace sg::console
