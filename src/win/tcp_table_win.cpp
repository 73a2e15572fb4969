#include "win/tcp_table_win.h"

// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include "win/win_compat.h"
#include <iphlpapi.h>
// clang-format on

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace sg::win {
namespace {

// The parser reads the documented layouts byte by byte: check that the
// headers agree with it.
static_assert(sizeof(MIB_TCPROW_OWNER_PID) == kTcpRow4Size);
static_assert(sizeof(MIB_TCP6ROW_OWNER_PID) == kTcpRow6Size);
static_assert(offsetof(MIB_TCPTABLE_OWNER_PID, table) == 4);
static_assert(offsetof(MIB_TCP6TABLE_OWNER_PID, table) == 4);
static_assert(MIB_TCP_STATE_SYN_RCVD == kMibTcpStateSynRcvd);

Result<std::vector<uint8_t>> table(ULONG family) {
  std::vector<uint8_t> buf(16 * 1024);
  for (int attempt = 0; attempt < 4; attempt++) {  // the table may grow between calls
    DWORD size = static_cast<DWORD>(buf.size());
    const DWORD rc =
        GetExtendedTcpTable(buf.data(), &size, FALSE, family, TCP_TABLE_OWNER_PID_ALL, 0);
    if (rc == NO_ERROR) {
      buf.resize(size);
      return buf;
    }
    if (rc != ERROR_INSUFFICIENT_BUFFER) {
      return Error(Errc::kIo, "GetExtendedTcpTable: error " + std::to_string(rc));
    }
    buf.resize(size + size / 4);
  }
  return Error(Errc::kIo, "GetExtendedTcpTable: the table kept growing");
}

Address fromSockaddr(const SOCKADDR* sa) {
  Address a;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const SOCKADDR_IN*>(sa);
    a.raw.b[10] = 0xff;
    a.raw.b[11] = 0xff;
    std::memcpy(&a.raw.b[12], &in->sin_addr, 4);
  } else {
    const auto* in6 = reinterpret_cast<const SOCKADDR_IN6*>(sa);
    std::memcpy(a.raw.b, &in6->sin6_addr, 16);
  }
  return a;
}

}  // namespace

Result<std::vector<Address>> readHostAddresses() {
  std::vector<uint8_t> buf(16 * 1024);
  constexpr ULONG kFlags =
      GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER;
  ULONG rc = ERROR_BUFFER_OVERFLOW;
  for (int attempt = 0; attempt < 4 && rc == ERROR_BUFFER_OVERFLOW; attempt++) {
    ULONG size = static_cast<ULONG>(buf.size());
    rc = GetAdaptersAddresses(AF_UNSPEC, kFlags, nullptr,
                              reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buf.data()), &size);
    if (rc == ERROR_BUFFER_OVERFLOW) buf.resize(size + size / 4);
  }
  std::vector<Address> out;
  if (rc == ERROR_NO_DATA) return out;
  if (rc != NO_ERROR) return Error(Errc::kIo, "GetAdaptersAddresses: error " + std::to_string(rc));
  for (auto* ad = reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buf.data()); ad != nullptr;
       ad = ad->Next) {
    if (ad->OperStatus != IfOperStatusUp) continue;
    for (auto* u = ad->FirstUnicastAddress; u != nullptr; u = u->Next) {
      const SOCKADDR* sa = u->Address.lpSockaddr;
      if (sa == nullptr || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) continue;
      const Address a = fromSockaddr(sa);
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  }
  return out;
}

Result<std::vector<TcpRow>> readTcpTables() {
  auto v4 = table(AF_INET);
  if (!v4.ok()) return v4.error();
  auto rows = parseTcpTable4(*v4);
  if (!rows.ok()) return rows.error();
  auto v6 = table(AF_INET6);
  if (v6.ok()) {
    auto rows6 = parseTcpTable6(*v6);
    if (rows6.ok()) rows->insert(rows->end(), rows6->begin(), rows6->end());
  }
  return rows;
}

}  // namespace sg::win
