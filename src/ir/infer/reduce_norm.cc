// Shape and type inference for BatchNormalization, InstanceNormalization, GroupNormalization
// and LayerNormalization.
#include "ir/op_registry.h"

namespace tarmac {

namespace {

Status require_floating(const InferContext& ctx, size_t i, const char* name) {
  if (!ctx.has_input(i)) return node_error(ctx.node, "input '{}' is missing", name);
  const DType t = ctx.input(i).dtype;
  if (!is_floating(t))
    return node_error(ctx.node, "{} has dtype {}, expected a floating type", name, dtype_name(t));
  return Status::ok();
}

/// Static element count of input i, or -1 when not static.
int64_t static_numel(const InferContext& ctx, size_t i) {
  const ValueType& t = ctx.input(i);
  if (!t.has_shape || !shape_is_static(t.shape)) return -1;
  return num_elements(static_dims(t.shape));
}

/// Checks that parameter input i holds `want` values when both are statically known.
Status check_count(const InferContext& ctx, size_t i, const char* name, const Dim& want,
                   const char* per) {
  const int64_t got = static_numel(ctx, i);
  if (got >= 0 && want.is_static() && got != want.value)
    return node_error(ctx.node, "{} has shape {}, expected {} values (one per {})", name,
                      shape_to_string(ctx.input(i).shape), want.value, per);
  return Status::ok();
}

/// X of shape [N, C, ...]: rank >= 2 when known.
Status check_nc(const InferContext& ctx, const char* name) {
  const ValueType& x = ctx.input(0);
  if (x.has_shape && x.rank() < 2)
    return node_error(ctx.node, "{} must have rank >= 2 ([N, C, ...]), got {}", name,
                      shape_to_string(x.shape));
  return Status::ok();
}

void set_like_input(InferContext& ctx) {
  const ValueType& x = ctx.input(0);
  if (x.has_shape) {
    ctx.set_output(0, x.dtype, x.shape);
  } else {
    ctx.set_output_dtype(0, x.dtype);
  }
}

}  // namespace

Status infer_BatchNormalization(InferContext& ctx) {
  const Node& node = ctx.node;
  const char* names[] = {"X", "scale", "B", "mean", "var"};
  for (size_t i = 0; i < 5; ++i) TARMAC_RETURN_IF_ERROR(require_floating(ctx, i, names[i]));
  if (ctx.opset >= 14 && node.attr_int("training_mode", 0) != 0)
    return unsupported("{}: training_mode=1 is not supported (tarmac runs inference only)",
                       node.describe());
  // Before opset 7 the mode is the is_test attribute, and its default (0) means training.
  if (ctx.opset < 7 && node.attr_int("is_test", 0) == 0)
    return unsupported("{}: is_test=0 (training mode) is not supported; tarmac runs inference only",
                       node.describe());
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr)
      return unsupported(
          "{}: output {} holds training statistics, which inference mode does not "
          "produce",
          node.describe(), i);
  }
  TARMAC_RETURN_IF_ERROR(check_nc(ctx, "X"));
  const ValueType& x = ctx.input(0);
  // spatial=0 (opsets 1-8) keeps per-activation statistics: [C, D1, ...], not checked here.
  const bool per_activation = ctx.opset < 9 && node.attr_int("spatial", 1) == 0;
  if (x.has_shape && !per_activation) {
    for (size_t i = 1; i < 5; ++i)
      TARMAC_RETURN_IF_ERROR(check_count(ctx, i, names[i], x.shape[1], "channel"));
  }
  set_like_input(ctx);
  return Status::ok();
}

Status infer_InstanceNormalization(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 0, "input"));
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 1, "scale"));
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 2, "B"));
  TARMAC_RETURN_IF_ERROR(check_nc(ctx, "input"));
  const ValueType& x = ctx.input(0);
  if (x.has_shape) {
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 1, "scale", x.shape[1], "channel"));
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 2, "B", x.shape[1], "channel"));
  }
  set_like_input(ctx);
  return Status::ok();
}

Status infer_GroupNormalization(InferContext& ctx) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 0, "X"));
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 1, "scale"));
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 2, "bias"));
  TARMAC_RETURN_IF_ERROR(check_nc(ctx, "X"));
  if (!node.has_attr("num_groups")) return node_error(node, "attribute 'num_groups' is required");
  const int64_t groups = node.attr_int("num_groups", 0);
  if (groups <= 0) return node_error(node, "num_groups must be positive, got {}", groups);
  const ValueType& x = ctx.input(0);
  // Opset 18 defined scale/bias per group; opset 21 corrected them to per channel.
  const bool per_channel = ctx.opset >= 21;
  if (x.has_shape) {
    const Dim& c = x.shape[1];
    if (c.is_static() && c.value % groups != 0)
      return node_error(node, "num_groups = {} does not divide the {} channels", groups, c.value);
    const Dim want = per_channel ? c : Dim(groups);
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 1, "scale", want, per_channel ? "channel" : "group"));
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 2, "bias", want, per_channel ? "channel" : "group"));
  } else if (!per_channel) {
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 1, "scale", Dim(groups), "group"));
    TARMAC_RETURN_IF_ERROR(check_count(ctx, 2, "bias", Dim(groups), "group"));
  }
  set_like_input(ctx);
  return Status::ok();
}

Status infer_LayerNormalization(InferContext& ctx) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 0, "X"));
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 1, "Scale"));
  if (ctx.has_input(2)) TARMAC_RETURN_IF_ERROR(require_floating(ctx, 2, "B"));
  const int64_t stash_type = node.attr_int("stash_type", 1);
  const DType stash = dtype_from_onnx(static_cast<int32_t>(stash_type));
  if (!is_floating(stash))
    return node_error(node, "stash_type {} is not a floating type", stash_type);
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    ctx.set_output_dtype(1, stash);
    ctx.set_output_dtype(2, stash);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  const int64_t axis = node.attr_int("axis", -1);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for an input of rank {}", axis, rank);
  const int64_t first = axis < 0 ? axis + rank : axis;
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.has_input(i) || !ctx.input(i).has_shape) continue;
    const Shape& p = ctx.input(i).shape;
    bool ok = p.size() <= x.shape.size();
    for (size_t k = 0; ok && k < p.size(); ++k) {
      const Dim& pd = p[k];
      const Dim& xd = x.shape[x.shape.size() - p.size() + k];
      if (pd.is_static() && xd.is_static() && pd.value != 1 && pd.value != xd.value) ok = false;
    }
    if (!ok)
      return node_error(node, "{} has shape {}, which does not broadcast to X {}",
                        i == 1 ? "Scale" : "B", shape_to_string(p), shape_to_string(x.shape));
  }
  Shape stat = x.shape;
  for (int64_t k = first; k < rank; ++k) stat[static_cast<size_t>(k)] = Dim(1);
  ctx.set_output(0, x.dtype, x.shape);
  ctx.set_output(1, stash, stat);
  ctx.set_output(2, stash, stat);
  return Status::ok();
}

}  // namespace tarmac
