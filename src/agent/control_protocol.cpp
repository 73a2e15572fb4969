#include "agent/control_protocol.h"

#include <nlohmann/json.hpp>

namespace sg::agent {

namespace {

const char* cmdName(ControlCmd c) {
  switch (c) {
    case ControlCmd::kStatus:
      return "status";
    case ControlCmd::kBlocks:
      return "blocks";
    case ControlCmd::kBlock:
      return "block";
    case ControlCmd::kUnblock:
      return "unblock";
    case ControlCmd::kReload:
      return "reload";
  }
  return "status";
}

}  // namespace

Result<ControlRequest> parseControlRequest(std::string_view line) {
  if (line.size() > kMaxControlLine) {
    return Error(Errc::kInvalidArgument, "request longer than 64 KiB");
  }
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error(Errc::kInvalidArgument, "request is not valid JSON");
  if (!j.is_object()) return Error(Errc::kInvalidArgument, "request is not a JSON object");
  auto cmd_it = j.find("cmd");
  if (cmd_it == j.end() || !cmd_it->is_string()) {
    return Error(Errc::kInvalidArgument, "request has no string \"cmd\"");
  }
  const std::string cmd = cmd_it->get<std::string>();
  ControlRequest req;
  if (cmd == "status") {
    req.cmd = ControlCmd::kStatus;
  } else if (cmd == "blocks") {
    req.cmd = ControlCmd::kBlocks;
  } else if (cmd == "reload") {
    req.cmd = ControlCmd::kReload;
  } else if (cmd == "block" || cmd == "unblock") {
    req.cmd = cmd == "block" ? ControlCmd::kBlock : ControlCmd::kUnblock;
    auto src_it = j.find("src");
    if (src_it == j.end() || !src_it->is_string()) {
      return Error(Errc::kInvalidArgument, cmd + " needs a string \"src\"");
    }
    const std::string src = src_it->get<std::string>();
    if (src.find('/') != std::string::npos) {
      auto p = parsePrefix(src);
      if (!p) return p.error().context("src");
      req.prefix = *p;
      req.src = p->addr;
    } else {
      auto addr = parseAddress(src);
      if (!addr) return addr.error().context("src");
      req.src = *addr;
    }
    if (req.cmd == ControlCmd::kBlock) {
      auto for_it = j.find("for_ms");
      if (for_it != j.end()) {
        if (!for_it->is_number_unsigned() || for_it->get<uint64_t>() == 0 ||
            for_it->get<uint64_t>() > 7ull * 24 * 3600 * 1000) {
          return Error(Errc::kInvalidArgument, "for_ms must be a whole number of ms, 1..7 days");
        }
        req.for_ms = for_it->get<uint64_t>();
      }
      auto perm_it = j.find("permanent");
      if (perm_it != j.end()) {
        if (!perm_it->is_boolean())
          return Error(Errc::kInvalidArgument, "permanent must be true or false");
        req.permanent = perm_it->get<bool>();
        if (req.permanent && req.for_ms) {
          return Error(Errc::kInvalidArgument, "a permanent block takes no for_ms");
        }
      }
    }
  } else {
    return Error(Errc::kInvalidArgument,
                 "unknown cmd '" + cmd + "' (status, blocks, block, unblock, reload)");
  }
  return req;
}

std::string encodeControlRequest(const ControlRequest& r) {
  nlohmann::json j;
  j["cmd"] = cmdName(r.cmd);
  if (r.cmd == ControlCmd::kBlock || r.cmd == ControlCmd::kUnblock)
    j["src"] = r.prefix ? r.prefix->str() : r.src.str();
  if (r.cmd == ControlCmd::kBlock && r.for_ms) j["for_ms"] = r.for_ms;
  if (r.cmd == ControlCmd::kBlock && r.permanent) j["permanent"] = true;
  return j.dump();
}

}  // namespace sg::agent
