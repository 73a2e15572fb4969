#include "console/store.h"

namespace sg::console {

const char* roleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

Result<Role> parseRole(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "operator") return Role::kOperator;
  if (text == "admin") return Role::kAdmin;
  return makeError(Errc::kInvalidArgument,
                   "unknown role '" + std::string(text) + "' (viewer, operator, admin)");
}

}  // namespace sg::console
