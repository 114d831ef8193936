// Shape and type inference for the reduce ops (skeleton: to be implemented).
#include "ir/op_registry.h"

namespace tarmac {

Status infer_ArgMax(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ArgMin(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_BatchNormalization(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_CumSum(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GroupNormalization(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_InstanceNormalization(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_LayerNormalization(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_LogSoftmax(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceL2(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceMax(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceMean(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceMin(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceProd(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceSum(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ReduceSumSquare(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Softmax(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_TopK(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
