// Shape and type inference for the elementwise ops (skeleton: to be implemented).
#include "ir/op_registry.h"

namespace tarmac {

Status infer_Abs(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Add(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_And(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Cast(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_CastLike(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Ceil(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Clip(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Cos(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Div(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Dropout(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Elu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Equal(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Erf(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Exp(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Floor(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Gelu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Greater(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GreaterOrEqual(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_HardSigmoid(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_HardSwish(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Identity(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_LeakyRelu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Less(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_LessOrEqual(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Log(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Max(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Mean(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Min(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Mod(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Mul(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Neg(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Not(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Or(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Pow(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_PRelu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Reciprocal(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Relu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Round(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Selu(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sigmoid(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sign(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sin(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Softplus(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sqrt(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sub(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Sum(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Tanh(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Where(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Xor(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
