// ctl's tables: one row per item of an API list, columns aligned. Cells are
// made safe for a terminal (control characters shown as '?': names and
// reasons come from agents and other operators).
#include <algorithm>
#include <sstream>
#include <vector>

#include "cli/ctl.h"

namespace sg::cli::ctl {

namespace {

using nlohmann::json;
using Row = std::vector<std::string>;

std::string safe(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return s;
}

// A field as text: strings as they are ("" as "-"), null as `null_text`,
// booleans as yes/no, floats with one decimal, other numbers as JSON writes them.
std::string text(const json& item, const char* field, const char* null_text = "-") {
  auto it = item.find(field);
  if (it == item.end() || it->is_null()) return null_text;
  if (it->is_string())
    return it->get_ref<const std::string&>().empty() ? "-" : safe(it->get<std::string>());
  if (it->is_boolean()) return it->get<bool>() ? "yes" : "no";
  if (it->is_number_float()) {
    std::ostringstream ss;
    ss.precision(1);
    ss << std::fixed << it->get<double>();
    return ss.str();
  }
  return safe(it->dump());
}

// "2026-11-30T00:53:20.123Z" -> "2026-11-30T00:53:20Z" (a table needs no ms).
std::string when(const json& item, const char* field, const char* null_text = "-") {
  std::string t = text(item, field, null_text);
  if (t.size() == 24 && t[19] == '.' && t.back() == 'Z') t = t.substr(0, 19) + "Z";
  return t;
}

// An array joined by ',', at most `max` shown ("a,b,c,+2").
std::string joined(const json& item, const char* field, size_t max) {
  auto it = item.find(field);
  if (it == item.end() || !it->is_array() || it->empty()) return "-";
  std::string out;
  size_t n = 0;
  for (const auto& v : *it) {
    if (n == max) {
      out += ",+" + std::to_string(it->size() - max);
      break;
    }
    if (n++ > 0) out += ",";
    out += v.is_string() ? safe(v.get<std::string>()) : safe(v.dump());
  }
  return out;
}

// {"dept":"payments","org":"acme"} -> "dept=payments,org=acme"
std::string pairs(const json& item, const char* field) {
  auto it = item.find(field);
  if (it == item.end() || !it->is_object() || it->empty()) return "-";
  std::string out;
  for (const auto& [k, v] : it->items()) {
    if (!out.empty()) out += ",";
    out += safe(k) + "=" + (v.is_string() ? safe(v.get<std::string>()) : safe(v.dump()));
  }
  return out;
}

std::string render(const Row& header, const std::vector<Row>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  auto line = [&](const Row& r) {
    std::string l;
    for (size_t i = 0; i < r.size(); ++i) {
      l += r[i];
      if (i + 1 < r.size()) l += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

Row endpointRow(const json& e) {
  return {text(e, "name"),
          e.value("revoked", false) ? "revoked" : text(e, "online"),
          text(e, "isolated"),
          text(e, "policy"),
          text(e, "applied_version") + "/" + text(e, "policy_version") +
              (e.value("lagging", false) ? " (lagging)" : ""),
          text(e, "active_blocks"),
          when(e, "last_heartbeat", "never"),
          pairs(e, "labels")};
}

Row floodRow(const json& f, bool all) {
  Row r{text(f, "id"),        text(f, "source"),         text(f, "state"),
        text(f, "severity"),  joined(f, "endpoints", 3), joined(f, "ports", 5),
        text(f, "peak_rate"), when(f, "started_at"),     when(f, "last_seen")};
  if (all) r.push_back(text(f, "active"));
  return r;
}

Row blockRow(const json& b) {
  return {text(b, "source"),   when(b, "expires_at", "never"),
          text(b, "acked"),    text(b, "pending"),
          text(b, "added_by"), text(b, "reason")};
}

Row incidentRow(const json& i) {
  return {text(i, "id"),         text(i, "flood_id"),       when(i, "created_at"),
          text(i, "created_by"), text(i, "webhook_status"), text(i, "note")};
}

Row policyRow(const json& p) {
  return {text(p, "name"),         pairs(p, "selector"),      text(p, "flood_threshold"),
          text(p, "flood_window"), text(p, "block_duration"), text(p, "enforcer")};
}

Row auditRow(const json& a) {
  return {text(a, "id"),     when(a, "at"),     text(a, "actor"),
          text(a, "action"), text(a, "target"), text(a, "details")};
}

// 0.0124 -> "1.2%".
std::string percent(const json& item, const char* field) {
  auto it = item.find(field);
  if (it == item.end() || !it->is_number()) return "-";
  std::ostringstream ss;
  ss.precision(1);
  ss << std::fixed << it->get<double>() * 100 << "%";
  return ss.str();
}

// [{"prefix":"198.51.100.0/24","share":0.31}] -> "198.51.100.0/24:31%", at most 3.
std::string topPrefixes(const json& item) {
  auto it = item.find("top_prefixes");
  if (it == item.end() || !it->is_array() || it->empty()) return "-";
  std::string out;
  size_t n = 0;
  for (const auto& p : *it) {
    if (n == 3) {
      out += ",+" + std::to_string(it->size() - 3);
      break;
    }
    if (n++ > 0) out += ",";
    out += text(p, "prefix") + ":" + percent(p, "share");
  }
  return out;
}

Row portFloodRow(const json& f, bool all) {
  Row r{text(f, "endpoint"),  text(f, "target"),           text(f, "rate"),
        text(f, "peak_rate"), text(f, "distinct_sources"), percent(f, "completion_ratio"),
        topPrefixes(f),       text(f, "response"),         text(f, "severity"),
        when(f, "started_at")};
  if (all) r.push_back(f.value("active", false) ? "yes" : "ended " + when(f, "ended_at"));
  return r;
}

}  // namespace

std::string formatPortFleet(const json& fleet) {
  if (!fleet.is_object() || fleet.value("targets", 0) == 0) return "";
  std::string out = "fleet: " + text(fleet, "severity") + ", " + joined(fleet, "endpoints", 8) +
                    " under port floods (" + text(fleet, "targets") + " targets) since " +
                    when(fleet, "since") + ", peak " + text(fleet, "peak_rate") + "/s\n";
  auto shared = fleet.find("shared_prefixes");
  if (shared != fleet.end() && shared->is_array()) {
    for (const auto& s : *shared) {
      out += "shared prefix " + text(s, "prefix") + " on " + joined(s, "endpoints", 8) + "\n";
    }
  }
  return out;
}

std::string formatTable(const std::string& kind, const json& items, bool all_floods) {
  if (!items.is_array() || items.empty()) return "no " + kind + "\n";
  Row header;
  std::vector<Row> rows;
  for (const auto& item : items) {
    if (!item.is_object()) continue;
    if (kind == "endpoints") {
      rows.push_back(endpointRow(item));
    } else if (kind == "floods") {
      rows.push_back(floodRow(item, all_floods));
    } else if (kind == "port-floods") {
      rows.push_back(portFloodRow(item, all_floods));
    } else if (kind == "blocks") {
      rows.push_back(blockRow(item));
    } else if (kind == "incidents") {
      rows.push_back(incidentRow(item));
    } else if (kind == "policies") {
      rows.push_back(policyRow(item));
    } else {
      rows.push_back(auditRow(item));
    }
  }
  if (kind == "endpoints") {
    header = {"NAME",   "ONLINE",         "ISOLATED", "POLICY", "APPLIED/DESIRED",
              "BLOCKS", "LAST-HEARTBEAT", "LABELS"};
  } else if (kind == "floods") {
    header = {"ID",    "SOURCE", "STATE",   "SEVERITY", "ENDPOINTS",
              "PORTS", "PEAK/S", "STARTED", "LAST-SEEN"};
    if (all_floods) header.emplace_back("ACTIVE");
  } else if (kind == "port-floods") {
    header = {"ENDPOINT",  "TARGET",       "RATE/S",   "PEAK/S",   "SOURCES",
              "COMPLETED", "TOP-PREFIXES", "RESPONSE", "SEVERITY", "SINCE"};
    if (all_floods) header.emplace_back("ACTIVE");
  } else if (kind == "blocks") {
    header = {"SOURCE", "EXPIRES", "ACKED", "PENDING", "ADDED-BY", "REASON"};
  } else if (kind == "incidents") {
    header = {"ID", "FLOOD", "CREATED", "BY", "WEBHOOK", "NOTE"};
  } else if (kind == "policies") {
    header = {"NAME", "SELECTOR", "THRESHOLD", "WINDOW", "BLOCK", "ENFORCER"};
  } else {
    header = {"ID", "AT", "ACTOR", "ACTION", "TARGET", "DETAILS"};
  }
  return render(header, rows);
}

std::string encodeSegment(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace sg::cli::ctl
