// CPU reference kernels for the nn ops (skeleton: to be implemented).
#include "backends/cpu/kernel.h"

namespace tarmac {

Status cpu_AveragePool(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Conv(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ConvTranspose(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Einsum(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Gemm(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GlobalAveragePool(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GlobalMaxPool(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_MatMul(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_MaxPool(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
