// Shape and type inference for the nn ops (skeleton: to be implemented).
#include "ir/op_registry.h"

namespace tarmac {

Status infer_AveragePool(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Conv(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ConvTranspose(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Einsum(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Gemm(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GlobalAveragePool(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GlobalMaxPool(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_MatMul(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_MaxPool(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
