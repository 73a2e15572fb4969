// The TCP table's buffers from GetExtendedTcpTable (TCP_TABLE_OWNER_PID_ALL,
// IPv4 and IPv6), parsed by half_open.h. Windows only.
#pragma once

#include <vector>

#include "core/result.h"
#include "win/half_open.h"

namespace sg::win {

// Every row of both tables; the parse of each buffer is half_open.h's.
Result<std::vector<TcpRow>> readTcpTables();

}  // namespace sg::win
