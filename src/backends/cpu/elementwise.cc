// CPU reference kernels for the elementwise ops (skeleton: to be implemented).
#include "backends/cpu/kernel.h"

namespace tarmac {

Status cpu_Abs(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Add(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_And(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Cast(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_CastLike(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Ceil(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Clip(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Cos(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Div(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Dropout(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Elu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Equal(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Erf(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Exp(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Floor(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Gelu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Greater(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_GreaterOrEqual(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_HardSigmoid(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_HardSwish(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Identity(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_LeakyRelu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Less(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_LessOrEqual(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Log(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Max(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Mean(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Min(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Mod(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Mul(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Neg(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Not(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Or(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Pow(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_PRelu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Reciprocal(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Relu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Round(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Selu(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sigmoid(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sign(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sin(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Softplus(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sqrt(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sub(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Sum(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Tanh(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Where(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }
Status cpu_Xor(KernelContext& ctx) { return unsupported("{}: CPU kernel not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
