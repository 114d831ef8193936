// CPU reference kernels for the reduce ops (skeleton: to be implemented).
#include "backends/cpu/kernel.h"

namespace tarmac {

Status cpu_ArgMax(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ArgMin(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_BatchNormalization(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_CumSum(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GroupNormalization(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_InstanceNormalization(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_LayerNormalization(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_LogSoftmax(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceL2(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceMax(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceMean(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceMin(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceProd(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceSum(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ReduceSumSquare(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Softmax(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_TopK(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
