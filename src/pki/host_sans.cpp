#include "pki/host_sans.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

namespace sg::pki {
namespace {

void addUnique(std::vector<std::string>& out, const std::string& s) {
  if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
}

void addInterfaceAddresses(std::vector<std::string>& out) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {0};
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
    }
    addUnique(out, text);
  }
  freeifaddrs(list);
}

}  // namespace

std::vector<std::string> hostSans(const std::string& listen_host,
                                  const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  if (listen_host != "0.0.0.0" && listen_host != "::" && listen_host != "[::]") {
    addUnique(out, listen_host);
  }
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) {
    addUnique(out, host);
    addrinfo hints{};
    hints.ai_flags = AI_CANONNAME;
    addrinfo* res = nullptr;
    if (getaddrinfo(host, nullptr, &hints, &res) == 0) {
      if (res != nullptr && res->ai_canonname != nullptr) addUnique(out, res->ai_canonname);
      freeaddrinfo(res);
    }
  }
  addUnique(out, "localhost");
  addInterfaceAddresses(out);
  for (const auto& s : extra) addUnique(out, s);
  return out;
}

}  // namespace sg::pki
