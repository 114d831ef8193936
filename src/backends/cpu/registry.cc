#include <string_view>
#include <unordered_map>

#include "backends/cpu/kernel.h"

namespace tarmac {

#define TARMAC_OP(name, family, since) Status cpu_##name(KernelContext&);
#include "ir/ops.def"
#undef TARMAC_OP

CpuKernelFn find_cpu_kernel(std::string_view op_type) {
  static const auto* table = new std::unordered_map<std::string_view, CpuKernelFn>{
#define TARMAC_OP(name, family, since) {#name, &cpu_##name},
#include "ir/ops.def"
#undef TARMAC_OP
  };
  auto it = table->find(op_type);
  return it == table->end() ? nullptr : it->second;
}

}  // namespace tarmac
