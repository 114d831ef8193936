// CPU reference kernels for the tensor ops (skeleton: to be implemented).
#include "backends/cpu/kernel.h"

namespace tarmac {

Status cpu_Concat(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Constant(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ConstantOfShape(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_DepthToSpace(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Expand(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Flatten(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Gather(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GatherElements(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GatherND(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_NonZero(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Pad(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Range(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Reshape(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ScatterElements(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_ScatterND(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Shape(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Size(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Slice(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_SpaceToDepth(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Split(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Squeeze(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Tile(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Transpose(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Unsqueeze(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
