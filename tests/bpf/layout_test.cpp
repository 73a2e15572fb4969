// The kernel's view of every shared layout (the loaded object's BTF) against
// the C++ view (sizeof, listed in src/linux/bpf_layout.h).
#include <bpf/btf.h>

#include "bpf/kernel_fixture.h"
#include "linux/bpf_layout.h"

namespace sg::test {
namespace {

using LayoutTest = KernelTest;

TEST_F(LayoutTest, EverySharedStructHasTheSameSizeInBtfAndCpp) {
  const struct btf* btf = sensor_->objectBtf();
  ASSERT_NE(btf, nullptr) << "the loaded object carries no BTF";
  for (const SharedLayout& l : kSharedLayouts) {
    const int id = btf__find_by_name_kind(btf, l.name, BTF_KIND_STRUCT);
    ASSERT_GT(id, 0) << "struct " << l.name << " is missing from the object's BTF";
    const int size = btf__resolve_size(btf, id);
    EXPECT_EQ(size, static_cast<int>(l.size)) << "struct " << l.name;
  }
}

}  // namespace
}  // namespace sg::test
