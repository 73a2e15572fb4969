#include "core/result.h"

namespace sg {

const char* errcName(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return "invalid argument";
    case Errc::kNotFound:
      return "not found";
    case Errc::kAlreadyExists:
      return "already exists";
    case Errc::kPermissionDenied:
      return "permission denied";
    case Errc::kUnavailable:
      return "unavailable";
    case Errc::kResourceExhausted:
      return "resource exhausted";
    case Errc::kIo:
      return "I/O error";
    case Errc::kUnauthenticated:
      return "unauthenticated";
  }
  return "unknown";
}

}  // namespace sg
