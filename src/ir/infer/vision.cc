// Shape and type inference for the vision ops (skeleton: to be implemented).
#include "ir/op_registry.h"

namespace tarmac {

Status infer_DequantizeLinear(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GridSample(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_NonMaxSuppression(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_QuantizeLinear(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Resize(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Upsample(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
