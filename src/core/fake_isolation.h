// FakeIsolation: an IsolationPort that records the calls, validates like
// the real one, and can be told to fail (for tests of the agent's wiring).
#pragma once

#include <optional>

#include "core/isolation.h"

namespace sg {

class FakeIsolation final : public IsolationPort {
 public:
  Result<void> isolate(const IsolationSpec& spec) override {
    SG_TRY(validateIsolationSpec(spec));
    if (fail_next) return takeFailure();
    spec_ = spec;
    ++isolate_calls;
    return Ok{};
  }
  Result<void> release() override {
    if (fail_next) return takeFailure();
    spec_.reset();
    ++release_calls;
    return Ok{};
  }
  bool isolated() const override { return spec_.has_value(); }
  IsolationSpec spec() const override { return spec_.value_or(IsolationSpec{}); }

  std::optional<Error> fail_next;  // the next isolate()/release() returns it
  int isolate_calls = 0;
  int release_calls = 0;

 private:
  Error takeFailure() {
    Error e = *fail_next;
    fail_next.reset();
    return e;
  }
  std::optional<IsolationSpec> spec_;
};

}  // namespace sg
