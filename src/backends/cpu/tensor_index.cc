// CPU kernels for the indexing ops: Gather, GatherElements, GatherND, ScatterElements,
// ScatterND. Every index is validated before any data moves, so a bad index is an error and
// never an out-of-bounds access.
#include <cstring>

#include "backends/cpu/tensor_util.h"

namespace tarmac {

using tensor_ops::Reduction;
using tensor_ops::require_inputs;

namespace {

constexpr int64_t kGrainBytes = 64 * 1024;

/// All indices normalized into [0, n) (negative ones count from the back).
StatusOr<std::vector<int64_t>> checked_indices(const Node& node, const Tensor& idx, int64_t n,
                                               const char* what) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(node, idx.dtype(), what));
  std::vector<int64_t> v = idx.to_int64_vector();
  for (int64_t& i : v) {
    if (i < -n || i >= n) {
      return node_error(node, "index {} is out of range for an axis of size {}", i, n);
    }
    if (i < 0) i += n;
  }
  return v;
}

int64_t span(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t k = b; k < e; ++k) p *= d[k];
  return p;
}

/// Copies one element of `es` bytes; the switch lets the compiler emit a single move.
inline void copy_elem(uint8_t* d, const uint8_t* s, size_t es) {
  switch (es) {
    case 1:
      *d = *s;
      return;
    case 2:
      std::memcpy(d, s, 2);
      return;
    case 4:
      std::memcpy(d, s, 4);
      return;
    case 8:
      std::memcpy(d, s, 8);
      return;
    default:
      std::memcpy(d, s, es);
  }
}

/// dst = reduce(dst, src) for elements of type T.
template <typename T>
inline void reduce_into(T* dst, const T* src, int64_t n, Reduction r) {
  using C = compute_t<T>;
  for (int64_t i = 0; i < n; ++i) {
    const C a = load(dst[i]), b = load(src[i]);
    switch (r) {
      case Reduction::kNone:
        dst[i] = src[i];
        break;
      case Reduction::kAdd:
        dst[i] = store<T>(static_cast<C>(a + b));
        break;
      case Reduction::kMul:
        dst[i] = store<T>(static_cast<C>(a * b));
        break;
      case Reduction::kMax:
        dst[i] = store<T>(a < b ? b : a);
        break;
      case Reduction::kMin:
        dst[i] = store<T>(b < a ? b : a);
        break;
    }
  }
}

}  // namespace

Status cpu_Gather(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const Node& n = ctx.node;
  const Tensor &x = ctx.input(0), &idx_t = ctx.input(1);
  if (x.rank() < 1) return node_error(n, "data must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, n.attr_int("axis", 0), x.rank()));
  const auto a = static_cast<size_t>(axis);
  TARMAC_ASSIGN_OR_RETURN(auto idx, checked_indices(n, idx_t, x.dims()[a], "indices"));
  Dims out_dims(x.dims().begin(), x.dims().begin() + static_cast<ptrdiff_t>(a));
  out_dims.insert(out_dims.end(), idx_t.dims().begin(), idx_t.dims().end());
  out_dims.insert(out_dims.end(), x.dims().begin() + static_cast<ptrdiff_t>(a) + 1, x.dims().end());
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t outer = span(x.dims(), 0, a), axis_len = x.dims()[a];
  const int64_t inner = span(x.dims(), a + 1, x.dims().size()) * es;
  const auto count = static_cast<int64_t>(idx.size());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  parallel_for(outer * count, std::max<int64_t>(1, kGrainBytes / std::max<int64_t>(inner, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t j = b; j < e; ++j) {
                   const int64_t o = j / count, i = idx[static_cast<size_t>(j % count)];
                   std::memcpy(dst + j * inner, src + (o * axis_len + i) * inner,
                               static_cast<size_t>(inner));
                 }
               });
  return Status::ok();
}

Status cpu_GatherElements(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const Node& n = ctx.node;
  const Tensor &x = ctx.input(0), &idx_t = ctx.input(1);
  if (x.rank() < 1 || idx_t.rank() != x.rank()) {
    return node_error(n, "data {} and indices {} must have the same rank >= 1",
                      dims_to_string(x.dims()), dims_to_string(idx_t.dims()));
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, n.attr_int("axis", 0), x.rank()));
  const auto a = static_cast<size_t>(axis);
  for (size_t k = 0; k < x.dims().size(); ++k) {
    if (k != a && idx_t.dims()[k] > x.dims()[k]) {
      return node_error(n, "indices {} exceed data {} on axis {}", dims_to_string(idx_t.dims()),
                        dims_to_string(x.dims()), k);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(auto idx, checked_indices(n, idx_t, x.dims()[a], "indices"));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), idx_t.dims()));
  const size_t es = dtype_size(x.dtype());
  const Dims& od = idx_t.dims();
  const Dims xs = row_major_strides(x.dims());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  parallel_for(out->numel(), 1 << 14, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t rem = i, off = 0;
      for (int64_t k = static_cast<int64_t>(od.size()) - 1; k >= 0; --k) {
        const auto u = static_cast<size_t>(k);
        const int64_t c = u == a ? idx[static_cast<size_t>(i)] : rem % od[u];
        rem /= od[u];
        off += c * xs[u];
      }
      copy_elem(dst + static_cast<size_t>(i) * es, src + static_cast<size_t>(off) * es, es);
    }
  });
  return Status::ok();
}

namespace {

/// For GatherND/ScatterND: the element offset into data of each index tuple.
/// indices [..., k] address data dims [b, b + k) within batch entry (tuple / per_batch).
StatusOr<std::vector<int64_t>> nd_offsets(const Node& n, const Tensor& data, const Tensor& idx,
                                          int64_t b) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(n, idx.dtype(), "indices"));
  const Dims& dd = data.dims();
  const int64_t k = idx.dims().back();
  const Dims ds = row_major_strides(dd);
  const int64_t tuples = k == 0 ? idx.numel() : idx.numel() / k;
  const int64_t batches = span(idx.dims(), 0, static_cast<size_t>(b));
  const int64_t per_batch = batches == 0 ? 0 : tuples / batches;
  const int64_t batch_stride = span(dd, static_cast<size_t>(b), dd.size());
  std::vector<int64_t> off(static_cast<size_t>(tuples));
  const std::vector<int64_t> v = idx.to_int64_vector();
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t o = (t / per_batch) * batch_stride;
    for (int64_t m = 0; m < k; ++m) {
      const auto u = static_cast<size_t>(b + m);
      int64_t i = v[static_cast<size_t>(t * k + m)];
      if (i < -dd[u] || i >= dd[u]) {
        return node_error(n, "index {} is out of range for data dimension {} of size {}", i, u,
                          dd[u]);
      }
      if (i < 0) i += dd[u];
      o += i * ds[u];
    }
    off[static_cast<size_t>(t)] = o;
  }
  return off;
}

}  // namespace

Status cpu_GatherND(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 2));
  const Node& n = ctx.node;
  const Tensor &x = ctx.input(0), &idx = ctx.input(1);
  const int64_t b = ctx.opset >= 12 ? n.attr_int("batch_dims", 0) : 0;
  const int64_t r = x.rank(), q = idx.rank();
  if (q < 1 || r < 1) return node_error(n, "data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) {
    return node_error(n, "batch_dims {} must be in [0, min(rank(data) {}, rank(indices) {}))", b, r,
                      q);
  }
  const int64_t k = idx.dims().back();
  if (k < 1 || k > r - b) {
    return node_error(n, "indices' last dimension {} must be in [1, {}]", k, r - b);
  }
  for (size_t i = 0; i < static_cast<size_t>(b); ++i) {
    if (x.dims()[i] != idx.dims()[i]) {
      return node_error(n, "batch dimension {} is {} in data but {} in indices", i, x.dims()[i],
                        idx.dims()[i]);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(auto offsets, nd_offsets(n, x, idx, b));
  Dims out_dims(idx.dims().begin(), idx.dims().end() - 1);
  out_dims.insert(out_dims.end(), x.dims().begin() + b + k, x.dims().end());
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), out_dims));
  const int64_t es = static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t slice = span(x.dims(), static_cast<size_t>(b + k), x.dims().size()) * es;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(out->raw());
  parallel_for(static_cast<int64_t>(offsets.size()),
               std::max<int64_t>(1, kGrainBytes / std::max<int64_t>(slice, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t t = lo; t < hi; ++t) {
                   std::memcpy(dst + t * slice, src + offsets[static_cast<size_t>(t)] * es,
                               static_cast<size_t>(slice));
                 }
               });
  return Status::ok();
}

Status cpu_ScatterElements(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
  const Node& n = ctx.node;
  const Tensor &x = ctx.input(0), &idx_t = ctx.input(1), &upd = ctx.input(2);
  TARMAC_ASSIGN_OR_RETURN(Reduction red, tensor_ops::scatter_reduction(n, ctx.opset));
  if (upd.dtype() != x.dtype()) {
    return node_error(n, "updates are {} but data is {}", dtype_name(upd.dtype()),
                      dtype_name(x.dtype()));
  }
  if (x.rank() < 1 || idx_t.rank() != x.rank() || upd.dims() != idx_t.dims()) {
    return node_error(n,
                      "data {}, indices {} and updates {} must have one rank >= 1, and "
                      "indices and updates one shape",
                      dims_to_string(x.dims()), dims_to_string(idx_t.dims()),
                      dims_to_string(upd.dims()));
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(n, n.attr_int("axis", 0), x.rank()));
  const auto a = static_cast<size_t>(axis);
  for (size_t k = 0; k < x.dims().size(); ++k) {
    if (k != a && idx_t.dims()[k] > x.dims()[k]) {
      return node_error(n, "indices {} exceed data {} on axis {}", dims_to_string(idx_t.dims()),
                        dims_to_string(x.dims()), k);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(auto idx, checked_indices(n, idx_t, x.dims()[a], "indices"));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.dims()));
  std::memcpy(out->raw(), x.raw(), x.nbytes());
  const Dims& id = idx_t.dims();
  const Dims xs = row_major_strides(x.dims());
  // Serial in index order: with repeated indices the last update (or the running reduction)
  // must win deterministically.
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = out->data<T>();
    const T* u = upd.data<T>();
    for (int64_t i = 0; i < upd.numel(); ++i) {
      int64_t rem = i, off = 0;
      for (int64_t k = static_cast<int64_t>(id.size()) - 1; k >= 0; --k) {
        const auto uk = static_cast<size_t>(k);
        const int64_t c = uk == a ? idx[static_cast<size_t>(i)] : rem % id[uk];
        rem /= id[uk];
        off += c * xs[uk];
      }
      reduce_into(d + off, u + i, 1, red);
    }
  });
  return Status::ok();
}

// Scatter (opsets 9-10) is ScatterElements under its deprecated name; not yet in ops.def.
Status cpu_Scatter(KernelContext& ctx) { return cpu_ScatterElements(ctx); }

Status cpu_ScatterND(KernelContext& ctx) {
  TARMAC_RETURN_IF_ERROR(require_inputs(ctx, 3));
  const Node& n = ctx.node;
  const Tensor &x = ctx.input(0), &idx = ctx.input(1), &upd = ctx.input(2);
  TARMAC_ASSIGN_OR_RETURN(Reduction red, tensor_ops::scatter_reduction(n, ctx.opset));
  if (upd.dtype() != x.dtype()) {
    return node_error(n, "updates are {} but data is {}", dtype_name(upd.dtype()),
                      dtype_name(x.dtype()));
  }
  if (x.rank() < 1 || idx.rank() < 1) return node_error(n, "data and indices need rank >= 1");
  const int64_t k = idx.dims().back();
  if (k < 1 || k > x.rank()) {
    return node_error(n, "indices' last dimension {} must be in [1, {}]", k, x.rank());
  }
  Dims want(idx.dims().begin(), idx.dims().end() - 1);
  want.insert(want.end(), x.dims().begin() + k, x.dims().end());
  if (upd.dims() != want) {
    return node_error(n, "updates have shape {} but data {} and indices {} need {}",
                      dims_to_string(upd.dims()), dims_to_string(x.dims()),
                      dims_to_string(idx.dims()), dims_to_string(want));
  }
  TARMAC_ASSIGN_OR_RETURN(auto offsets, nd_offsets(n, x, idx, 0));
  TARMAC_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, x.dtype(), x.dims()));
  std::memcpy(out->raw(), x.raw(), x.nbytes());
  const int64_t slice = span(x.dims(), static_cast<size_t>(k), x.dims().size());
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* d = out->data<T>();
    const T* u = upd.data<T>();
    for (size_t t = 0; t < offsets.size(); ++t)
      reduce_into(d + offsets[t], u + static_cast<int64_t>(t) * slice, slice, red);
  });
  return Status::ok();
}

}  // namespace tarmac
