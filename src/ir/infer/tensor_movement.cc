// Shape and type inference for the tensor ops that move or index data: Concat, DepthToSpace,
// Gather, GatherElements, GatherND, Pad, ScatterElements, ScatterND, Slice, SpaceToDepth,
// Split, Transpose.
#include "backends/cpu/tensor_util.h"

namespace tarmac {

using tensor_ops::fresh_dims;
using tensor_ops::IntsArg;
using tensor_ops::require_inputs;

namespace {

/// One dim that several inputs must agree on: static wins, conflicts are errors.
StatusOr<Dim> merge_dim(const Node& n, const Dim& a, const Dim& b, size_t axis) {
  if (a.is_static() && b.is_static() && a.value != b.value) {
    return node_error(n, "inputs disagree on dimension {}: {} vs {}", axis, a.value, b.value);
  }
  if (a.is_static()) return a;
  if (b.is_static()) return b;
  return a == b ? a : Dim();
}

Dim unknown_to_fresh(InferContext& ctx, const Dim& d, const char* hint) {
  return d.is_static() || !d.symbol.empty() ? d : ctx.new_dim(hint);
}

}  // namespace

Status infer_Concat(InferContext& ctx) {
  const Node& n = ctx.node;
  if (ctx.num_inputs() == 0) return node_error(n, "needs at least one input");
  const ValueType* shaped = nullptr;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return node_error(n, "input {} is missing", i);
    if (ctx.input(i).dtype != ctx.input(0).dtype) {
      return node_error(n, "input {} is {} but input 0 is {}", i, dtype_name(ctx.input(i).dtype),
                        dtype_name(ctx.input(0).dtype));
    }
    if (ctx.input(i).has_shape && !shaped) shaped = &ctx.input(i);
  }
  const DType dt = ctx.input(0).dtype;
  if (!shaped) {
    ctx.set_output_dtype(0, dt);
    return Status::ok();
  }
  const int64_t rank = shaped->rank();
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, tensor_ops::concat_axis(n, ctx.opset, rank));
  Shape out = shaped->shape;
  int64_t axis_sum = 0;
  bool axis_static = true;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const ValueType& t = ctx.input(i);
    if (!t.has_shape) {
      axis_static = false;
      continue;
    }
    if (t.rank() != rank) {
      return node_error(n, "input {} has rank {} but input with shape {} has rank {}", i, t.rank(),
                        shape_to_string(shaped->shape), rank);
    }
    for (size_t k = 0; k < out.size(); ++k) {
      if (static_cast<int64_t>(k) == axis) continue;
      TARMAC_ASSIGN_OR_RETURN(out[k], merge_dim(n, out[k], t.shape[k], k));
    }
    const Dim& d = t.shape[static_cast<size_t>(axis)];
    if (d.is_static()) {
      axis_sum += d.value;
    } else {
      axis_static = false;
    }
  }
  for (Dim& d : out) d = unknown_to_fresh(ctx, d, "concat");
  out[static_cast<size_t>(axis)] = axis_static ? Dim(axis_sum) : ctx.new_dim("concat");
  ctx.set_output(0, dt, std::move(out));
  return Status::ok();
}

Status infer_DepthToSpace(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  bool crd = false;
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(ctx.node, ctx.opset, &crd));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output(0, x.dtype, fresh_dims(ctx, 4, "d2s"));
    return Status::ok();
  }
  if (x.rank() != 4) return node_error(ctx.node, "input has rank {}, expected 4", x.rank());
  Shape out = x.shape;
  const Dim& c = x.shape[1];
  if (c.is_static()) {
    if (c.value % (b * b) != 0) {
      return node_error(ctx.node, "channels {} are not divisible by blocksize^2 = {}", c.value,
                        b * b);
    }
    out[1] = Dim(c.value / (b * b));
  } else {
    out[1] = ctx.new_dim("d2s");
  }
  for (size_t k = 2; k < 4; ++k) {
    if (!x.shape[k].is_static()) {
      out[k] = ctx.new_dim("d2s");
      continue;
    }
    TARMAC_ASSIGN_OR_RETURN(int64_t v, tensor_ops::checked_mul(ctx.node, x.shape[k].value, b));
    out[k] = Dim(v);
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_SpaceToDepth(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(ctx.node, ctx.opset, nullptr));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output(0, x.dtype, fresh_dims(ctx, 4, "s2d"));
    return Status::ok();
  }
  if (x.rank() != 4) return node_error(ctx.node, "input has rank {}, expected 4", x.rank());
  Shape out = x.shape;
  if (x.shape[1].is_static()) {
    TARMAC_ASSIGN_OR_RETURN(int64_t oc, tensor_ops::checked_mul(ctx.node, x.shape[1].value, b * b));
    out[1] = Dim(oc);
  } else {
    out[1] = ctx.new_dim("s2d");
  }
  for (size_t k = 2; k < 4; ++k) {
    const Dim& d = x.shape[k];
    if (!d.is_static()) {
      out[k] = ctx.new_dim("s2d");
      continue;
    }
    if (d.value % b != 0) {
      return node_error(ctx.node, "dimension {} of size {} is not divisible by blocksize {}", k,
                        d.value, b);
    }
    out[k] = Dim(d.value / b);
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Gather(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const ValueType& x = ctx.input(0);
  const ValueType& idx = ctx.input(1);
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(ctx.node, idx.dtype, "indices"));
  if (!x.has_shape || !idx.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  if (x.rank() < 1) return node_error(ctx.node, "data must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis,
                          normalize_axis(ctx.node, ctx.node.attr_int("axis", 0), x.rank()));
  const auto a = static_cast<size_t>(axis);
  Shape out(x.shape.begin(), x.shape.begin() + static_cast<ptrdiff_t>(a));
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + static_cast<ptrdiff_t>(a) + 1, x.shape.end());
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_GatherElements(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const ValueType& x = ctx.input(0);
  const ValueType& idx = ctx.input(1);
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(ctx.node, idx.dtype, "indices"));
  if (x.has_shape && idx.has_shape) {
    if (x.rank() != idx.rank() || x.rank() < 1) {
      return node_error(ctx.node, "data {} and indices {} must have the same rank >= 1",
                        shape_to_string(x.shape), shape_to_string(idx.shape));
    }
    TARMAC_RETURN_IF_ERROR(
        normalize_axis(ctx.node, ctx.node.attr_int("axis", 0), x.rank()).status());
  }
  if (idx.has_shape) {
    ctx.set_output(0, x.dtype, idx.shape);
  } else {
    ctx.set_output_dtype(0, x.dtype);
  }
  return Status::ok();
}

Status infer_GatherND(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const Node& n = ctx.node;
  const ValueType& x = ctx.input(0);
  const ValueType& idx = ctx.input(1);
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(n, idx.dtype, "indices"));
  if (!x.has_shape || !idx.has_shape || idx.rank() < 1 || !idx.shape.back().is_static()) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  const int64_t b = ctx.opset >= 12 ? n.attr_int("batch_dims", 0) : 0;
  const int64_t r = x.rank(), q = idx.rank(), k = idx.shape.back().value;
  if (b < 0 || b >= std::min(r, q)) {
    return node_error(n, "batch_dims {} must be in [0, min(rank(data) {}, rank(indices) {}))", b, r,
                      q);
  }
  if (k < 1 || k > r - b) {
    return node_error(n, "indices' last dimension {} must be in [1, {}]", k, r - b);
  }
  for (size_t i = 0; i < static_cast<size_t>(b); ++i) {
    TARMAC_RETURN_IF_ERROR(merge_dim(n, x.shape[i], idx.shape[i], i).status());
  }
  Shape out(idx.shape.begin(), idx.shape.end() - 1);
  out.insert(out.end(), x.shape.begin() + b + k, x.shape.end());
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Pad(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Node& n = ctx.node;
  const ValueType& x = ctx.input(0);
  TARMAC_RETURN_IF_ERROR(tensor_ops::pad_mode(n, ctx.opset).status());
  if (ctx.opset >= 11 && ctx.has_input(2) && ctx.input(2).dtype != x.dtype) {
    return node_error(n, "constant_value is {} but data is {}", dtype_name(ctx.input(2).dtype),
                      dtype_name(x.dtype));
  }
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  TARMAC_ASSIGN_OR_RETURN(IntsArg pads, tensor_ops::pad_amounts(ctx, rank));
  if (!pads.known()) {
    ctx.set_output(0, x.dtype, fresh_dims(ctx, rank, "pad"));
    return Status::ok();
  }
  Shape out = x.shape;
  for (size_t k = 0; k < out.size(); ++k) {
    TARMAC_ASSIGN_OR_RETURN(
        int64_t add,
        tensor_ops::checked_add(n, pads.values[k], pads.values[k + static_cast<size_t>(rank)]));
    if (out[k].is_static()) {
      TARMAC_ASSIGN_OR_RETURN(int64_t sum, tensor_ops::checked_add(n, out[k].value, add));
      if (sum < 0) {
        return node_error(n, "pads {} remove more than dimension {} of size {}",
                          fmt::join(pads.values, ","), k, out[k].value);
      }
      out[k] = Dim(sum);
    } else if (add != 0) {
      out[k] = ctx.new_dim("pad");
    }
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

namespace {

Status infer_scatter(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
  const Node& n = ctx.node;
  TARMAC_RETURN_IF_ERROR(tensor_ops::scatter_reduction(n, ctx.opset).status());
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(n, ctx.input(1).dtype, "indices"));
  const ValueType& x = ctx.input(0);
  if (ctx.input(2).dtype != x.dtype) {
    return node_error(n, "updates are {} but data is {}", dtype_name(ctx.input(2).dtype),
                      dtype_name(x.dtype));
  }
  if (x.has_shape) {
    ctx.set_output(0, x.dtype, x.shape);
  } else {
    ctx.set_output_dtype(0, x.dtype);
  }
  return Status::ok();
}

}  // namespace

Status infer_ScatterElements(InferContext& ctx) { return infer_scatter(ctx); }
Status infer_ScatterND(InferContext& ctx) { return infer_scatter(ctx); }
// Scatter (opsets 9-10) is ScatterElements under its deprecated name; not yet in ops.def.
Status infer_Scatter(InferContext& ctx) { return infer_scatter(ctx); }

Status infer_Slice(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::SliceArgs s, tensor_ops::slice_args(ctx, x.rank()));
  if (!s.known) {
    ctx.set_output(0, x.dtype, fresh_dims(ctx, x.rank(), "slice"));
    return Status::ok();
  }
  Shape out = x.shape;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    Dim& d = out[static_cast<size_t>(s.axes[i])];
    if (d.is_static()) {
      int64_t first = 0, count = 0;
      tensor_ops::clamp_slice(d.value, s.starts[i], s.ends[i], s.steps[i], &first, &count);
      d = Dim(count);
    } else if (!(s.starts[i] == 0 && s.steps[i] == 1 &&
                 s.ends[i] >= std::numeric_limits<int32_t>::max())) {
      // Only "everything" (0 to INT_MAX, step 1) keeps a symbolic dim unchanged.
      d = ctx.new_dim("slice");
    }
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Split(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Node& n = ctx.node;
  const ValueType& x = ctx.input(0);
  const size_t outputs = ctx.outputs.size();
  if (!x.has_shape) {
    for (size_t i = 0; i < outputs; ++i) ctx.set_output_dtype(i, x.dtype);
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, n.attr_int("axis", 0), x.rank()));
  if (x.rank() == 0) return node_error(n, "cannot split a scalar");
  TARMAC_ASSIGN_OR_RETURN(IntsArg split, tensor_ops::split_arg(ctx));
  const Dim& d = x.shape[static_cast<size_t>(axis)];
  std::vector<int64_t> sizes;
  if (split.known() || (split.absent() && d.is_static())) {
    // With a symbolic dim the sizes are still checked against each other, not against the dim.
    int64_t dim = d.is_static() ? d.value : 0;
    if (!d.is_static())
      for (int64_t v : split.values) dim += v;
    TARMAC_ASSIGN_OR_RETURN(sizes, tensor_ops::split_sizes(n, ctx.opset, split, dim, outputs));
  }
  for (size_t i = 0; i < outputs; ++i) {
    Shape out = x.shape;
    out[static_cast<size_t>(axis)] = sizes.empty() ? ctx.new_dim("split") : Dim(sizes[i]);
    ctx.set_output(i, x.dtype, std::move(out));
  }
  return Status::ok();
}

Status infer_Transpose(InferContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    if (ctx.node.has_attr("perm")) {
      const int64_t r = static_cast<int64_t>(ctx.node.attr_ints("perm").size());
      TARMAC_RETURN_IF_ERROR(tensor_ops::transpose_perm(ctx.node, r).status());
      ctx.set_output(0, x.dtype, fresh_dims(ctx, r, "transpose"));
    } else {
      ctx.set_output_dtype(0, x.dtype);
    }
    return Status::ok();
  }
  TARMAC_ASSIGN_OR_RETURN(auto perm, tensor_ops::transpose_perm(ctx.node, x.rank()));
  Shape out;
  for (int64_t p : perm) out.push_back(x.shape[static_cast<size_t>(p)]);
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

}  // namespace tarmac
