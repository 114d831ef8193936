// Shape and type inference for Conv, ConvTranspose and the pooling ops. Kernels repeat every
// check on concrete shapes; here a check fires only when the dims involved are known.
#include "ir/fused_ops.h"
#include "ir/infer/nn_util.h"
#include "ir/op_registry.h"

namespace tarmac {

namespace {

using nn::WindowAttrs;
using nn::WindowOptions;

Status check_float(const InferContext& ctx, size_t i) {
  const DType t = ctx.input(i).dtype;
  if (!is_floating(t)) {
    return node_error(ctx.node, "input {} has dtype {}, expected a floating-point type", i,
                      dtype_name(t));
  }
  if (i > 0 && t != ctx.input(0).dtype) {
    return node_error(ctx.node, "input {} has dtype {} but input 0 has {}", i, dtype_name(t),
                      dtype_name(ctx.input(0).dtype));
  }
  return Status::ok();
}

/// The residual of an internal Conv must have exactly the output's shape (no broadcasting).
Status check_residual(const Node& n, const ValueType& r, const Shape& out) {
  if (!r.has_shape) return Status::ok();
  bool same = r.shape.size() == out.size();
  for (size_t i = 0; same && i < out.size(); ++i)
    if (r.shape[i].is_static() && out[i].is_static()) same = r.shape[i].value == out[i].value;
  if (!same)
    return node_error(n, "residual {} does not match the output shape {}", shape_to_string(r.shape),
                      shape_to_string(out));
  return Status::ok();
}

/// Spatial output dims of a window op over input `x` [N, C, spatial...]; symbolic where an
/// extent or the kernel is unknown.
StatusOr<Shape> spatial_output(InferContext& ctx, const WindowAttrs& a, const Shape& x,
                               bool kernel_known, bool transpose) {
  Shape out;
  for (size_t i = 0; i < a.kernel.size(); ++i) {
    const Dim& in = x[i + 2];
    if (transpose && !a.output_shape.empty()) {
      out.push_back(a.output_shape[i]);
      continue;
    }
    if (!in.is_static() || !kernel_known) {
      out.push_back(ctx.new_dim("spatial"));
      continue;
    }
    int64_t pb = 0, pe = 0;
    StatusOr<int64_t> size =
        transpose ? nn::conv_transpose_output_size(ctx.node, a, i, in.value, &pb, &pe)
                  : nn::window_output_size(ctx.node, a, i, in.value, &pb, &pe);
    if (!size.is_ok()) return size.status();
    out.push_back(*size);
  }
  return out;
}

Status infer_conv_like(InferContext& ctx, bool transpose) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "expects inputs X and W");
  // Input 3 is the residual of an internal Conv (ir/fused_ops.h).
  const bool residual = ctx.num_inputs() > 3;
  if (residual && (transpose || !is_internal_node(n)))
    return node_error(n, "has {} inputs, expected at most 3", ctx.num_inputs());
  if (residual && !ctx.has_input(3)) return node_error(n, "input 3 (residual) is empty");
  for (size_t i = 0; i < (residual ? 4u : 3u); ++i)
    if (ctx.has_input(i)) TARMAC_RETURN_IF_ERROR(check_float(ctx, i));
  // A channels-last internal node (ir/fused_ops.h) is inferred in the ONNX layout: X and W are
  // viewed through the inverse permutation, and the output is permuted back at the end.
  const bool nhwc = is_nhwc_node(n);
  ValueType x = ctx.input(0);
  ValueType w = ctx.input(1);
  if (nhwc) {
    if ((x.has_shape && x.rank() != 4) || (w.has_shape && w.rank() != 4))
      return node_error(n, "the NHWC layout needs 4-D X and W");
    const Dims to_nchw{0, 3, 1, 2};
    for (ValueType* t : {&x, &w}) {
      if (!t->has_shape) continue;
      Shape p;
      for (int64_t a : to_nchw) p.push_back(t->shape[static_cast<size_t>(a)]);
      t->shape = std::move(p);
    }
  }
  const DType dt = x.dtype;
  const int64_t group = n.attr_int("group", 1);
  if (group < 1) return node_error(n, "group is {}, expected >= 1", group);
  const int rank = x.has_shape ? x.rank() : (w.has_shape ? w.rank() : -1);
  if (rank < 0) {
    ctx.set_output_dtype(0, dt);
    return Status::ok();
  }
  if (rank < 3) return node_error(n, "input X has rank {}, expected at least 3", rank);
  if (w.has_shape && w.rank() != rank) {
    return node_error(n, "weight has {} dims, expected {}", w.rank(), rank);
  }
  const size_t nsp = static_cast<size_t>(rank - 2);
  // kernel_shape is optional; when given it must agree with the weights.
  Dims kernel(nsp, 1);
  bool kernel_known = true;
  if (n.has_attr("kernel_shape")) {
    kernel = n.attr_ints("kernel_shape");
    if (kernel.size() != nsp) {
      return node_error(n, "kernel_shape has {} values, expected {}", kernel.size(), nsp);
    }
  }
  for (size_t i = 0; i < nsp; ++i) {
    const Dim wd = w.has_shape ? w.shape[i + 2] : Dim();
    if (n.has_attr("kernel_shape")) {
      if (wd.is_static() && wd.value != kernel[i]) {
        return node_error(n, "kernel_shape[{}] is {} but the weight has {}", i, kernel[i],
                          wd.value);
      }
    } else if (wd.is_static()) {
      kernel[i] = wd.value;
    } else {
      kernel_known = false;
    }
  }
  TARMAC_ASSIGN_OR_RETURN(WindowAttrs a,
                          nn::read_window_attrs(n, kernel, {true, false, transpose}));
  if (!x.has_shape) {
    ctx.set_output_dtype(0, dt);
    return Status::ok();
  }
  // Conv weight: [M, C/group, k...]; ConvTranspose weight: [C, M/group, k...].
  const Dim c = x.shape[1];
  Dim m = ctx.new_dim("channels");
  if (w.has_shape && !transpose) {
    const Dim& per_group = w.shape[1];
    if (c.is_static() && per_group.is_static() && c.value != per_group.value * group) {
      return node_error(n, "input has {} channels but the weight expects {} x group {}", c.value,
                        per_group.value, group);
    }
    if (w.shape[0].is_static() && w.shape[0].value % group != 0) {
      return node_error(n, "weight has {} output channels, not divisible by group {}",
                        w.shape[0].value, group);
    }
    m = w.shape[0];
  } else if (w.has_shape) {
    if (c.is_static() && w.shape[0].is_static() && c.value != w.shape[0].value) {
      return node_error(n, "input has {} channels but the weight has {}", c.value,
                        w.shape[0].value);
    }
    if (c.is_static() && c.value % group != 0) {
      return node_error(n, "input has {} channels, not divisible by group {}", c.value, group);
    }
    if (w.shape[1].is_static()) m = Dim(w.shape[1].value * group);
  }
  if (ctx.has_input(2) && ctx.input(2).has_shape) {
    const ValueType& b = ctx.input(2);
    if (b.rank() != 1) return node_error(n, "bias has rank {}, expected 1", b.rank());
    if (b.shape[0].is_static() && m.is_static() && b.shape[0].value != m.value) {
      return node_error(n, "bias has {} values, expected {}", b.shape[0].value, m.value);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(Shape spatial, spatial_output(ctx, a, x.shape, kernel_known, transpose));
  Shape out{x.shape[0], m};
  out.insert(out.end(), spatial.begin(), spatial.end());
  if (nhwc) out = Shape{out[0], out[2], out[3], out[1]};
  if (residual) TARMAC_RETURN_IF_ERROR(check_residual(n, ctx.input(3), out));
  ctx.set_output(0, dt, std::move(out));
  return Status::ok();
}

Status infer_pool(InferContext& ctx, WindowOptions opt, bool allow_int8) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "expects input X");
  const DType dt = ctx.input(0).dtype;
  if (!is_floating(dt) && !(allow_int8 && (dt == DType::kInt8 || dt == DType::kUint8))) {
    return node_error(n, "input has dtype {}, which this op does not accept", dtype_name(dt));
  }
  if (!n.has_attr("kernel_shape")) return node_error(n, "attribute kernel_shape is required");
  const Dims kernel = n.attr_ints("kernel_shape");
  TARMAC_ASSIGN_OR_RETURN(WindowAttrs a, nn::read_window_attrs(n, kernel, opt));
  const ValueType& x = ctx.input(0);
  const bool indices = ctx.outputs.size() > 1;
  if (!x.has_shape) {
    ctx.set_output_dtype(0, dt);
    if (indices) ctx.set_output_dtype(1, DType::kInt64);
    return Status::ok();
  }
  if (x.rank() != static_cast<int>(kernel.size()) + 2) {
    return node_error(n, "input has rank {} but kernel_shape has {} values", x.rank(),
                      kernel.size());
  }
  TARMAC_ASSIGN_OR_RETURN(Shape spatial, spatial_output(ctx, a, x.shape, true, false));
  Shape out{x.shape[0], x.shape[1]};
  out.insert(out.end(), spatial.begin(), spatial.end());
  if (indices) ctx.set_output(1, DType::kInt64, out);
  ctx.set_output(0, dt, std::move(out));
  return Status::ok();
}

Status infer_global_pool(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "expects input X");
  const ValueType& x = ctx.input(0);
  if (!is_floating(x.dtype)) {
    return node_error(n, "input has dtype {}, expected a floating-point type", dtype_name(x.dtype));
  }
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  if (x.rank() < 3) return node_error(n, "input has rank {}, expected at least 3", x.rank());
  Shape out(x.shape.size(), Dim(1));
  out[0] = x.shape[0];
  out[1] = x.shape[1];
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

}  // namespace

Status infer_Conv(InferContext& ctx) { return infer_conv_like(ctx, false); }
Status infer_ConvTranspose(InferContext& ctx) { return infer_conv_like(ctx, true); }

Status infer_MaxPool(InferContext& ctx) {
  if (ctx.opset < 8 && ctx.outputs.size() > 1) {
    return node_error(ctx.node, "has {} outputs; the Indices output exists since opset 8",
                      ctx.outputs.size());
  }
  return infer_pool(ctx, {ctx.opset >= 10, ctx.opset >= 10, false}, ctx.opset >= 12);
}

Status infer_AveragePool(InferContext& ctx) {
  return infer_pool(ctx, {ctx.opset >= 19, ctx.opset >= 10, false}, false);
}

Status infer_GlobalAveragePool(InferContext& ctx) { return infer_global_pool(ctx); }
Status infer_GlobalMaxPool(InferContext& ctx) { return infer_global_pool(ctx); }

}  // namespace tarmac
