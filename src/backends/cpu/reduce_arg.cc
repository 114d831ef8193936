// CPU reference kernels for ArgMax, ArgMin, TopK and CumSum: ops that scan one axis.
#include <algorithm>
#include <cmath>
#include <utility>

#include "backends/cpu/reduce_util.h"

namespace tarmac {

namespace {

using reduce_detail::AxisView;

/// Columns of an [n, inner] slab that one ArgMax/ArgMin task handles.
constexpr int64_t kColumnBlock = 256;

/// Strict "a ranks below b" with NaN above every number, so NaN is what ArgMax/TopK(largest)
/// pick first and TopK(smallest) picks last (numpy's ordering).
template <typename C>
inline bool ranks_below(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

/// Like ranks_below but with NaN under every number (what ArgMin must pick first).
template <typename C>
inline bool ranks_below_nan_low(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(b)) return false;
    if (std::isnan(a)) return true;
  }
  return a < b;
}

/// ArgMax/ArgMin over rows [0, n) of w adjacent columns (row stride `inner`). NaN wins in
/// both directions, as numpy's argmax/argmin pick the first NaN.
template <typename T, bool kMax>
void arg_columns(const T* slab, int64_t n, int64_t inner, int64_t w, bool last, compute_t<T>* best,
                 int64_t* best_j) {
  using C = compute_t<T>;
  for (int64_t c = 0; c < w; ++c) {
    best[c] = load(slab[c]);
    best_j[c] = 0;
  }
  for (int64_t j = 1; j < n; ++j) {
    const T* row = slab + j * inner;
    for (int64_t c = 0; c < w; ++c) {
      const C cur = load(row[c]);
      const bool better = kMax ? ranks_below(best[c], cur) : ranks_below_nan_low(cur, best[c]);
      const bool tie = !ranks_below(best[c], cur) && !ranks_below(cur, best[c]);
      if (better || (last && tie)) {
        best[c] = cur;
        best_j[c] = j;
      }
    }
  }
}

bool arg_dtype_ok(DType t) { return is_floating(t) || is_integer(t); }

template <bool kMax>
Status run_arg(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "input 'data' is missing");
  const Tensor& x = ctx.input(0);
  if (!arg_dtype_ok(x.dtype()))
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype()));
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis, reduce_detail::checked_axis(node, "axis", node.attr_int("axis", 0), rank));
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  const bool last = ctx.opset >= 12 && node.attr_int("select_last_index", 0) != 0;
  const AxisView v = reduce_detail::axis_view(x.dims(), axis, axis + 1);
  Dims out_dims = x.dims();
  if (keepdims) {
    out_dims[static_cast<size_t>(axis)] = 1;
  } else {
    out_dims.erase(out_dims.begin() + axis);
  }
  if (v.n == 0 && v.outer * v.inner > 0)
    return node_error(node, "cannot take the arg{} of an empty axis {}", kMax ? "max" : "min",
                      axis);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt64, out_dims));
  int64_t* out = y->data<int64_t>();
  // Tasks cover a block of columns of one [n, inner] slab and walk its rows in memory order.
  const int64_t width = std::min<int64_t>(std::max<int64_t>(v.inner, 1), kColumnBlock);
  const int64_t blocks = (v.inner + width - 1) / width;
  reduce_detail::dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    parallel_for(v.outer * blocks, reduce_detail::grain_for(v.n * width),
                 [&](int64_t b, int64_t e) {
                   std::vector<compute_t<T>> best(static_cast<size_t>(width));
                   std::vector<int64_t> best_j(static_cast<size_t>(width));
                   for (int64_t t = b; t < e; ++t) {
                     const int64_t o = t / blocks, c0 = (t % blocks) * width;
                     const int64_t w = std::min(width, v.inner - c0);
                     arg_columns<T, kMax>(in + o * v.n * v.inner + c0, v.n, v.inner, w, last,
                                          best.data(), best_j.data());
                     std::copy(best_j.begin(), best_j.begin() + w, out + o * v.inner + c0);
                   }
                 });
  });
  return Status::ok();
}

}  // namespace

Status cpu_ArgMax(KernelContext& ctx) { return run_arg<true>(ctx); }
Status cpu_ArgMin(KernelContext& ctx) { return run_arg<false>(ctx); }

Status cpu_TopK(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "input 'X' is missing");
  const Tensor& x = ctx.input(0);
  if (!is_floating(x.dtype()) && !is_integer(x.dtype()))
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype()));
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis, reduce_detail::checked_axis(node, "axis", node.attr_int("axis", -1), rank));
  int64_t k = 0;
  if (ctx.opset < 10) {
    if (!node.has_attr("k")) return node_error(node, "attribute 'k' is required before opset 10");
    k = node.attr_int("k", 0);
  } else {
    if (!ctx.has_input(1)) return node_error(node, "input 'K' is missing");
    const Tensor& kt = ctx.input(1);
    if (kt.dtype() != DType::kInt64 && kt.dtype() != DType::kInt32)
      return node_error(node, "K must be int64, got {}", dtype_name(kt.dtype()));
    if (kt.numel() != 1)
      return node_error(node, "K must hold exactly one value, got shape {}",
                        dims_to_string(kt.dims()));
    k = kt.as_int64(0);
  }
  const bool largest = ctx.opset < 11 || node.attr_int("largest", 1) != 0;
  const AxisView v = reduce_detail::axis_view(x.dims(), axis, axis + 1);
  if (k < 0) return node_error(node, "K must be non-negative, got {}", k);
  if (k > v.n)
    return node_error(node, "K = {} is larger than dimension {} (size {}) of the input", k, axis,
                      v.n);
  Dims out_dims = x.dims();
  out_dims[static_cast<size_t>(axis)] = k;
  TARMAC_ASSIGN_OR_RETURN(Tensor * values, ctx.allocate_output(0, x.dtype(), out_dims));
  TARMAC_ASSIGN_OR_RETURN(Tensor * indices, ctx.allocate_output(1, DType::kInt64, out_dims));
  if (values->numel() == 0) return Status::ok();
  int64_t* out_idx = indices->data<int64_t>();
  reduce_detail::dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    const T* in = x.data<T>();
    T* out_val = values->data<T>();
    // Ties keep the lower index first, as the spec requires.
    auto before = [largest](const std::pair<C, int64_t>& a, const std::pair<C, int64_t>& b) {
      const bool lt = ranks_below(a.first, b.first), gt = ranks_below(b.first, a.first);
      if (lt || gt) return largest ? gt : lt;
      return a.second < b.second;
    };
    parallel_for(v.outer * v.inner, reduce_detail::grain_for(v.n * 4), [&](int64_t b, int64_t e) {
      std::vector<std::pair<C, int64_t>> buf(static_cast<size_t>(v.n));
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / v.inner, i = t % v.inner;
        const T* p = in + o * v.n * v.inner + i;
        for (int64_t j = 0; j < v.n; ++j) buf[static_cast<size_t>(j)] = {load(p[j * v.inner]), j};
        // Selection then a sort of the k winners: O(n + k log k) instead of a full sort.
        if (k > 0 && k < v.n)
          std::nth_element(buf.begin(), buf.begin() + (k - 1), buf.end(), before);
        std::sort(buf.begin(), buf.begin() + k, before);
        const int64_t obase = o * k * v.inner + i;
        for (int64_t j = 0; j < k; ++j) {
          const int64_t src = buf[static_cast<size_t>(j)].second;
          out_val[obase + j * v.inner] = p[src * v.inner];
          out_idx[obase + j * v.inner] = src;
        }
      }
    });
  });
  return Status::ok();
}

Status cpu_CumSum(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1))
    return node_error(node, "expects inputs 'x' and 'axis'");
  const Tensor& x = ctx.input(0);
  const Tensor& at = ctx.input(1);
  if (!is_floating(x.dtype()) && x.dtype() != DType::kInt32 && x.dtype() != DType::kInt64)
    return node_error(node, "input dtype {} is not supported", dtype_name(x.dtype()));
  if (at.dtype() != DType::kInt32 && at.dtype() != DType::kInt64)
    return node_error(node, "axis must be int32 or int64, got {}", dtype_name(at.dtype()));
  if (at.numel() != 1 || at.rank() > 1)
    return node_error(node, "axis must be a scalar, got shape {}", dims_to_string(at.dims()));
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis,
                          reduce_detail::checked_axis(node, "axis", at.as_int64(0), rank));
  const bool exclusive = node.attr_int("exclusive", 0) != 0;
  const bool reverse = node.attr_int("reverse", 0) != 0;
  const AxisView v = reduce_detail::axis_view(x.dims(), axis, axis + 1);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  if (y->numel() == 0) return Status::ok();
  reduce_detail::dispatch_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = reduce_detail::acc_t<T>;
    const T* in = x.data<T>();
    T* out = y->data<T>();
    parallel_for(v.outer, reduce_detail::grain_for(v.n * v.inner), [&](int64_t b, int64_t e) {
      std::vector<A> acc(static_cast<size_t>(v.inner));
      for (int64_t o = b; o < e; ++o) {
        std::fill(acc.begin(), acc.end(), A{0});
        for (int64_t s = 0; s < v.n; ++s) {
          const int64_t j = reverse ? v.n - 1 - s : s;
          const int64_t off = (o * v.n + j) * v.inner;
          for (int64_t i = 0; i < v.inner; ++i) {
            A& a = acc[static_cast<size_t>(i)];
            const A cur = static_cast<A>(load(in[off + i]));
            if (exclusive) {
              out[off + i] = reduce_detail::from_acc<T>(a);
              a = reduce_detail::wrap_add(a, cur);
            } else {
              a = reduce_detail::wrap_add(a, cur);
              out[off + i] = reduce_detail::from_acc<T>(a);
            }
          }
        }
      }
    });
  });
  return Status::ok();
}

}  // namespace tarmac
