// The names a console on this host answers to, for its server certificate:
// the hostname (and its canonical name), "localhost", every interface address
// (link-local IPv6 left out), plus the listen address and the operator's
// extra --san entries.
#pragma once

#include <string>
#include <vector>

namespace sg::pki {

// `listen_host` is the host part of --listen ("" or a wildcard adds nothing).
std::vector<std::string> hostSans(const std::string& listen_host,
                                  const std::vector<std::string>& extra);

}  // namespace sg::pki
