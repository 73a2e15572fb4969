#include "proto/field_reader.h"

#include <algorithm>

namespace sg::proto {

using nlohmann::json;

Result<FieldReader> FieldReader::of(const json& j, std::string where) {
  if (!j.is_object()) return makeError(Errc::kInvalidArgument, where + ": not a JSON object");
  return FieldReader(j, std::move(where));
}

Error FieldReader::bad(const char* name, const std::string& why) const {
  return makeError(Errc::kInvalidArgument, where_ + "." + name + ": " + why);
}

Result<const json*> FieldReader::field(const char* name) {
  auto it = j_->find(name);
  if (it == j_->end()) return bad(name, "missing");
  read_.emplace_back(name);
  return &*it;
}

Result<uint64_t> FieldReader::u64(const char* name, uint64_t max) {
  auto f = field(name);
  if (!f) return f.error();
  if (!(*f)->is_number_unsigned()) return bad(name, "not an unsigned integer");
  const auto v = (*f)->get<uint64_t>();
  if (v > max) return bad(name, std::to_string(v) + " is above " + std::to_string(max));
  return v;
}

Result<std::optional<uint64_t>> FieldReader::u64OrNull(const char* name, uint64_t max) {
  auto f = field(name);
  if (!f) return f.error();
  if ((*f)->is_null()) return std::optional<uint64_t>{};
  read_.pop_back();  // u64 reads it again
  auto v = u64(name, max);
  if (!v) return v.error();
  return std::optional<uint64_t>{*v};
}

Result<bool> FieldReader::boolean(const char* name) {
  auto f = field(name);
  if (!f) return f.error();
  if (!(*f)->is_boolean()) return bad(name, "not a boolean");
  return (*f)->get<bool>();
}

Result<std::string> FieldReader::str(const char* name, size_t max_bytes) {
  auto f = field(name);
  if (!f) return f.error();
  if (!(*f)->is_string()) return bad(name, "not a string");
  const auto& s = (*f)->get_ref<const std::string&>();
  if (s.size() > max_bytes) return bad(name, "longer than " + std::to_string(max_bytes) + " bytes");
  return s;
}

Result<Prefix> FieldReader::prefix(const char* name) {
  auto f = field(name);
  if (!f) return f.error();
  return parsePrefixText(**f, where_ + "." + name);
}

Result<const json*> FieldReader::array(const char* name, size_t max_items) {
  auto f = field(name);
  if (!f) return f.error();
  if (!(*f)->is_array()) return bad(name, "not an array");
  if ((*f)->size() > max_items)
    return bad(name, "more than " + std::to_string(max_items) + " items");
  return *f;
}

Result<const json*> FieldReader::object(const char* name, size_t max_items) {
  auto f = field(name);
  if (!f) return f.error();
  if (!(*f)->is_object()) return bad(name, "not an object");
  if ((*f)->size() > max_items)
    return bad(name, "more than " + std::to_string(max_items) + " fields");
  return *f;
}

Result<void> FieldReader::done() const {
  for (const auto& [key, value] : j_->items()) {
    if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
      return makeError(Errc::kInvalidArgument,
                       where_ + ": unknown field '" + key.substr(0, 64) + "'");
    }
  }
  return Ok{};
}

std::string prefixText(const Prefix& p) { return p.bits == 128 ? p.addr.str() : p.str(); }

Result<Prefix> parsePrefixText(const json& j, const std::string& where) {
  if (!j.is_string()) return makeError(Errc::kInvalidArgument, where + ": not a string");
  const auto& s = j.get_ref<const std::string&>();
  if (s.size() > 64) return makeError(Errc::kInvalidArgument, where + ": not an address or prefix");
  auto p = parsePrefix(s);
  if (!p) return p.error().context(where);
  return *p;
}

Result<void> checkDepth(std::string_view bytes, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : bytes) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return makeError(Errc::kInvalidArgument,
                         "nested deeper than " + std::to_string(max_depth) + " levels");
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Ok{};
}

}  // namespace sg::proto
