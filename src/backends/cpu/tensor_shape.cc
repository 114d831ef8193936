// CPU kernels for the tensor ops that compute shapes or make new tensors: Constant,
// ConstantOfShape, Expand, Flatten, NonZero, Range, Reshape, Shape, Size, Squeeze, Tile,
// Unsqueeze. Reshape-like ops return a view sharing the input's storage: tensors are never
// written after they are produced, so the copy would buy nothing.
#include <cstring>

#include "backends/cpu/tensor_util.h"

namespace tarmac {

using tensor_ops::IntsArg;
using tensor_ops::require_inputs;

Status cpu_Constant(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(Tensor v, tensor_ops::constant_value(ctx.node));
  if (ctx.outputs.empty()) return node_error(ctx.node, "has no output");
  return tensor_ops::set_output(ctx, 0, std::move(v));
}

namespace {

/// Fills `out` with the single element of `value` (same dtype).
void fill_with(Tensor* out, const Tensor& value) {
  dispatch_all(out->dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.data<T>()[0];
    T* d = out->data<T>();
    parallel_for(out->numel(), 1 << 16, [&](int64_t b, int64_t e) { std::fill(d + b, d + e, v); });
  });
}

}  // namespace

Status cpu_ConstantOfShape(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  TARMAC_ASSIGN_OR_RETURN(Tensor fill, tensor_ops::constant_of_shape_fill(ctx.node));
  TARMAC_ASSIGN_OR_RETURN(Dims dims, tensor_ops::shape_input_dims(ctx.node, ctx.input(0)));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, fill.dtype(), dims));
  fill_with(out, fill);
  return Status::ok();
}

Status cpu_Expand(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(Dims shape, tensor_ops::shape_input_dims(ctx.node, ctx.input(1)));
  TARMAC_ASSIGN_OR_RETURN(Dims out_dims, broadcast_dims(ctx.node, {x.dims(), shape}));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  const Dims in_strides = row_major_strides(x.dims());
  const size_t lead = out_dims.size() - x.dims().size();
  Dims strides(out_dims.size(), 0);
  for (size_t k = 0; k < x.dims().size(); ++k)
    strides[lead + k] = x.dims()[k] == 1 ? 0 : in_strides[k];
  tensor_ops::copy_strided(x.raw(), out->raw(), dtype_size(x.dtype()), out_dims, strides);
  return Status::ok();
}

Status cpu_Flatten(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis,
      tensor_ops::flatten_axis(ctx.node, ctx.opset, ctx.node.attr_int("axis", 1), x.rank()));
  Dims dims{1, 1};
  for (int64_t k = 0; k < x.rank(); ++k) dims[k < axis ? 0 : 1] *= x.dims()[static_cast<size_t>(k)];
  return tensor_ops::set_output(ctx, 0, x.reshaped(dims));
}

Status cpu_NonZero(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  const int64_t n = x.numel();
  std::vector<uint8_t> nz(static_cast<size_t>(n));
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    // NaN counts as non-zero, like numpy.
    for (int64_t i = 0; i < n; ++i)
      nz[static_cast<size_t>(i)] = !(static_cast<double>(load(p[i])) == 0.0);
  });
  int64_t count = 0;
  for (uint8_t v : nz) count += v;
  const int64_t rank = x.rank();
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kInt64, {rank, count}));
  int64_t* o = out->data<int64_t>();
  const Dims& dims = x.dims();
  int64_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!nz[static_cast<size_t>(i)]) continue;
    int64_t rem = i;
    for (int64_t k = rank - 1; k >= 0; --k) {
      const int64_t d = dims[static_cast<size_t>(k)];
      o[k * count + j] = rem % d;
      rem /= d;
    }
    ++j;
  }
  return Status::ok();
}

Status cpu_Range(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
  const Tensor &start = ctx.input(0), &delta = ctx.input(2);
  TARMAC_ASSIGN_OR_RETURN(int64_t count,
                          tensor_ops::range_count(ctx.node, start, ctx.input(1), delta));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, start.dtype(), {count}));
  dispatch_all(start.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* o = out->data<T>();
    if constexpr (std::is_integral_v<T>) {
      const int64_t s = start.as_int64(0), d = delta.as_int64(0);
      for (int64_t i = 0; i < count; ++i) o[i] = static_cast<T>(s + i * d);
    } else {
      const double s = start.as_double(0), d = delta.as_double(0);
      for (int64_t i = 0; i < count; ++i) o[i] = store<T>(static_cast<compute_t<T>>(s + i * d));
    }
  });
  return Status::ok();
}

Status cpu_Reshape(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> shape;
  if (ctx.opset < 5) {
    if (!ctx.node.has_attr("shape")) return node_error(ctx.node, "attribute 'shape' is required");
    shape = ctx.node.attr_ints("shape");
  } else {
    TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
    TARMAC_ASSIGN_OR_RETURN(shape, tensor_ops::int_list(ctx.node, ctx.input(1), "shape"));
  }
  const bool allowzero = ctx.opset >= 14 && ctx.node.attr_int("allowzero", 0) != 0;
  if (allowzero && std::count(shape.begin(), shape.end(), 0) &&
      std::count(shape.begin(), shape.end(), -1)) {
    return node_error(ctx.node, "with allowzero=1 the shape must not contain both 0 and -1");
  }
  TARMAC_ASSIGN_OR_RETURN(Dims dims,
                          tensor_ops::reshape_dims(ctx.node, x.dims(), shape, allowzero));
  return tensor_ops::set_output(ctx, 0, x.reshaped(dims));
}

Status cpu_Shape(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  const auto [start, end] = tensor_ops::shape_slice(ctx.node, ctx.opset, x.rank());
  std::vector<int64_t> v(x.dims().begin() + start, x.dims().begin() + end);
  return tensor_ops::set_output(ctx, 0, Tensor::from_vector<int64_t>(v, {end - start}));
}

Status cpu_Size(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  return tensor_ops::set_output(ctx, 0, Tensor::scalar<int64_t>(ctx.input(0).numel()));
}

Status cpu_Squeeze(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(IntsArg axes, tensor_ops::ints_arg(ctx, 13, "axes", 1));
  std::vector<bool> drop(static_cast<size_t>(x.rank()), false);
  if (axes.absent()) {
    for (size_t k = 0; k < drop.size(); ++k) drop[k] = x.dims()[k] == 1;
  } else {
    TARMAC_ASSIGN_OR_RETURN(auto ax, tensor_ops::normalize_axes(ctx.node, axes.values, x.rank()));
    for (int64_t a : ax) {
      if (x.dims()[static_cast<size_t>(a)] != 1) {
        return node_error(ctx.node, "cannot squeeze axis {} of size {} (input shape {})", a,
                          x.dims()[static_cast<size_t>(a)], dims_to_string(x.dims()));
      }
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Dims dims;
  for (size_t k = 0; k < drop.size(); ++k)
    if (!drop[k]) dims.push_back(x.dims()[k]);
  return tensor_ops::set_output(ctx, 0, x.reshaped(dims));
}

Status cpu_Tile(KernelContext& ctx) {
  const Node& n = ctx.node;
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, ctx.opset < 6 ? 3 : 2));
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> reps;
  if (ctx.opset < 6) {
    TARMAC_ASSIGN_OR_RETURN(auto ta,
                            tensor_ops::tile_v1_args(n, ctx.input(1), ctx.input(2), x.rank()));
    reps.assign(static_cast<size_t>(x.rank()), 1);
    reps[static_cast<size_t>(ta.second)] = ta.first;
  } else {
    TARMAC_ASSIGN_OR_RETURN(reps, tensor_ops::tile_repeats(n, ctx.input(1), x.rank()));
  }
  const Dims& in = x.dims();
  Dims out_dims(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    TARMAC_ASSIGN_OR_RETURN(out_dims[k], tensor_ops::checked_mul(n, in[k], reps[k]));
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  if (out->numel() == 0) return Status::ok();
  const size_t es = dtype_size(x.dtype());
  if (in.empty()) {
    std::memcpy(out->raw(), x.raw(), es);
    return Status::ok();
  }
  // Each output row (all dims but the last) is the matching input row repeated.
  const size_t last = in.size() - 1;
  const int64_t in_row = in[last], out_row = out_dims[last];
  const int64_t rows = out->numel() / out_row;
  const Dims in_strides = row_major_strides(in);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  const int64_t row_bytes = out_row * static_cast<int64_t>(es);
  parallel_for(rows, std::max<int64_t>(1, (1 << 16) / row_bytes), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t rem = r, off = 0;
      for (int64_t k = static_cast<int64_t>(last) - 1; k >= 0; --k) {
        const auto u = static_cast<size_t>(k);
        off += (rem % out_dims[u]) % in[u] * in_strides[u];
        rem /= out_dims[u];
      }
      uint8_t* d = dst + r * row_bytes;
      const size_t chunk = static_cast<size_t>(in_row) * es;
      for (int64_t t = 0; t < reps[last]; ++t) std::memcpy(d + t * chunk, src + off * es, chunk);
    }
  });
  return Status::ok();
}

Status cpu_Unsqueeze(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(IntsArg axes, tensor_ops::ints_arg(ctx, 13, "axes", 1));
  if (axes.absent()) return node_error(ctx.node, "axes are required");
  TARMAC_ASSIGN_OR_RETURN(std::vector<bool> ones,
                          tensor_ops::unsqueeze_mask(ctx.node, axes.values, x.rank()));
  Dims dims;
  size_t next = 0;
  for (bool one : ones) dims.push_back(one ? 1 : x.dims()[next++]);
  return tensor_ops::set_output(ctx, 0, x.reshaped(dims));
}

}  // namespace tarmac
