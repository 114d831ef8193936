// Shape and type inference for the tensor ops that compute shapes or make new tensors:
// Constant, ConstantOfShape, Expand, Flatten, NonZero, Range, Reshape, Shape, Size, Squeeze,
// Tile, Unsqueeze. Sizes that depend on unknown data become fresh symbolic dims with the rank
// still known where it can be; only when even the rank is unknown is the dtype alone set.
#include "backends/cpu/tensor_util.h"

namespace tarmac {

using tensor_ops::dim_product;
using tensor_ops::fresh_dims;
using tensor_ops::IntsArg;
using tensor_ops::require_inputs;

Status infer_Constant(InferContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(Tensor v, tensor_ops::constant_value(ctx.node));
  ctx.set_output(0, v.dtype(), shape_from_dims(v.dims()));
  return Status::ok();
}

Status infer_ConstantOfShape(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  TARMAC_ASSIGN_OR_RETURN(Tensor fill, tensor_ops::constant_of_shape_fill(ctx.node));
  if (const Tensor* s = ctx.value(0)) {
    TARMAC_ASSIGN_OR_RETURN(Dims dims, tensor_ops::shape_input_dims(ctx.node, *s));
    ctx.set_output(0, fill.dtype(), shape_from_dims(dims));
    return Status::ok();
  }
  const ValueType& st = ctx.input(0);
  if (st.has_shape && st.rank() == 1 && st.shape[0].is_static()) {
    ctx.set_output(0, fill.dtype(), fresh_dims(ctx, st.shape[0].value, "const_dim"));
  } else {
    ctx.set_output_dtype(0, fill.dtype());
  }
  return Status::ok();
}

Status infer_Expand(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const ValueType& x = ctx.input(0);
  if (const Tensor* s = ctx.value(1)) {
    TARMAC_ASSIGN_OR_RETURN(std::vector<int64_t> v, tensor_ops::int_list(ctx.node, *s, "shape"));
    if (!x.has_shape) {
      ctx.set_output_dtype(0, x.dtype);
      return Status::ok();
    }
    ValueType target;
    target.has_shape = true;
    for (int64_t d : v) {
      if (d < 0) return node_error(ctx.node, "shape value {} is negative", d);
      target.shape.push_back(Dim(d));
    }
    TARMAC_ASSIGN_OR_RETURN(Shape out, broadcast_shapes(ctx.node, {&x, &target}));
    ctx.set_output(0, x.dtype, std::move(out));
    return Status::ok();
  }
  const ValueType& st = ctx.input(1);
  if (!x.has_shape || !st.has_shape || st.rank() != 1 || !st.shape[0].is_static()) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  // The shape's values are unknown, but an input dim other than 1 survives any valid value.
  const int64_t n = st.shape[0].value;
  const int64_t rank = std::max<int64_t>(n, x.rank());
  Shape out;
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t xi = k - (rank - x.rank());
    if (xi >= 0 && x.shape[static_cast<size_t>(xi)].is_static() &&
        x.shape[static_cast<size_t>(xi)].value != 1) {
      out.push_back(x.shape[static_cast<size_t>(xi)]);
    } else {
      out.push_back(ctx.new_dim("expand"));
    }
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Flatten(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  int64_t axis = ctx.node.attr_int("axis", 1);
  if (!x.has_shape) {
    if (axis == 0) {
      ctx.set_output(0, x.dtype, {Dim(1), ctx.new_dim("flat")});
    } else {
      ctx.set_output(0, x.dtype, {ctx.new_dim("flat"), ctx.new_dim("flat")});
    }
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(axis, tensor_ops::flatten_axis(ctx.node, ctx.opset, axis, x.rank()));
  const size_t a = static_cast<size_t>(axis);
  ctx.set_output(0, x.dtype,
                 {dim_product(ctx, x.shape, 0, a), dim_product(ctx, x.shape, a, x.shape.size())});
  return Status::ok();
}

Status infer_NonZero(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  const Dim rows = x.has_shape ? Dim(x.rank()) : ctx.new_dim("rank");
  ctx.set_output(0, DType::kInt64, {rows, ctx.new_dim("nonzero")});
  return Status::ok();
}

Status infer_Range(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
  const DType dt = ctx.input(0).dtype;
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).dtype != dt) {
      return node_error(ctx.node, "start is {} but input {} is {}", dtype_name(dt), i,
                        dtype_name(ctx.input(i).dtype));
    }
  }
  if (dt != DType::kFloat32 && dt != DType::kFloat64 && dt != DType::kInt32 &&
      dt != DType::kInt64) {
    return node_error(ctx.node, "unsupported type {}; Range takes float, double, int32, int64",
                      dtype_name(dt));
  }
  if (ctx.value(0) && ctx.value(1) && ctx.value(2)) {
    TARMAC_ASSIGN_OR_RETURN(
        int64_t n, tensor_ops::range_count(ctx.node, *ctx.value(0), *ctx.value(1), *ctx.value(2)));
    ctx.set_output(0, dt, {Dim(n)});
  } else {
    ctx.set_output(0, dt, {ctx.new_dim("range")});
  }
  return Status::ok();
}

namespace {

/// Reshape with known target values on an input with symbolic dims.
StatusOr<Shape> reshape_symbolic(InferContext& ctx, const ValueType& x,
                                 const std::vector<int64_t>& shape, bool allowzero) {
  const Node& n = ctx.node;
  Shape out(shape.size());
  std::vector<bool> copied(x.shape.size(), false);
  int64_t infer_at = -1;
  int64_t explicit_product = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t s = shape[i];
    if (s == -1) {
      if (infer_at >= 0) return node_error(n, "shape has more than one -1");
      infer_at = static_cast<int64_t>(i);
    } else if (s < -1) {
      return node_error(n, "shape value {} is invalid", s);
    } else if (s == 0 && !allowzero) {
      if (i >= x.shape.size()) {
        return node_error(n,
                          "shape value 0 at index {} copies a dimension the input (rank {}) "
                          "does not have",
                          i, x.rank());
      }
      out[i] = x.shape[i];
      copied[i] = true;
    } else {
      out[i] = Dim(s);
      if (s > 0 && explicit_product <= (int64_t{1} << 62) / s) explicit_product *= s;
    }
  }
  if (infer_at < 0) return out;
  // What remains of the input after the copied dims must equal the explicit dims times -1.
  int64_t in_static = 1;
  int unknown = 0;
  Dim unknown_dim;
  for (size_t k = 0; k < x.shape.size(); ++k) {
    if (copied[k]) continue;
    if (x.shape[k].is_static()) {
      in_static *= x.shape[k].value;
    } else {
      ++unknown;
      unknown_dim = x.shape[k];
    }
  }
  Dim& d = out[static_cast<size_t>(infer_at)];
  if (unknown == 0 && explicit_product > 0 && in_static % explicit_product == 0) {
    d = Dim(in_static / explicit_product);
  } else if (unknown == 1 && !unknown_dim.symbol.empty() && in_static == explicit_product) {
    d = unknown_dim;
  } else {
    d = ctx.new_dim("reshape");
  }
  return out;
}

}  // namespace

Status infer_Reshape(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  IntsArg shape;
  if (ctx.opset < 5) {
    if (!ctx.node.has_attr("shape")) return node_error(ctx.node, "attribute 'shape' is required");
    shape.state = IntsArg::State::kKnown;
    shape.values = ctx.node.attr_ints("shape");
  } else {
    TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
    TARMAC_ASSIGN_OR_RETURN(shape, tensor_ops::ints_arg(ctx, 5, "shape", 1));
  }
  const bool allowzero = ctx.opset >= 14 && ctx.node.attr_int("allowzero", 0) != 0;
  if (!shape.known()) {
    const ValueType& st = ctx.input(1);
    if (st.has_shape && st.rank() == 1 && st.shape[0].is_static()) {
      ctx.set_output(0, x.dtype, fresh_dims(ctx, st.shape[0].value, "reshape"));
    } else {
      ctx.set_output_dtype(0, x.dtype);
    }
    return Status::ok();
  }
  const auto& v = shape.values;
  if (allowzero && std::count(v.begin(), v.end(), 0) && std::count(v.begin(), v.end(), -1)) {
    return node_error(ctx.node, "with allowzero=1 the shape must not contain both 0 and -1");
  }
  if (x.has_shape && shape_is_static(x.shape)) {
    TARMAC_ASSIGN_OR_RETURN(Dims out,
                            tensor_ops::reshape_dims(ctx.node, static_dims(x.shape), v, allowzero));
    ctx.set_output(0, x.dtype, shape_from_dims(out));
    return Status::ok();
  }
  if (!x.has_shape) {
    Shape out;
    for (int64_t s : v) {
      if (s < -1) return node_error(ctx.node, "shape value {} is invalid", s);
      out.push_back(s > 0 || (s == 0 && allowzero) ? Dim(s) : ctx.new_dim("reshape"));
    }
    ctx.set_output(0, x.dtype, std::move(out));
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(Shape out, reshape_symbolic(ctx, x, v, allowzero));
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Shape(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output(0, DType::kInt64, {ctx.new_dim("rank")});
    return Status::ok();
  }
  const auto [start, end] = tensor_ops::shape_slice(ctx.node, ctx.opset, x.rank());
  ctx.set_output(0, DType::kInt64, {Dim(end - start)});
  return Status::ok();
}

Status infer_Size(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  ctx.set_output(0, DType::kInt64, {});
  return Status::ok();
}

Status infer_Squeeze(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(IntsArg axes, tensor_ops::ints_arg(ctx, 13, "axes", 1));
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  if (axes.state == IntsArg::State::kUnknown) {
    const ValueType& at = ctx.input(1);
    if (at.has_shape && at.rank() == 1 && at.shape[0].is_static() &&
        at.shape[0].value <= x.rank()) {
      ctx.set_output(0, x.dtype, fresh_dims(ctx, x.rank() - at.shape[0].value, "squeeze"));
    } else {
      ctx.set_output_dtype(0, x.dtype);
    }
    return Status::ok();
  }
  std::vector<bool> drop(x.shape.size(), false);
  if (axes.absent()) {
    for (size_t k = 0; k < x.shape.size(); ++k) {
      if (!x.shape[k].is_static()) {
        // Whether this dim is 1 decides the output rank.
        ctx.set_output_dtype(0, x.dtype);
        return Status::ok();
      }
      drop[k] = x.shape[k].value == 1;
    }
  } else {
    TARMAC_ASSIGN_OR_RETURN(auto ax, tensor_ops::normalize_axes(ctx.node, axes.values, x.rank()));
    for (int64_t a : ax) {
      const Dim& d = x.shape[static_cast<size_t>(a)];
      if (d.is_static() && d.value != 1) {
        return node_error(ctx.node, "cannot squeeze axis {} of size {} (input shape {})", a,
                          d.value, shape_to_string(x.shape));
      }
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Shape out;
  for (size_t k = 0; k < x.shape.size(); ++k)
    if (!drop[k]) out.push_back(x.shape[k]);
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Tile(InferContext& ctx) {
  const Node& n = ctx.node;
  if (ctx.opset < 6) {
    TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
    const ValueType& x = ctx.input(0);
    if (!x.has_shape) {
      ctx.set_output_dtype(0, x.dtype);
      return Status::ok();
    }
    Shape out = x.shape;
    if (ctx.value(1) && ctx.value(2)) {
      TARMAC_ASSIGN_OR_RETURN(auto ta,
                              tensor_ops::tile_v1_args(n, *ctx.value(1), *ctx.value(2), x.rank()));
      Dim& d = out[static_cast<size_t>(ta.second)];
      if (d.is_static()) {
        TARMAC_ASSIGN_OR_RETURN(int64_t v, tensor_ops::checked_mul(n, d.value, ta.first));
        d = Dim(v);
      } else if (ta.first != 1) {
        d = ctx.new_dim("tile");
      }
    } else {
      out = fresh_dims(ctx, x.rank(), "tile");
    }
    ctx.set_output(0, x.dtype, std::move(out));
    return Status::ok();
  }
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const ValueType& x = ctx.input(0);
  const Tensor* r = ctx.value(1);
  if (!x.has_shape) {
    if (r && r->rank() == 1) {
      ctx.set_output(0, x.dtype, fresh_dims(ctx, r->numel(), "tile"));
    } else {
      ctx.set_output_dtype(0, x.dtype);
    }
    return Status::ok();
  }
  if (!r) {
    ctx.set_output(0, x.dtype, fresh_dims(ctx, x.rank(), "tile"));
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(auto reps, tensor_ops::tile_repeats(n, *r, x.rank()));
  Shape out = x.shape;
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k].is_static()) {
      TARMAC_ASSIGN_OR_RETURN(int64_t v, tensor_ops::checked_mul(n, out[k].value, reps[k]));
      out[k] = Dim(v);
    } else if (reps[k] != 1) {
      out[k] = reps[k] == 0 ? Dim(0) : ctx.new_dim("tile");
    }
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Unsqueeze(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(IntsArg axes, tensor_ops::ints_arg(ctx, 13, "axes", 1));
  if (axes.absent()) return node_error(ctx.node, "axes are required");
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  if (!axes.known()) {
    const ValueType& at = ctx.input(1);
    if (at.has_shape && at.rank() == 1 && at.shape[0].is_static()) {
      ctx.set_output(0, x.dtype, fresh_dims(ctx, x.rank() + at.shape[0].value, "unsqueeze"));
    } else {
      ctx.set_output_dtype(0, x.dtype);
    }
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(std::vector<bool> ones,
                          tensor_ops::unsqueeze_mask(ctx.node, axes.values, x.rank()));
  Shape out;
  size_t next = 0;
  for (bool one : ones) out.push_back(one ? Dim(1) : x.shape[next++]);
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

}  // namespace tarmac
