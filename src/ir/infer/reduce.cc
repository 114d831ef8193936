// Shape and type inference for the reductions, arg/top-k, CumSum and the softmax ops.
// (The normalization ops are in reduce_norm.cc.)
#include <vector>

#include "ir/op_registry.h"

namespace tarmac {

namespace {

Status check_axis(const Node& node, const char* what, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return node_error(node, "{} {} is out of range for an input of rank {}", what, axis, rank);
  return Status::ok();
}

int64_t norm_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

Status require_input(const InferContext& ctx, size_t i, const char* name) {
  if (!ctx.has_input(i)) return node_error(ctx.node, "input '{}' is missing", name);
  return Status::ok();
}

Status require_floating(const InferContext& ctx, size_t i, const char* name) {
  TARMAC_RETURN_IF_ERROR(require_input(ctx, i, name));
  const DType t = ctx.input(i).dtype;
  if (!is_floating(t))
    return node_error(ctx.node, "{} has dtype {}, expected a floating type", name, dtype_name(t));
  return Status::ok();
}

/// Axes arrive as an input from ReduceSum-13 and from opset 18 for the other reductions.
bool axes_from_input(const Node& node, int64_t opset) {
  return node.op_type == "ReduceSum" ? opset >= 13 : opset >= 18;
}

Status infer_reduce(InferContext& ctx, bool min_max) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const ValueType& x = ctx.input(0);
  const DType dt = x.dtype;
  // int8/uint8 (opset 12) and bool (opset 20) exist for ReduceMax/ReduceMin only.
  const bool ok = is_floating(dt) || dt == DType::kInt32 || dt == DType::kInt64 ||
                  (min_max && (dt == DType::kInt8 || dt == DType::kUint8 || dt == DType::kBool));
  if (!ok) return node_error(node, "input dtype {} is not supported", dtype_name(dt));
  const bool keepdims = node.attr_int("keepdims", 1) != 0;

  std::vector<int64_t> axes;
  bool axes_known = true;
  int64_t axes_count = -1;  // when the values are unknown: their number, -1 if unknown too
  bool noop = false;
  if (axes_from_input(node, ctx.opset)) {
    noop = node.attr_int("noop_with_empty_axes", 0) != 0;
    if (ctx.has_input(1)) {
      const ValueType& a = ctx.input(1);
      if (a.dtype != DType::kInt64 && a.dtype != DType::kInt32)
        return node_error(node, "axes must be int64, got {}", dtype_name(a.dtype));
      if (a.has_shape && a.rank() > 1)
        return node_error(node, "axes must be 1-D, got shape {}", shape_to_string(a.shape));
      if (const Tensor* v = ctx.value(1)) {
        axes = v->to_int64_vector();
      } else {
        axes_known = false;
        if (a.has_shape && a.rank() == 1 && a.shape[0].is_static()) axes_count = a.shape[0].value;
      }
    } else if (node.has_attr("axes")) {
      axes = node.attr_ints("axes");  // pre-18 style attribute on a newer model: honour it
    }
  } else {
    axes = node.attr_ints("axes");
  }

  if (!x.has_shape) {
    ctx.set_output_dtype(0, dt);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  if (!axes_known && axes_count == 0) axes_known = true;  // empty axes, known as such
  if (axes_known) {
    if (axes.empty() && noop) {
      ctx.set_output(0, dt, x.shape);
      return Status::ok();
    }
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    for (int64_t a : axes) {
      TARMAC_RETURN_IF_ERROR(check_axis(node, "axis", a, rank));
      const size_t k = static_cast<size_t>(norm_axis(a, rank));
      if (reduced[k]) return node_error(node, "axis {} is listed twice", a);
      reduced[k] = true;
    }
    Shape out;
    for (int64_t k = 0; k < rank; ++k) {
      if (!reduced[static_cast<size_t>(k)]) {
        out.push_back(x.shape[static_cast<size_t>(k)]);
      } else if (keepdims) {
        out.push_back(Dim(1));
      }
    }
    ctx.set_output(0, dt, std::move(out));
    return Status::ok();
  }
  // Axes are data: which dims shrink is unknown, only possibly the rank.
  if (keepdims) {
    Shape out;
    for (const Dim& d : x.shape)
      out.push_back(d.is_static() && d.value == 1 ? Dim(1) : ctx.new_dim("reduced"));
    ctx.set_output(0, dt, std::move(out));
  } else if (axes_count > 0) {
    if (axes_count > rank)
      return node_error(node, "{} axes given for an input of rank {}", axes_count, rank);
    Shape out;
    for (int64_t k = 0; k < rank - axes_count; ++k) out.push_back(ctx.new_dim("reduced"));
    ctx.set_output(0, dt, std::move(out));
  } else {
    ctx.set_output_dtype(0, dt);
  }
  return Status::ok();
}

Status infer_arg(InferContext& ctx) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_input(ctx, 0, "data"));
  const ValueType& x = ctx.input(0);
  if (!is_floating(x.dtype) && !is_integer(x.dtype))
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype));
  if (!x.has_shape) {
    ctx.set_output_dtype(0, DType::kInt64);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  const int64_t axis = node.attr_int("axis", 0);
  TARMAC_RETURN_IF_ERROR(check_axis(node, "axis", axis, rank));
  Shape out = x.shape;
  if (node.attr_int("keepdims", 1) != 0) {
    out[static_cast<size_t>(norm_axis(axis, rank))] = Dim(1);
  } else {
    out.erase(out.begin() + norm_axis(axis, rank));
  }
  ctx.set_output(0, DType::kInt64, std::move(out));
  return Status::ok();
}

Status infer_softmax(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_floating(ctx, 0, "input"));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(ctx.node, "input must have rank >= 1");
  TARMAC_RETURN_IF_ERROR(
      check_axis(ctx.node, "axis", ctx.node.attr_int("axis", ctx.opset < 13 ? 1 : -1), rank));
  ctx.set_output(0, x.dtype, x.shape);
  return Status::ok();
}

}  // namespace

Status infer_ReduceL2(InferContext& ctx) { return infer_reduce(ctx, false); }
Status infer_ReduceMax(InferContext& ctx) { return infer_reduce(ctx, true); }
Status infer_ReduceMean(InferContext& ctx) { return infer_reduce(ctx, false); }
Status infer_ReduceMin(InferContext& ctx) { return infer_reduce(ctx, true); }
Status infer_ReduceProd(InferContext& ctx) { return infer_reduce(ctx, false); }
Status infer_ReduceSum(InferContext& ctx) { return infer_reduce(ctx, false); }
Status infer_ReduceSumSquare(InferContext& ctx) { return infer_reduce(ctx, false); }
Status infer_ArgMax(InferContext& ctx) { return infer_arg(ctx); }
Status infer_ArgMin(InferContext& ctx) { return infer_arg(ctx); }
Status infer_Softmax(InferContext& ctx) { return infer_softmax(ctx); }
Status infer_LogSoftmax(InferContext& ctx) { return infer_softmax(ctx); }

Status infer_TopK(InferContext& ctx) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_input(ctx, 0, "X"));
  const ValueType& x = ctx.input(0);
  if (!is_floating(x.dtype) && !is_integer(x.dtype))
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype));
  int64_t k = 0;
  bool k_known = true;
  if (ctx.opset < 10) {
    if (!node.has_attr("k")) return node_error(node, "attribute 'k' is required before opset 10");
    k = node.attr_int("k", 0);
  } else {
    TARMAC_RETURN_IF_ERROR(require_input(ctx, 1, "K"));
    const ValueType& kt = ctx.input(1);
    if (kt.dtype != DType::kInt64 && kt.dtype != DType::kInt32)
      return node_error(node, "K must be int64, got {}", dtype_name(kt.dtype));
    if (const Tensor* v = ctx.value(1)) {
      if (v->numel() != 1)
        return node_error(node, "K must hold exactly one value, got shape {}",
                          dims_to_string(v->dims()));
      k = v->as_int64(0);
    } else {
      k_known = false;
    }
  }
  if (k_known && k < 0) return node_error(node, "K must be non-negative, got {}", k);
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    ctx.set_output_dtype(1, DType::kInt64);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  const int64_t axis_attr = node.attr_int("axis", -1);
  TARMAC_RETURN_IF_ERROR(check_axis(node, "axis", axis_attr, rank));
  const size_t axis = static_cast<size_t>(norm_axis(axis_attr, rank));
  const Dim& d = x.shape[axis];
  if (k_known && d.is_static() && k > d.value)
    return node_error(node, "K = {} is larger than dimension {} (size {}) of the input", k, axis,
                      d.value);
  Shape out = x.shape;
  out[axis] = k_known ? Dim(k) : ctx.new_dim("topk");
  ctx.set_output(0, x.dtype, out);
  ctx.set_output(1, DType::kInt64, out);
  return Status::ok();
}

Status infer_CumSum(InferContext& ctx) {
  const Node& node = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_input(ctx, 0, "x"));
  TARMAC_RETURN_IF_ERROR(require_input(ctx, 1, "axis"));
  const ValueType& x = ctx.input(0);
  if (!is_floating(x.dtype) && x.dtype != DType::kInt32 && x.dtype != DType::kInt64)
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype));
  const ValueType& a = ctx.input(1);
  if (a.dtype != DType::kInt32 && a.dtype != DType::kInt64)
    return node_error(node, "axis must be int32 or int64, got {}", dtype_name(a.dtype));
  if (a.has_shape &&
      (a.rank() > 1 || (a.rank() == 1 && a.shape[0].is_static() && a.shape[0].value != 1)))
    return node_error(node, "axis must be a scalar, got shape {}", shape_to_string(a.shape));
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  if (x.rank() == 0) return node_error(node, "input must have rank >= 1");
  if (const Tensor* v = ctx.value(1); v && v->numel() == 1)
    TARMAC_RETURN_IF_ERROR(check_axis(node, "axis", v->as_int64(0), x.rank()));
  ctx.set_output(0, x.dtype, x.shape);
  return Status::ok();
}

}  // namespace tarmac
