// Result<T>: a value or an Error (code + context). g++ 12 has no
// std::expected; this is the small subset the project needs.
//
// Error policy (see docs/architecture.md): functions that can fail on untrusted
// input or on the environment return Result; broken invariants abort.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace sg {

enum class Errc {
  kInvalidArgument,    // bad flag, config value, API body, packet, ...
  kNotFound,           // interface, file, block that does not exist
  kAlreadyExists,      // another agent, another XDP program
  kPermissionDenied,   // missing capability
  kUnavailable,        // agent not running, kernel feature missing
  kResourceExhausted,  // map full
  kIo,                 // syscall or library failure
  kUnauthenticated,    // missing, malformed, unknown or revoked credentials (HTTP 401)
};

const char* errcName(Errc code);

class [[nodiscard]] Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // Prefixes context: Error(kIo, "open: ENOENT").context("reading x.toml")
  // reads "reading x.toml: open: ENOENT".
  Error context(const std::string& what) const { return Error(code_, what + ": " + message_); }

 private:
  Errc code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) abortBroken("Result::error() on a value");
    return std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) abortBroken(std::get<1>(v_).message().c_str());
  }
  [[noreturn]] static void abortBroken(const char* what) {
    std::fprintf(stderr, "syn-guard: broken invariant: value of a failed Result: %s\n", what);
    std::abort();
  }
  std::variant<T, Error> v_;
};

struct Ok {};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (!failed_) {
      std::fprintf(stderr, "syn-guard: broken invariant: Result<void>::error() on success\n");
      std::abort();
    }
    return error_;
  }

 private:
  Error error_{Errc::kIo, ""};
  bool failed_ = false;
};

inline Error makeError(Errc code, std::string message) { return Error(code, std::move(message)); }

// Propagate a failed Result from the current function.
#define SG_TRY(expr)                               \
  do {                                             \
    auto sg_try_r_ = (expr);                       \
    if (!sg_try_r_.ok()) return sg_try_r_.error(); \
  } while (0)

// `auto var = (expr);` for a Result, returning its error from the current
// function when it failed; then *var is the value.
#define SG_READ(var, expr) \
  auto var = (expr);       \
  if (!var) return var.error()

}  // namespace sg
