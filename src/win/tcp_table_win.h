// The TCP table's buffers from GetExtendedTcpTable (TCP_TABLE_OWNER_PID_ALL,
// IPv4 and IPv6), parsed by half_open.h, and the host's own addresses
// (GetAdaptersAddresses), which the allowlist always holds. Windows only.
#pragma once

#include <vector>

#include "core/address.h"
#include "core/result.h"
#include "win/half_open.h"

namespace sg::win {

// Every row of both tables; the parse of each buffer is half_open.h's.
Result<std::vector<TcpRow>> readTcpTables();

// The unicast addresses of every interface that is up, IPv4 and IPv6, no
// duplicates (loopback included; the allowlist has it anyway).
Result<std::vector<Address>> readHostAddresses();

}  // namespace sg::win
