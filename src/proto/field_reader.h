// Reads the fields of one JSON object strictly: each field has one type and a
// bound, and done() fails on any field nobody read. Every error names the
// object and the field ("report.events[3].count: not an unsigned integer").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address.h"
#include "core/result.h"

namespace sg::proto {

class FieldReader {
 public:
  // `where` names the object in errors. Fails when `j` is not an object.
  static Result<FieldReader> of(const nlohmann::json& j, std::string where);

  Result<uint64_t> u64(const char* name, uint64_t max = UINT64_MAX);
  // A number, or null (returned as nullopt). The field must be present.
  Result<std::optional<uint64_t>> u64OrNull(const char* name, uint64_t max = UINT64_MAX);
  Result<bool> boolean(const char* name);
  Result<std::string> str(const char* name, size_t max_bytes);
  Result<Prefix> prefix(const char* name);
  // An array of at most max_items elements.
  Result<const nlohmann::json*> array(const char* name, size_t max_items);
  // An object of at most max_items fields.
  Result<const nlohmann::json*> object(const char* name, size_t max_items);
  // Every field of the object was read.
  Result<void> done() const;

  const std::string& where() const { return where_; }

 private:
  FieldReader(const nlohmann::json& j, std::string where) : j_(&j), where_(std::move(where)) {}
  Result<const nlohmann::json*> field(const char* name);
  Error bad(const char* name, const std::string& why) const;

  const nlohmann::json* j_;
  std::string where_;
  std::vector<std::string> read_;
};

// A source or peer on the wire: "192.0.2.7", "2001:db8::/64".
std::string prefixText(const Prefix& p);
Result<Prefix> parsePrefixText(const nlohmann::json& j, const std::string& where);

// Fails when `bytes` nest arrays/objects deeper than max_depth (checked
// before parsing, so no parser recursion or allocation follows).
Result<void> checkDepth(std::string_view bytes, size_t max_depth);

}  // namespace sg::proto
