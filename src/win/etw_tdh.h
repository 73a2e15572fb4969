// TDH (tdh.dll) as syn-guard's ETW sensor uses it: the layouts of the
// Microsoft-Windows-TCPIP events this host's manifest declares, turned into
// EventTemplate (etw_template.h) for TcpipDecoder. Windows only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "win/etw_template.h"
#include "win/win_compat.h"

namespace sg::win {

// One TRACE_EVENT_INFO (as TdhGetEventInformation or
// TdhGetManifestEventInformation fill it), `size` bytes, into a template.
// Every offset is checked against `size`; a property TDH marks as a struct or
// an array gets a type the decoder refuses to walk (layoutProblem()).
Result<EventTemplate> templateFromTdh(const uint8_t* buf, size_t size);

// Every event of `provider`'s manifest through tdh.dll's manifest functions
// (looked up at run time: Windows 8.1 and later; Wine has none).
Result<std::vector<EventTemplate>> tdhProviderTemplates(const GUID& provider);

// The TCPIP layouts the decoder starts with: TDH's, or the built-in ones when
// TDH cannot say (`note` then says why, for the start-up log).
std::vector<EventTemplate> resolveTcpipTemplates(std::string* note);

}  // namespace sg::win
