// Memory BIOs to and from std::string, for the PEM readers and writers.
#pragma once

#include <string>

#include "pki/ossl_handle.h"

namespace sg::pki {

inline Bio bioFromString(const std::string& s) {
  return Bio(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

inline std::string bioToString(const Bio& bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

}  // namespace sg::pki
