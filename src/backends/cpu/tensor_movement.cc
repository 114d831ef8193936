// CPU kernels for the tensor ops that move data: Concat, DepthToSpace, Pad, Slice,
// SpaceToDepth, Split, Transpose. Contiguous runs are moved with memcpy and big loops are split
// across threads; the permuting ops are strided views handed to copy_strided.
#include <cstring>

#include "backends/cpu/tensor_util.h"

namespace tarmac {

using tensor_ops::IntsArg;
using tensor_ops::require_inputs;

namespace {

constexpr int64_t kGrainBytes = 64 * 1024;

/// A memcpy job list run in parallel: job j copies `bytes(j)` from `src(j)` to `dst(j)`.
template <typename F>
void parallel_jobs(int64_t jobs, int64_t avg_bytes, F&& job) {
  parallel_for(jobs, std::max<int64_t>(1, kGrainBytes / std::max<int64_t>(avg_bytes, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t j = b; j < e; ++j) job(j);
               });
}

/// Product of dims[b, e).
int64_t span(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t k = b; k < e; ++k) p *= d[k];
  return p;
}

}  // namespace

Status cpu_Concat(KernelContext& ctx) {
  const Node& n = ctx.node;
  const size_t count = ctx.num_inputs();
  if (count == 0) return node_error(n, "needs at least one input");
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, count));
  const Tensor& first = ctx.input(0);
  const int64_t rank = first.rank();
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, tensor_ops::concat_axis(n, ctx.opset, rank));
  const auto a = static_cast<size_t>(axis);
  Dims out_dims = first.dims();
  out_dims[a] = 0;
  for (size_t i = 0; i < count; ++i) {
    const Tensor& t = ctx.input(i);
    if (t.dtype() != first.dtype()) {
      return node_error(n, "input {} is {} but input 0 is {}", i, dtype_name(t.dtype()),
                        dtype_name(first.dtype()));
    }
    bool same = t.rank() == rank;
    for (size_t k = 0; same && k < out_dims.size(); ++k)
      same = k == a || t.dims()[k] == first.dims()[k];
    if (!same) {
      return node_error(n, "input {} has shape {}, incompatible with input 0 {} on axis {}", i,
                        dims_to_string(t.dims()), dims_to_string(first.dims()), axis);
    }
    out_dims[a] += t.dims()[a];
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, first.dtype(), out_dims));
  const int64_t es = static_cast<int64_t>(dtype_size(first.dtype()));
  const int64_t outer = span(out_dims, 0, a);
  const int64_t inner = span(out_dims, a + 1, out_dims.size());
  const int64_t out_row = out_dims[a] * inner * es;
  std::vector<int64_t> chunk(count), offset(count);
  int64_t at = 0;
  for (size_t i = 0; i < count; ++i) {
    chunk[i] = ctx.input(i).dims()[a] * inner * es;
    offset[i] = at;
    at += chunk[i];
  }
  auto* dst = static_cast<uint8_t*>(out->raw());
  if (outer == 1) {
    for (size_t i = 0; i < count; ++i)
      tensor_ops::parallel_copy(ctx.input(i).raw(), dst + offset[i], 1, chunk[i]);
    return Status::ok();
  }
  const auto c = static_cast<int64_t>(count);
  parallel_jobs(outer * c, out_row / c, [&](int64_t j) {
    const int64_t o = j / c;
    const auto i = static_cast<size_t>(j % c);
    std::memcpy(dst + o * out_row + offset[i],
                static_cast<const uint8_t*>(ctx.input(i).raw()) + o * chunk[i],
                static_cast<size_t>(chunk[i]));
  });
  return Status::ok();
}

Status cpu_Split(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Node& n = ctx.node;
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) return node_error(n, "cannot split a scalar");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, n.attr_int("axis", 0), x.rank()));
  const auto a = static_cast<size_t>(axis);
  TARMAC_ASSIGN_OR_RETURN(IntsArg split, tensor_ops::split_arg(ctx));
  TARMAC_ASSIGN_OR_RETURN(
      std::vector<int64_t> sizes,
      tensor_ops::split_sizes(n, ctx.opset, split, x.dims()[a], ctx.outputs.size()));
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t outer = span(x.dims(), 0, a);
  const int64_t inner = span(x.dims(), a + 1, x.dims().size()) * es;
  const int64_t in_row = x.dims()[a] * inner;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  int64_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Dims dims = x.dims();
    dims[a] = sizes[i];
    TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(i, x.dtype(), dims));
    auto* dst = static_cast<uint8_t*>(out->raw());
    const int64_t chunk = sizes[i] * inner;
    if (outer == 1) {
      tensor_ops::parallel_copy(src + at, dst, 1, chunk);
    } else {
      parallel_jobs(outer, chunk, [&](int64_t o) {
        std::memcpy(dst + o * chunk, src + o * in_row + at, static_cast<size_t>(chunk));
      });
    }
    at += chunk;
  }
  return Status::ok();
}

Status cpu_Slice(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::SliceArgs s, tensor_ops::slice_args(ctx, x.rank()));
  const Dims in_strides = row_major_strides(x.dims());
  Dims out_dims = x.dims();
  Dims strides = in_strides;
  int64_t offset = 0;
  for (size_t i = 0; i < s.axes.size(); ++i) {
    const auto k = static_cast<size_t>(s.axes[i]);
    int64_t first = 0, count = 0;
    tensor_ops::clamp_slice(x.dims()[k], s.starts[i], s.ends[i], s.steps[i], &first, &count);
    out_dims[k] = count;
    offset += first * in_strides[k];
    // A single element needs no stride, and steps beyond the dim would overflow the product.
    strides[k] = count > 1 ? in_strides[k] * s.steps[i] : 0;
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  if (out->numel() == 0) return Status::ok();
  const size_t es = dtype_size(x.dtype());
  tensor_ops::copy_strided(static_cast<const uint8_t*>(x.raw()) + offset * static_cast<int64_t>(es),
                           out->raw(), es, out_dims, strides);
  return Status::ok();
}

Status cpu_Transpose(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(auto perm, tensor_ops::transpose_perm(ctx.node, x.rank()));
  const Dims in_strides = row_major_strides(x.dims());
  Dims out_dims, strides;
  for (int64_t p : perm) {
    out_dims.push_back(x.dims()[static_cast<size_t>(p)]);
    strides.push_back(in_strides[static_cast<size_t>(p)]);
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  tensor_ops::copy_strided(x.raw(), out->raw(), dtype_size(x.dtype()), out_dims, strides);
  return Status::ok();
}

Status cpu_DepthToSpace(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  bool crd = false;
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(ctx.node, ctx.opset, &crd));
  if (x.rank() != 4) return node_error(ctx.node, "input has rank {}, expected 4", x.rank());
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (C % (b * b) != 0) {
    return node_error(ctx.node, "channels {} are not divisible by blocksize^2 = {}", C, b * b);
  }
  const int64_t c = C / (b * b);
  TARMAC_ASSIGN_OR_RETURN(int64_t oh, tensor_ops::checked_mul(ctx.node, H, b));
  TARMAC_ASSIGN_OR_RETURN(int64_t ow, tensor_ops::checked_mul(ctx.node, W, b));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), {N, c, oh, ow}));
  // Output viewed as [N, c, H, b(row), W, b(col)]; the channel it reads is
  // (row * b + col) * c + ch for DCR and ch * b * b + row * b + col for CRD.
  const int64_t hw = H * W;
  const Dims dims{N, c, H, b, W, b};
  const Dims strides =
      crd ? Dims{C * hw, b * b * hw, W, b * hw, 1, hw} : Dims{C * hw, hw, W, b * c * hw, 1, c * hw};
  tensor_ops::copy_strided(x.raw(), out->raw(), dtype_size(x.dtype()), dims, strides);
  return Status::ok();
}

Status cpu_SpaceToDepth(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(int64_t b, tensor_ops::block_size(ctx.node, ctx.opset, nullptr));
  if (x.rank() != 4) return node_error(ctx.node, "input has rank {}, expected 4", x.rank());
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  if (H % b != 0 || W % b != 0) {
    return node_error(ctx.node, "spatial size {}x{} is not divisible by blocksize {}", H, W, b);
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t oc, tensor_ops::checked_mul(ctx.node, C, b * b));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), {N, oc, H / b, W / b}));
  // Output viewed as [N, b(row), b(col), C, H/b, W/b], reading input (ch, h*b+row, w*b+col).
  const Dims dims{N, b, b, C, H / b, W / b};
  const Dims strides{C * H * W, W, 1, H * W, b * W, b};
  tensor_ops::copy_strided(x.raw(), out->raw(), dtype_size(x.dtype()), dims, strides);
  return Status::ok();
}

namespace {

/// Source index along an axis of size n for padded coordinate c; -1 means "constant".
int64_t pad_source(int64_t c, int64_t n, tensor_ops::PadMode mode) {
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case tensor_ops::PadMode::kConstant:
      return -1;
    case tensor_ops::PadMode::kEdge:
      return c < 0 ? 0 : n - 1;
    case tensor_ops::PadMode::kWrap:
      return ((c % n) + n) % n;
    case tensor_ops::PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      const int64_t m = ((c % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

/// The fill value for constant mode as one element of `dtype`.
StatusOr<Tensor> pad_value(const KernelContext& ctx, DType dtype) {
  if (ctx.opset < 11) return Tensor::scalar<float>(ctx.node.attr_float("value", 0.0f)).cast(dtype);
  if (!ctx.has_input(2)) return Tensor::zeros(dtype, {});
  const Tensor& v = ctx.input(2);
  if (v.dtype() != dtype) {
    return node_error(ctx.node, "constant_value is {} but data is {}", dtype_name(v.dtype()),
                      dtype_name(dtype));
  }
  if (v.numel() == 0) return Tensor::zeros(dtype, {});
  if (v.numel() != 1) {
    return node_error(ctx.node, "constant_value must be a scalar, got shape {}",
                      dims_to_string(v.dims()));
  }
  return v;
}

}  // namespace

Status cpu_Pad(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 1));
  const Node& n = ctx.node;
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(tensor_ops::PadMode mode, tensor_ops::pad_mode(n, ctx.opset));
  const int64_t rank = x.rank();
  TARMAC_ASSIGN_OR_RETURN(IntsArg pads, tensor_ops::pad_amounts(ctx, rank));
  TARMAC_ASSIGN_OR_RETURN(Tensor value, pad_value(ctx, x.dtype()));
  const Dims& in = x.dims();
  Dims out_dims(in.size());
  std::vector<std::vector<int64_t>> source(in.size());  // per axis: output coord -> input coord
  for (size_t k = 0; k < in.size(); ++k) {
    const int64_t begin = pads.values[k], end = pads.values[k + static_cast<size_t>(rank)];
    TARMAC_ASSIGN_OR_RETURN(int64_t grown, tensor_ops::checked_add(n, begin, end));
    TARMAC_ASSIGN_OR_RETURN(out_dims[k], tensor_ops::checked_add(n, in[k], grown));
    if (out_dims[k] < 0) {
      return node_error(n, "pads {} remove more than dimension {} of size {}",
                        fmt::join(pads.values, ","), k, in[k]);
    }
    if (in[k] == 0 && out_dims[k] > 0 && mode != tensor_ops::PadMode::kConstant) {
      return node_error(n, "cannot pad the empty dimension {} in mode {}", k,
                        n.attr_string("mode", "constant"));
    }
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  if (out->numel() == 0) return Status::ok();
  for (size_t k = 0; k < in.size(); ++k) {
    source[k].resize(static_cast<size_t>(out_dims[k]));
    for (int64_t o = 0; o < out_dims[k]; ++o)
      source[k][static_cast<size_t>(o)] = pad_source(o - pads.values[k], in[k], mode);
  }
  const size_t es = dtype_size(x.dtype());
  if (rank == 0) {
    std::memcpy(out->raw(), x.raw(), es);
    return Status::ok();
  }
  const size_t last = in.size() - 1;
  const int64_t row = out_dims[last];
  const int64_t rows = out->numel() / row;
  const Dims in_strides = row_major_strides(in);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  const auto* fill = static_cast<const uint8_t*>(value.raw());
  const std::vector<int64_t>& cols = source[last];
  // Columns [c0, c1) of every row map to a contiguous run of the input row.
  const int64_t c0 = std::clamp<int64_t>(pads.values[last], 0, row);
  const int64_t c1 = std::clamp<int64_t>(pads.values[last] + in[last], c0, row);
  parallel_for(rows, std::max<int64_t>(1, kGrainBytes / (row * static_cast<int64_t>(es))),
               [&](int64_t b, int64_t e) {
                 for (int64_t r = b; r < e; ++r) {
                   uint8_t* d = dst + static_cast<size_t>(r * row) * es;
                   int64_t rem = r, off = 0;
                   bool constant = false;
                   for (int64_t k = static_cast<int64_t>(last) - 1; k >= 0; --k) {
                     const auto u = static_cast<size_t>(k);
                     const int64_t s = source[u][static_cast<size_t>(rem % out_dims[u])];
                     rem /= out_dims[u];
                     if (s < 0) constant = true;
                     off += s * in_strides[u];
                   }
                   for (int64_t c = 0; c < row; ++c) {
                     const bool inside = !constant && c >= c0 && c < c1;
                     if (inside) {
                       std::memcpy(
                           d + static_cast<size_t>(c) * es,
                           src + static_cast<size_t>(off + cols[static_cast<size_t>(c)]) * es,
                           static_cast<size_t>(c1 - c0) * es);
                       c = c1 - 1;
                       continue;
                     }
                     const int64_t s = constant ? -1 : cols[static_cast<size_t>(c)];
                     std::memcpy(d + static_cast<size_t>(c) * es,
                                 s < 0 ? fill : src + static_cast<size_t>(off + s) * es, es);
                   }
                 }
               });
  return Status::ok();
}

}  // namespace tarmac
