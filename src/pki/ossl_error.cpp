#include "pki/ossl_error.h"

#include <openssl/err.h>

namespace sg::pki {

Error opensslError(Errc code, const std::string& what) {
  unsigned long first = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  ERR_clear_error();
  if (first == 0) return Error(code, what);
  char buf[256];
  ERR_error_string_n(first, buf, sizeof(buf));
  return Error(code, what + ": " + buf);
}

}  // namespace sg::pki
