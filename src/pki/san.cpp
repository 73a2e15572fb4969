#include "pki/san.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace sg::pki {
namespace {

bool isDnsName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::string rest = s.rfind("*.", 0) == 0 ? s.substr(2) : s;
  if (rest.empty() || rest.front() == '.' || rest.back() == '.' || rest.front() == '-') {
    return false;
  }
  return std::all_of(rest.begin(), rest.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.'; });
}

}  // namespace

Result<std::string> sanEntry(const std::string& san) {
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, san.c_str(), buf) == 1) {
    inet_ntop(AF_INET, buf, text, sizeof(text));
    return "IP:" + std::string(text);
  }
  if (inet_pton(AF_INET6, san.c_str(), buf) == 1) {
    inet_ntop(AF_INET6, buf, text, sizeof(text));
    return "IP:" + std::string(text);
  }
  if (isDnsName(san)) {
    std::string lower = san;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return "DNS:" + lower;
  }
  return Error(Errc::kInvalidArgument,
               "subject alternative name '" + san + "' is neither an IP address nor a DNS name");
}

Result<std::string> sanExtensionValue(const std::vector<std::string>& sans) {
  std::vector<std::string> entries;
  for (const auto& san : sans) {
    auto entry = sanEntry(san);
    if (!entry) return entry.error();
    if (std::find(entries.begin(), entries.end(), *entry) == entries.end()) {
      entries.push_back(*entry);
    }
  }
  std::string out;
  for (const auto& e : entries) out += (out.empty() ? "" : ",") + e;
  return out;
}

}  // namespace sg::pki
