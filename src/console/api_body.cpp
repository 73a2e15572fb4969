#include "console/api_body.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/config.h"
#include "proto/field_reader.h"
#include "proto/limits.h"

namespace sg::console::api {

using nlohmann::json;

namespace {

constexpr const char* kWhere = "body";

Error bad(const std::string& what) { return makeError(Errc::kInvalidArgument, what); }

// The body as one JSON object: nesting bounded before parsing, no key twice
// in one object (which value would win is the parser's choice otherwise).
// An empty body is {} (the actions whose fields are all optional).
Result<json> parseObject(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
  if (auto depth = proto::checkDepth(body, kMaxBodyDepth); !depth) {
    return bad(std::string(kWhere) + ": " + depth.error().message());
  }
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.empty() && duplicate.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  json j = json::parse(body, callback, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(std::string(kWhere) + ": not valid JSON");
  if (!duplicate.empty()) {
    return bad(std::string(kWhere) + ": field '" + duplicate.substr(0, 64) + "' given twice");
  }
  if (!j.is_object()) return bad(std::string(kWhere) + ": not a JSON object");
  return j;
}

// An optional string field: "" when absent.
Result<std::string> optionalStr(proto::FieldReader& r, const json& j, const char* name,
                                size_t max_bytes) {
  if (!j.contains(name)) return std::string();
  return r.str(name, max_bytes);
}

// An optional duration field ("10m"), positive.
Result<std::optional<Nanos>> optionalDuration(proto::FieldReader& r, const json& j,
                                              const char* name) {
  if (!j.contains(name)) return std::optional<Nanos>{};
  SG_READ(text, r.str(name, 32));
  auto d = parseDuration(*text);
  if (!d) return bad(std::string(kWhere) + "." + name + ": " + d.error().message());
  if (d->count() <= 0) return bad(std::string(kWhere) + "." + name + ": must be positive");
  if (*d % std::chrono::milliseconds(1) != Nanos(0)) {
    return bad(std::string(kWhere) + "." + name + ": not a whole number of milliseconds");
  }
  return std::optional<Nanos>{*d};
}

// {"key": "value", ...} of at most max_items string values.
Result<Labels> stringMap(proto::FieldReader& r, const char* name, size_t max_items) {
  SG_READ(obj, r.object(name, max_items));
  Labels out;
  for (const auto& [k, v] : (*obj)->items()) {
    if (!v.is_string()) {
      return bad(std::string(kWhere) + "." + name + "." + k.substr(0, 64) + ": not a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

bool tokenNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '@';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<BlockBody> parseBlockBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  BlockBody out;
  SG_READ(source, r->prefix("source"));
  out.source = *source;
  SG_READ(ttl, optionalDuration(*r, *j, "ttl"));
  out.ttl = *ttl;
  SG_READ(reason, optionalStr(*r, *j, "reason", kMaxReasonBytes));
  out.reason = *reason;
  SG_TRY(r->done());
  return out;
}

Result<std::string> parseIsolateBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  SG_READ(reason, optionalStr(*r, *j, "reason", kMaxReasonBytes));
  SG_TRY(r->done());
  return *reason;
}

Result<std::string> parseEscalateBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  SG_READ(note, optionalStr(*r, *j, "note", kMaxNoteBytes));
  SG_TRY(r->done());
  return *note;
}

Result<void> parseEmptyBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  return r->done();
}

Result<Policy> parsePolicyBody(const std::string& name, std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  Policy p;
  p.name = name;
  p.profile.name = name;
  SG_READ(selector, stringMap(*r, "selector", 4));
  p.selector = std::move(*selector);
  if (j->contains("flood_threshold")) {
    SG_READ(t, r->u64("flood_threshold", proto::kMaxThreshold));
    if (*t == 0) return bad(std::string(kWhere) + ".flood_threshold: must be at least 1");
    p.profile.threshold = static_cast<uint32_t>(*t);
  }
  SG_READ(window, optionalDuration(*r, *j, "flood_window"));
  if (*window) {
    p.profile.window_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(**window).count());
  }
  SG_READ(block, optionalDuration(*r, *j, "block_duration"));
  if (*block) {
    p.profile.block_duration_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(**block).count());
  }
  if (j->contains("enforcer")) {
    SG_READ(text, r->str("enforcer", 16));
    auto kind = parseEnforcer(*text);
    if (!kind) return bad(std::string(kWhere) + ".enforcer: " + kind.error().message());
    p.profile.enforcer = *kind;
  }
  SG_TRY(r->done());
  if (auto valid = validatePolicy(p); !valid) return valid.error().context(kWhere);
  return p;
}

Result<TokenBody> parseTokenBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  TokenBody out;
  SG_READ(name, r->str("name", kMaxTokenNameBytes));
  if (name->empty()) return bad(std::string(kWhere) + ".name: empty");
  for (char c : *name) {
    if (!tokenNameChar(c)) {
      return bad(std::string(kWhere) + ".name: only letters, digits and . _ - @");
    }
  }
  out.name = *name;
  SG_READ(role_text, r->str("role", 16));
  auto role = parseRole(*role_text);
  if (!role) return bad(std::string(kWhere) + ".role: " + role.error().message());
  out.role = *role;
  SG_TRY(r->done());
  return out;
}

Result<EnrollmentTokenBody> parseEnrollmentTokenBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  EnrollmentTokenBody out;
  SG_READ(labels, stringMap(*r, "labels", 3));
  if (auto valid = validateLabels(*labels); !valid) {
    return valid.error().context(std::string(kWhere) + ".labels");
  }
  out.labels = std::move(*labels);
  SG_READ(ttl, optionalDuration(*r, *j, "ttl"));
  out.ttl = *ttl;
  SG_TRY(r->done());
  return out;
}

Result<std::string> parseSessionBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  SG_READ(token, r->str("token", 256));
  SG_TRY(r->done());
  return *token;
}

Result<std::string> parseAcknowledgeBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  SG_READ(r, proto::FieldReader::of(*j, kWhere));
  SG_READ(note, optionalStr(*r, *j, "note", kMaxNoteBytes));
  SG_TRY(r->done());
  return *note;
}

Result<PolicyPreviewBody> parsePolicyPreviewBody(std::string_view body) {
  SG_READ(j, parseObject(body));
  if (!j->contains("name") || !(*j)["name"].is_string()) {
    return bad(std::string(kWhere) + ".name: missing or not a string");
  }
  PolicyPreviewBody out;
  out.name = (*j)["name"].get<std::string>();
  if (out.name.empty() || out.name.size() > proto::kMaxPolicyNameBytes) {
    return bad(std::string(kWhere) + ".name: empty or over 64 bytes");
  }
  j->erase("name");
  if (j->contains("delete")) {
    const json& d = (*j)["delete"];
    if (!d.is_boolean() || !d.get<bool>())
      return bad(std::string(kWhere) + ".delete: must be true");
    if (j->size() != 1) return bad(std::string(kWhere) + ": delete takes no other field");
    out.remove = true;
    return out;
  }
  SG_READ(policy, parsePolicyBody(out.name, j->dump()));
  out.policy = std::move(*policy);
  return out;
}

Result<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    int hi = i + 2 < text.size() ? hexValue(text[i + 1]) : -1;
    int lo = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      return bad("bad percent-encoding in '" + std::string(text.substr(0, 64)) + "'");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<std::map<std::string, std::string>> parseQuery(std::string_view query,
                                                      std::initializer_list<const char*> allowed) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(start, amp - start);
    start = amp + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    SG_READ(key, percentDecode(part.substr(0, eq)));
    SG_READ(value, percentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1)));
    bool known = false;
    for (const char* a : allowed) known = known || *key == a;
    if (!known) return bad("unknown query parameter '" + key->substr(0, 64) + "'");
    if (!out.emplace(*key, *value).second) {
      return bad("query parameter '" + *key + "' given twice");
    }
  }
  return out;
}

Result<uint64_t> parseUint(std::string_view text, const std::string& what, uint64_t max) {
  uint64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v > max) {
    return bad(what + ": not an integer 0.." + std::to_string(max));
  }
  return v;
}

Result<bool> parseBool(std::string_view text, const std::string& what) {
  if (text == "true") return true;
  if (text == "false") return false;
  return bad(what + ": not true or false");
}

}  // namespace sg::console::api
