#include <cstring>

#include "win/etw_tdh.h"

namespace sg::win {
namespace {

// A NUL-terminated UTF-16 string at `offset` (0: none), ASCII only kept.
Result<std::string> nameAt(const uint8_t* buf, size_t size, ULONG offset) {
  if (offset == 0) return std::string();
  std::string out;
  for (size_t at = offset;; at += 2) {
    if (at + 2 > size) return Error(Errc::kInvalidArgument, "TDH name runs past the buffer");
    const uint16_t c = static_cast<uint16_t>(buf[at] | buf[at + 1] << 8);
    if (c == 0) return out;
    out.push_back(c < 0x80 ? static_cast<char>(c) : '?');
  }
}

constexpr uint16_t kUnsupportedType = 0;  // TDH_INTYPE_NULL: layoutProblem() refuses it

// Wine exports the manifest functions as stubs that raise an exception when
// called (its tdh.dll implements neither): ntdll's wine_get_version tells.
bool underWine() {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

}  // namespace

Result<EventTemplate> templateFromTdh(const uint8_t* buf, size_t size) {
  const size_t head = offsetof(TRACE_EVENT_INFO, EventPropertyInfoArray);
  if (buf == nullptr || size < head)
    return Error(Errc::kInvalidArgument, "TRACE_EVENT_INFO too short");
  TRACE_EVENT_INFO info;
  std::memcpy(&info, buf, head);
  const size_t count = info.TopLevelPropertyCount;
  if (count > (size - head) / sizeof(EVENT_PROPERTY_INFO)) {
    return Error(Errc::kInvalidArgument, "TRACE_EVENT_INFO's properties run past the buffer");
  }
  EventTemplate t;
  t.id = info.EventDescriptor.Id;
  t.version = info.EventDescriptor.Version;
  auto task = nameAt(buf, size, info.TaskNameOffset);
  if (!task.ok()) return task.error();
  t.task = *task;
  for (size_t i = 0; i < count; i++) {
    EVENT_PROPERTY_INFO p;
    std::memcpy(&p, buf + head + i * sizeof(p), sizeof(p));
    auto name = nameAt(buf, size, p.NameOffset);
    if (!name.ok()) return name.error();
    TemplateField f;
    f.name = *name;
    const bool plain = (p.Flags & (PropertyStruct | PropertyParamCount)) == 0 && p.count <= 1;
    f.type = static_cast<InType>(plain ? p.nonStructType.InType : kUnsupportedType);
    if (f.type == InType::kBinary) {
      if (p.Flags & PropertyParamLength) {
        f.length_field = p.lengthPropertyIndex;
      } else {
        f.fixed_length = p.length;
      }
    }
    t.fields.push_back(std::move(f));
  }
  return t;
}

Result<std::vector<EventTemplate>> tdhProviderTemplates(const GUID& provider) {
  if (underWine()) return Error(Errc::kUnavailable, "Wine's tdh.dll has no manifest lookups");
  HMODULE tdh = LoadLibraryW(L"tdh.dll");
  if (tdh == nullptr) return Error(Errc::kUnavailable, "tdh.dll not found");
  auto enumerate = reinterpret_cast<compat::TdhEnumerateManifestProviderEventsFn>(
      reinterpret_cast<void*>(GetProcAddress(tdh, "TdhEnumerateManifestProviderEvents")));
  auto describe = reinterpret_cast<compat::TdhGetManifestEventInformationFn>(
      reinterpret_cast<void*>(GetProcAddress(tdh, "TdhGetManifestEventInformation")));
  if (enumerate == nullptr || describe == nullptr) {
    return Error(Errc::kUnavailable,
                 "tdh.dll has no manifest lookups (Windows 8.1 or later needed)");
  }
  GUID g = provider;
  ULONG size = 0;
  ULONG rc = enumerate(&g, nullptr, &size);
  if (rc != ERROR_INSUFFICIENT_BUFFER) {
    return Error(Errc::kUnavailable, "TdhEnumerateManifestProviderEvents: " + std::to_string(rc));
  }
  std::vector<uint8_t> list(size);
  auto* events = reinterpret_cast<compat::ProviderEventInfo*>(list.data());
  if (rc = enumerate(&g, events, &size); rc != ERROR_SUCCESS) {
    return Error(Errc::kUnavailable, "TdhEnumerateManifestProviderEvents: " + std::to_string(rc));
  }
  std::vector<EventTemplate> out;
  for (ULONG i = 0; i < events->NumberOfEvents; i++) {
    EVENT_DESCRIPTOR d = events->EventDescriptorsArray[i];
    ULONG info_size = 0;
    rc = describe(&g, &d, nullptr, &info_size);
    if (rc != ERROR_INSUFFICIENT_BUFFER) continue;
    std::vector<uint8_t> info(info_size);
    if (describe(&g, &d, reinterpret_cast<PTRACE_EVENT_INFO>(info.data()), &info_size) !=
        ERROR_SUCCESS) {
      continue;
    }
    auto t = templateFromTdh(info.data(), info.size());
    if (t.ok()) out.push_back(std::move(*t));
  }
  return out;
}

std::vector<EventTemplate> resolveTcpipTemplates(std::string* note) {
  auto tdh = tdhProviderTemplates(compat::kTcpipProvider);
  if (tdh.ok() && !tdh->empty()) return std::move(*tdh);
  *note = "TDH gave no TCPIP layouts (" +
          (tdh.ok() ? std::string("no events") : tdh.error().message()) +
          "); using the built-in ones";
  return builtinTcpipTemplates();
}

}  // namespace sg::win
