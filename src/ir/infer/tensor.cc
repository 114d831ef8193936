// Shape and type inference for the tensor ops (skeleton: to be implemented).
#include "ir/op_registry.h"

namespace tarmac {

Status infer_Concat(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Constant(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ConstantOfShape(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_DepthToSpace(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Expand(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Flatten(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Gather(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GatherElements(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_GatherND(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_NonZero(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Pad(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Range(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Reshape(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ScatterElements(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_ScatterND(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Shape(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Size(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Slice(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_SpaceToDepth(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Split(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Squeeze(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Tile(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Transpose(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }
Status infer_Unsqueeze(InferContext& ctx) { return unsupported("{}: shape inference not implemented yet", ctx.node.describe()); }

}  // namespace tarmac
