// templateFromTdh over TRACE_EVENT_INFO buffers laid out as TDH returns them
// (tdh.h's structures, strings after the property array), under Wine.
#include "win/etw_tdh.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_helpers.h"

namespace sg::win {
namespace {

struct Prop {
  const wchar_t* name;
  USHORT in_type;
  ULONG flags = 0;
  USHORT length = 0;  // or the length property's index
};

std::vector<uint8_t> traceEventInfo(USHORT id, UCHAR version, const wchar_t* task,
                                    const std::vector<Prop>& props) {
  const size_t head = offsetof(TRACE_EVENT_INFO, EventPropertyInfoArray);
  std::vector<uint8_t> buf(head + props.size() * sizeof(EVENT_PROPERTY_INFO));
  auto addString = [&buf](const wchar_t* s) {
    const ULONG at = static_cast<ULONG>(buf.size());
    for (; *s; s++)
      buf.insert(buf.end(), {static_cast<uint8_t>(*s), static_cast<uint8_t>(*s >> 8)});
    buf.insert(buf.end(), {0, 0});
    return at;
  };
  TRACE_EVENT_INFO info{};
  info.EventDescriptor.Id = id;
  info.EventDescriptor.Version = version;
  info.TaskNameOffset = addString(task);
  info.PropertyCount = info.TopLevelPropertyCount = static_cast<ULONG>(props.size());
  std::vector<EVENT_PROPERTY_INFO> infos;
  for (const Prop& p : props) {
    EVENT_PROPERTY_INFO e{};
    e.Flags = static_cast<PROPERTY_FLAGS>(p.flags);
    e.NameOffset = addString(p.name);
    e.nonStructType.InType = p.in_type;
    e.count = 1;
    e.length = p.length;
    infos.push_back(e);
  }
  std::memcpy(buf.data(), &info, head);
  std::memcpy(buf.data() + head, infos.data(), infos.size() * sizeof(EVENT_PROPERTY_INFO));
  return buf;
}

std::vector<Prop> acceptProps() {
  return {{L"LocalAddressLength", 8},
          {L"LocalAddress", 14, PropertyParamLength, 0},
          {L"RemoteAddressLength", 8},
          {L"RemoteAddress", 14, PropertyParamLength, 2},
          {L"Status", 8},
          {L"ProcessId", 8},
          {L"Compartment", 8},
          {L"Tcb", 16}};
}

TEST(EtwTdh, TheAcceptLayoutFromTdhMatchesTheBuiltInOne) {
  auto buf = traceEventInfo(1017, 0, L"TcpAcceptListenerComplete", acceptProps());
  auto t = templateFromTdh(buf.data(), buf.size());
  ASSERT_OK(t);
  EXPECT_EQ(t->id, 1017);
  EXPECT_EQ(t->task, "TcpAcceptListenerComplete");
  EventTemplate builtin;
  for (const auto& b : builtinTcpipTemplates()) {
    if (b.id == 1017 && b.version == 0) builtin = b;
  }
  EXPECT_TRUE(sameLayout(*t, builtin));
  EXPECT_TRUE(layoutProblem(*t).empty());
}

TEST(EtwTdh, StructsAndArraysAreMarkedUnwalkable) {
  auto props = acceptProps();
  props[5].flags = PropertyParamCount;
  auto buf = traceEventInfo(1017, 0, L"TcpAcceptListenerComplete", props);
  auto t = templateFromTdh(buf.data(), buf.size());
  ASSERT_OK(t);
  EXPECT_FALSE(layoutProblem(*t).empty());
}

TEST(EtwTdh, TruncatedBuffersAreErrors) {
  auto buf = traceEventInfo(1017, 0, L"TcpAcceptListenerComplete", acceptProps());
  for (size_t n = 0; n < buf.size(); n += 7) {
    EXPECT_FALSE(templateFromTdh(buf.data(), n).ok()) << n;
  }
}

TEST(EtwTdh, WithoutManifestLookupsTheBuiltInLayoutsAreUsed) {
  // Wine's tdh.dll has no TdhEnumerateManifestProviderEvents (nor has Windows
  // before 8.1): the sensor starts on the built-in layouts and says so. On a
  // host that has it, the TCPIP manifest's layouts come back.
  std::string note;
  auto layouts = resolveTcpipTemplates(&note);
  EXPECT_FALSE(layouts.empty());
  if (!note.empty()) {
    EXPECT_EQ(layouts.size(), builtinTcpipTemplates().size());
  }
}

}  // namespace
}  // namespace sg::win
