#include "linux/errno_text.h"

#include <cerrno>
#include <cstring>

namespace sg {
namespace {

const char* errnoSymbol(int err) {
  switch (err) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EINTR:
      return "EINTR";
    case EIO:
      return "EIO";
    case E2BIG:
      return "E2BIG";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case ENOSPC:
      return "ENOSPC";
    case ERANGE:
      return "ERANGE";
    case ENOSYS:
      return "ENOSYS";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    default:
      return nullptr;
  }
}

}  // namespace

std::string errnoText(int err) {
  const char* sym = errnoSymbol(err);
  const std::string text = std::strerror(err);
  return sym != nullptr ? std::string(sym) + " (" + text + ")"
                        : "errno " + std::to_string(err) + " (" + text + ")";
}

}  // namespace sg
