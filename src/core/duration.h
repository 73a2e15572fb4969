// Durations on the command line and in config files: "250ms", "5s", "10m",
// "1h", and sums such as "1m30s" (parts add up, in any order). A bare number
// is an error (say the unit). Units: ms, s, m, h (case-sensitive; no spaces).
// A part may be decimal ("1.5s", "0.5m") when the value is a whole number of
// nanoseconds; otherwise ("0.0000001ms") it is an error, never rounded.
// Negative durations and values past INT64_MAX ns (~292 years) are errors.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sg {

using Nanos = std::chrono::nanoseconds;

Result<Nanos> parseDuration(std::string_view text);
// The shortest exact spelling: "5s", "250ms", "1m30s", "0s", as whole h, m, s
// and ms parts ("1s500ms"); below a millisecond, decimal ms ("1.5ms").
// parseDuration(formatDuration(d)) == d for every d >= 0.
std::string formatDuration(Nanos d);

}  // namespace sg
