// CPU reference kernels for the vision ops (skeleton: to be implemented).
#include "backends/cpu/kernel.h"

namespace tarmac {

Status cpu_DequantizeLinear(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GridSample(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_NonMaxSuppression(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_QuantizeLinear(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Resize(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Upsample(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
