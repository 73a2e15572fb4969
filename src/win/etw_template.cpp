#include "win/etw_template.h"

namespace sg::win {
namespace {

bool isLengthType(InType t) { return t == InType::kUInt32 || t == InType::kUInt16; }

bool knownType(InType t) {
  switch (t) {
    case InType::kUInt8:
    case InType::kUInt16:
    case InType::kInt32:
    case InType::kUInt32:
    case InType::kInt64:
    case InType::kUInt64:
    case InType::kBoolean:
    case InType::kBinary:
    case InType::kGuid:
    case InType::kPointer:
    case InType::kFiletime:
    case InType::kHexInt32:
    case InType::kHexInt64:
      return true;
  }
  return false;
}

// Fields of the connection templates (manifest: TcpAccpetListenerRouteLookupFailureArgs).
std::vector<TemplateField> connectionFields(bool with_sequence) {
  std::vector<TemplateField> f = {
      {"LocalAddressLength", InType::kUInt32},
      {"LocalAddress", InType::kBinary, 0},
      {"RemoteAddressLength", InType::kUInt32},
      {"RemoteAddress", InType::kBinary, 2},
      {"Status", InType::kUInt32},
      {"ProcessId", InType::kUInt32},
      {"Compartment", InType::kUInt32},
      {"Tcb", InType::kPointer},
  };
  if (with_sequence) f.push_back({"ProcessSequenceNumber", InType::kUInt64});
  return f;
}

std::vector<TemplateField> rateLimitFields() {
  return {
      {"SynAttacksDetected", InType::kUInt32},
      {"ReassemblyLimitViolations", InType::kUInt32},
      {"ConnectionRateLimitBacklog", InType::kUInt32},
      {"ConnectionRateLimitViolations", InType::kUInt32},
      {"LandAttackSegmentsDropped", InType::kUInt32},
      {"ConnectionRateLimitDepth", InType::kUInt32},
  };
}

}  // namespace

bool sameLayout(const EventTemplate& a, const EventTemplate& b) { return a.fields == b.fields; }

std::string layoutProblem(const EventTemplate& t) {
  if (t.fields.size() > kMaxTemplateFields) {
    return std::to_string(t.fields.size()) + " fields (at most " +
           std::to_string(kMaxTemplateFields) + " are walked)";
  }
  for (size_t i = 0; i < t.fields.size(); i++) {
    const TemplateField& f = t.fields[i];
    if (!knownType(f.type)) {
      return "field " + f.name + " has an unsupported type " +
             std::to_string(static_cast<unsigned>(f.type));
    }
    if (f.type == InType::kBinary && f.length_field >= 0 &&
        (static_cast<size_t>(f.length_field) >= i ||
         !isLengthType(t.fields[static_cast<size_t>(f.length_field)].type))) {
      return "field " + f.name + " takes its length from a field that is not an earlier integer";
    }
    if (f.type == InType::kBinary && f.length_field < 0 && f.fixed_length == 0) {
      return "field " + f.name + " has no length";
    }
  }
  return {};
}

std::vector<EventTemplate> builtinTcpipTemplates() {
  return {
      {1017, 0, "TcpAcceptListenerComplete", connectionFields(false)},
      {1017, 1, "TcpAcceptListenerComplete", connectionFields(true)},
      {1016, 0, "TcpAcceptListenerRejected", connectionFields(false)},
      {1016, 1, "TcpAcceptListenerRejected", connectionFields(true)},
      {1055, 0, "TcpGlobalSynAttackEntry", rateLimitFields()},
      {1063, 0, "TcpGlobalSynAttackExit", rateLimitFields()},
  };
}

}  // namespace sg::win
