// Durations on the command line and in config files: "250ms", "5s", "10m",
// "1h", and sums such as "1m30s". A bare number is an error (say the unit).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sg {

using Nanos = std::chrono::nanoseconds;

Result<Nanos> parseDuration(std::string_view text);
// The shortest exact spelling: "5s", "250ms", "1m30s", "0s".
std::string formatDuration(Nanos d);

}  // namespace sg
