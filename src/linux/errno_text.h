// errnoText(e): "EPERM (Operation not permitted)" — an errno as error
// messages in src/linux/ show it: the symbolic name for searching, the text
// for reading.
#pragma once

#include <string>

namespace sg {

std::string errnoText(int err);

}  // namespace sg
