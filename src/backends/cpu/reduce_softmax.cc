// CPU reference kernels for Softmax and LogSoftmax.
//
// Opsets 1-12 coerce the input to 2-D at `axis` (default 1) and normalize each row of the
// flattened tail; opset 13 normalizes along the single axis `axis` (default -1). Both are
// the [outer, n, inner] view with inner == 1 for the old form. Each slice subtracts its max
// before exponentiating, and sums exponentials in double.
#include <cmath>
#include <limits>

#include "backends/cpu/reduce_util.h"

namespace tarmac {

namespace {

using reduce_detail::AxisView;

/// Columns of an [n, inner] slab handled by one task when inner > 1.
constexpr int64_t kColumnBlock = 256;

template <typename T, bool kLog>
void softmax_contiguous(const T* x, T* y, int64_t n) {
  using C = compute_t<T>;
  C mx = -std::numeric_limits<C>::infinity();
  for (int64_t j = 0; j < n; ++j) {
    const C v = load(x[j]);
    if (v > mx || std::isnan(v)) mx = v;
  }
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += static_cast<double>(std::exp(load(x[j]) - mx));
  if constexpr (kLog) {
    const C lse = static_cast<C>(std::log(sum));
    for (int64_t j = 0; j < n; ++j) y[j] = store<T>(static_cast<C>((load(x[j]) - mx) - lse));
  } else {
    const double inv = 1.0 / sum;
    for (int64_t j = 0; j < n; ++j)
      y[j] = store<T>(static_cast<C>(static_cast<double>(std::exp(load(x[j]) - mx)) * inv));
  }
}

/// Columns [c0, c1) of one [n, inner] slab, walking rows in memory order.
template <typename T, bool kLog>
void softmax_strided(const T* x, T* y, int64_t n, int64_t inner, int64_t c0, int64_t c1,
                     std::vector<double>* mx_buf, std::vector<double>* sum_buf) {
  using C = compute_t<T>;
  const int64_t w = c1 - c0;
  std::vector<double>& mx = *mx_buf;
  std::vector<double>& sum = *sum_buf;
  mx.assign(static_cast<size_t>(w), -std::numeric_limits<double>::infinity());
  sum.assign(static_cast<size_t>(w), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    const T* row = x + j * inner + c0;
    for (int64_t c = 0; c < w; ++c) {
      const double v = static_cast<double>(load(row[c]));
      double& m = mx[static_cast<size_t>(c)];
      if (v > m || std::isnan(v)) m = v;
    }
  }
  for (int64_t j = 0; j < n; ++j) {
    const T* row = x + j * inner + c0;
    for (int64_t c = 0; c < w; ++c) {
      const C d = load(row[c]) - static_cast<C>(mx[static_cast<size_t>(c)]);
      sum[static_cast<size_t>(c)] += static_cast<double>(std::exp(d));
    }
  }
  for (int64_t c = 0; c < w; ++c) {
    double& s = sum[static_cast<size_t>(c)];
    s = kLog ? std::log(s) : 1.0 / s;
  }
  for (int64_t j = 0; j < n; ++j) {
    const T* row = x + j * inner + c0;
    T* out = y + j * inner + c0;
    for (int64_t c = 0; c < w; ++c) {
      const C d = load(row[c]) - static_cast<C>(mx[static_cast<size_t>(c)]);
      const double s = sum[static_cast<size_t>(c)];
      if constexpr (kLog) {
        out[c] = store<T>(static_cast<C>(d - static_cast<C>(s)));
      } else {
        out[c] = store<T>(static_cast<C>(static_cast<double>(std::exp(d)) * s));
      }
    }
  }
}

template <bool kLog>
Status run_softmax(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "input is missing");
  const Tensor& x = ctx.input(0);
  if (!is_floating(x.dtype()))
    return node_error(node, "input dtype {} is not supported (floating types only)",
                      dtype_name(x.dtype()));
  const int64_t rank = x.rank();
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  const bool coerce_2d = ctx.opset < 13;
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis,
      reduce_detail::checked_axis(node, "axis", node.attr_int("axis", coerce_2d ? 1 : -1), rank));
  const AxisView v = reduce_detail::axis_view(x.dims(), axis, coerce_2d ? rank : axis + 1);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  if (y->numel() == 0) return Status::ok();
  reduce_detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y->data<T>();
    if (v.inner == 1) {
      parallel_for(v.outer, reduce_detail::grain_for(v.n * 8), [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o)
          softmax_contiguous<T, kLog>(in + o * v.n, out + o * v.n, v.n);
      });
      return;
    }
    const int64_t blocks = (v.inner + kColumnBlock - 1) / kColumnBlock;
    const int64_t per_task = v.n * std::min(v.inner, kColumnBlock) * 8;
    parallel_for(v.outer * blocks, reduce_detail::grain_for(per_task), [&](int64_t b, int64_t e) {
      std::vector<double> mx, sum;
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / blocks, blk = t % blocks;
        const int64_t c0 = blk * kColumnBlock, c1 = std::min(v.inner, c0 + kColumnBlock);
        softmax_strided<T, kLog>(in + o * v.n * v.inner, out + o * v.n * v.inner, v.n, v.inner, c0,
                                 c1, &mx, &sum);
      }
    });
  });
  return Status::ok();
}

}  // namespace

Status cpu_Softmax(KernelContext& ctx) { return run_softmax<false>(ctx); }
Status cpu_LogSoftmax(KernelContext& ctx) { return run_softmax<true>(ctx); }

}  // namespace tarmac
