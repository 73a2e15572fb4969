// JSON of the parts that several messages share (events, blocks, isolation,
// policy, delta ops, nack items). Internal to the codec; tests use it too.
#pragma once

#include <nlohmann/json.hpp>

#include "proto/field_reader.h"
#include "proto/messages.h"

namespace sg::proto {

// `rate` travels from version 3 on.
nlohmann::json toJson(const Event& e, uint32_t version = kProtocolVersion);
nlohmann::json toJson(const BlockEntry& b);
nlohmann::json toJson(const Isolation& i);
nlohmann::json toJson(const PolicyParams& p);
nlohmann::json toJson(const DeltaOp& op);
nlohmann::json toJson(const NackItem& n);
nlohmann::json prefixesJson(const std::vector<Prefix>& ps);

Result<Event> parseEvent(const nlohmann::json& j, const std::string& where,
                         uint32_t version = kProtocolVersion);
Result<BlockEntry> parseBlockEntry(const nlohmann::json& j, const std::string& where);
Result<Isolation> parseIsolation(const nlohmann::json& j, const std::string& where);
Result<PolicyParams> parsePolicyParams(const nlohmann::json& j, const std::string& where);
Result<DeltaOp> parseDeltaOp(const nlohmann::json& j, const std::string& where);
Result<NackItem> parseNackItem(const nlohmann::json& j, const std::string& where);
Result<std::vector<Prefix>> parsePrefixes(const nlohmann::json& arr, const std::string& where);

// Parses each element of `arr` (already bounded) with `parse`.
template <typename T, typename F>
Result<std::vector<T>> parseList(const nlohmann::json& arr, const std::string& where, F parse) {
  std::vector<T> out;
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    auto item = parse(arr[i], where + "[" + std::to_string(i) + "]");
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  return out;
}

}  // namespace sg::proto
