// ETW payload decoder (src/win/etw_decode.h): Microsoft-Windows-TCPIP event
// payloads are bytes from the kernel whose layout differs between Windows
// builds. The first input byte picks a built-in layout and the pointer size;
// the rest is the payload. Checks that no payload crashes either path, and
// that the fast path (fixed reads) and the field walk answer the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "win/etw_decode.h"

using sg::win::EtwRecordView;
using sg::win::TcpipEvent;
using sg::win::TcpipKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<sg::win::EventTemplate> layouts = sg::win::builtinTcpipTemplates();
  if (size < 1) return 0;
  const sg::win::EventTemplate& t = layouts[(data[0] & 0x7f) % layouts.size()];
  EtwRecordView rec{t.id, t.version, (data[0] & 0x80) == 0,
                    std::span<const uint8_t>(data + 1, size - 1)};
  const TcpipKind kind = sg::win::kindOfTask(t.task);
  auto walked = sg::win::decodeWithLayout(t, kind, rec);
  auto fast = kind == TcpipKind::kAcceptComplete || kind == TcpipKind::kAcceptRejected
                  ? sg::win::decodeConnectionFast(kind, rec)
                  : sg::win::decodeRateLimitFast(kind, rec);
  if (walked.ok() != fast.ok()) std::abort();
  if (walked.ok()) {
    const TcpipEvent& a = *walked;
    const TcpipEvent& b = *fast;
    if (std::memcmp(&a.attempt, &b.attempt, sizeof(a.attempt)) != 0 || a.status != b.status ||
        a.process_id != b.process_id || a.syn_attacks_detected != b.syn_attacks_detected) {
      std::abort();
    }
  }
  // And through the decoder, as the session's callback calls it.
  static const sg::win::TcpipDecoder decoder(layouts);
  (void)decoder.decode(rec);
  return 0;
}
