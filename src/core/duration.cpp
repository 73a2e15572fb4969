#include "core/duration.h"

#include <cstdint>
#include <limits>

namespace sg {
namespace {

constexpr const char* kUnitHint = "(use ms, s, m or h)";
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1000 * kMs;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
// Digits accepted in one number (whole + fraction): enough for any value that
// fits, few enough that the arithmetic below cannot overflow 128 bits.
constexpr size_t kMaxDigits = 20;

using Wide = __int128;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Error bad(std::string_view text, const std::string& why) {
  return makeError(Errc::kInvalidArgument, "invalid duration '" + std::string(text) + "': " + why);
}

// Nanoseconds per unit, or 0 for an unknown unit.
int64_t unitNanos(std::string_view unit) {
  if (unit == "ms") return kMs;
  if (unit == "s") return kSec;
  if (unit == "m") return kMin;
  if (unit == "h") return kHour;
  return 0;
}

void appendPart(std::string& out, int64_t n, const char* unit) {
  if (n != 0) out += std::to_string(n) + unit;
}

}  // namespace

Result<Nanos> parseDuration(std::string_view text) {
  if (text.empty()) {
    return makeError(Errc::kInvalidArgument, "empty duration (e.g. 5s, 250ms, 1m30s)");
  }
  if (text.front() == '-') return bad(text, "a duration cannot be negative");
  const Wide max = std::numeric_limits<int64_t>::max();
  Wide total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // Number: digits, optionally '.' and more digits.
    const size_t num_start = i;
    Wide whole = 0;
    Wide frac = 0;
    Wide frac_scale = 1;
    size_t digits = 0;
    while (i < text.size() && isDigit(text[i])) {
      if (++digits > kMaxDigits) return bad(text, "number too long");
      whole = whole * 10 + (text[i++] - '0');
    }
    if (digits == 0) {
      if (i < text.size() && text[i] == '.') return bad(text, "missing digits before '.'");
      return bad(text, "expected a number at '" + std::string(text.substr(i)) + "'");
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t frac_digits = 0;
      while (i < text.size() && isDigit(text[i])) {
        if (++digits > kMaxDigits) return bad(text, "number too long");
        frac = frac * 10 + (text[i++] - '0');
        frac_scale *= 10;
        ++frac_digits;
      }
      if (frac_digits == 0) return bad(text, "missing digits after '.'");
    }
    const std::string_view number = text.substr(num_start, i - num_start);
    // Unit: the letters that follow.
    const size_t unit_start = i;
    while (i < text.size() && !isDigit(text[i]) && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (text.size() == number.size()) {
        return makeError(Errc::kInvalidArgument,
                         "missing unit in '" + std::string(text) + "' " + kUnitHint);
      }
      return bad(text, "missing unit after '" + std::string(number) + "' " + kUnitHint);
    }
    const int64_t per_unit = unitNanos(unit);
    if (per_unit == 0) {
      return bad(text, "unknown unit '" + std::string(unit) + "' " + kUnitHint);
    }
    // whole < 10^20 and per_unit < 2^42: the product fits in 128 bits.
    if (whole > max) return bad(text, "too long (at most about 292 years)");
    const Wide frac_ns = frac * per_unit;
    if (frac_ns % frac_scale != 0) {
      return bad(text, "'" + std::string(number) + std::string(unit) +
                           "' is not a whole number of nanoseconds");
    }
    total += whole * per_unit + frac_ns / frac_scale;
    if (total > max) return bad(text, "too long (at most about 292 years)");
  }
  return Nanos(static_cast<int64_t>(total));
}

std::string formatDuration(Nanos d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  // Negative durations are not parsed back, but are shown plainly; the
  // magnitude of INT64_MIN does not fit, so work on it one hour at a time.
  if (ns < 0) {
    out = "-";
    int64_t hours = -(ns / kHour);
    ns = -(ns % kHour);
    appendPart(out, hours, "h");
  } else {
    appendPart(out, ns / kHour, "h");
    ns %= kHour;
  }
  appendPart(out, ns / kMin, "m");
  ns %= kMin;
  appendPart(out, ns / kSec, "s");
  ns %= kSec;
  if (ns % kMs == 0) {
    appendPart(out, ns / kMs, "ms");
  } else {
    // Below a millisecond: milliseconds with the exact decimal fraction.
    std::string frac = std::to_string(1'000'000 + ns % kMs).substr(1);
    while (frac.back() == '0') frac.pop_back();
    out += std::to_string(ns / kMs) + "." + frac + "ms";
  }
  return out;
}

}  // namespace sg
