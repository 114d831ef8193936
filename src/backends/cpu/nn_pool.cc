// CPU kernels for MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool (1-D to 3-D).
#include <algorithm>
#include <limits>
#include <type_traits>

#include "backends/cpu/nn_util.h"

namespace tarmac {

namespace {

/// Pooling geometry with the spatial axes left-padded to three (unit extents), so 1-D, 2-D and
/// 3-D pools share one loop nest. Per axis and output position: the valid taps [lo, hi) and
/// the number of taps inside the padded extent.
struct PoolGeometry {
  int64_t planes = 0, in_size = 1, out_size = 1;
  Dims spatial_out;  // the node's own spatial output dims
  int64_t in[3], out[3], stride[3], dilation[3], pad[3];
  std::vector<int64_t> lo[3], hi[3], padded_taps[3];
};

StatusOr<PoolGeometry> pool_geometry(const KernelContext& ctx, nn::WindowOptions opt) {
  const Node& node = ctx.node;
  const Tensor& x = ctx.input(0);
  if (!node.has_attr("kernel_shape")) return node_error(node, "attribute kernel_shape is required");
  const Dims kernel = node.attr_ints("kernel_shape");
  TARMAC_ASSIGN_OR_RETURN(nn::WindowAttrs a, nn::read_window_attrs(node, kernel, opt));
  const size_t nsp = kernel.size();
  if (x.rank() != static_cast<int>(nsp) + 2) {
    return node_error(node, "input has shape {} but kernel_shape has {} values",
                      dims_to_string(x.dims()), nsp);
  }
  if (nsp > 3) return unsupported("{}: {}-D pooling is not supported", node.describe(), nsp);
  PoolGeometry g;
  g.planes = x.dim(0) * x.dim(1);
  for (size_t ax = 0; ax < 3; ++ax) {
    if (ax < 3 - nsp) {
      g.in[ax] = g.out[ax] = g.stride[ax] = g.dilation[ax] = 1;
      g.pad[ax] = 0;
      g.lo[ax] = {0};
      g.hi[ax] = g.padded_taps[ax] = {1};
      continue;
    }
    const size_t i = ax - (3 - nsp);
    const int64_t in = x.dim(static_cast<int>(i) + 2);
    int64_t pb = 0, pe = 0;
    TARMAC_ASSIGN_OR_RETURN(int64_t out, nn::window_output_size(node, a, i, in, &pb, &pe));
    g.in[ax] = in;
    g.out[ax] = out;
    g.stride[ax] = a.strides[i];
    g.dilation[ax] = a.dilations[i];
    g.pad[ax] = pb;
    g.in_size *= in;
    g.out_size *= out;
    g.spatial_out.push_back(out);
    const int64_t k = kernel[i], s = a.strides[i], d = a.dilations[i];
    for (int64_t o = 0; o < out; ++o) {
      const int64_t start = o * s - pb;  // input index of tap 0
      const int64_t lo = start >= 0 ? 0 : std::min(k, (-start + d - 1) / d);
      const int64_t hi = start >= in ? lo : std::max(lo, std::min(k, (in - start + d - 1) / d));
      // Taps inside [-pb, in + pe): ceil-mode windows may overhang the end padding.
      const int64_t padded = std::min(k, (in + pe - start + d - 1) / d);
      g.lo[ax].push_back(lo);
      g.hi[ax].push_back(hi);
      g.padded_taps[ax].push_back(padded);
    }
  }
  return g;
}

template <typename T>
void max_pool(const PoolGeometry& g, const T* x, T* y, int64_t* indices, bool column_major) {
  parallel_for(g.planes, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * g.in_size;
      T* yp = y + p * g.out_size;
      int64_t* ip = indices ? indices + p * g.out_size : nullptr;
      int64_t q = 0;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++q) {
            T best = std::numeric_limits<T>::lowest();
            int64_t bi0 = -1, bi1 = -1, bi2 = -1;
            for (int64_t k0 = g.lo[0][o0]; k0 < g.hi[0][o0]; ++k0) {
              const int64_t i0 = o0 * g.stride[0] - g.pad[0] + k0 * g.dilation[0];
              for (int64_t k1 = g.lo[1][o1]; k1 < g.hi[1][o1]; ++k1) {
                const int64_t i1 = o1 * g.stride[1] - g.pad[1] + k1 * g.dilation[1];
                const T* row = xp + (i0 * g.in[1] + i1) * g.in[2];
                for (int64_t k2 = g.lo[2][o2]; k2 < g.hi[2][o2]; ++k2) {
                  const int64_t i2 = o2 * g.stride[2] - g.pad[2] + k2 * g.dilation[2];
                  if (bi0 < 0 || row[i2] > best) {
                    best = row[i2];
                    bi0 = i0;
                    bi1 = i1;
                    bi2 = i2;
                  }
                }
              }
            }
            yp[q] = best;
            if (ip) {
              const int64_t local = bi0 < 0        ? -1
                                    : column_major ? bi0 + g.in[0] * (bi1 + g.in[1] * bi2)
                                                   : (bi0 * g.in[1] + bi1) * g.in[2] + bi2;
              ip[q] = local < 0 ? -1 : p * g.in_size + local;
            }
          }
        }
      }
    }
  });
}

/// One pass of a separable pool: reduces axis `ax` of a plane viewed as [outer, in[ax], inner]
/// into [outer, out[ax], inner]. Max and average windows are boxes whose valid taps are a
/// product of per-axis ranges, so three 1-D passes give the N-d result with k taps per
/// output and axis instead of k^3, and the inner loop runs over contiguous memory.
template <typename T, bool kMax>
void pool_axis(const PoolGeometry& g, int ax, const T* in, T* out, int64_t outer, int64_t inner,
               bool count_include_pad) {
  const int64_t l_in = g.in[ax], l_out = g.out[ax];
  const int64_t s = g.stride[ax], d = g.dilation[ax], p = g.pad[ax];
  const auto& lo = g.lo[ax];
  const auto& hi = g.hi[ax];
  for (int64_t a = 0; a < outer; ++a) {
    const T* src = in + a * l_in * inner;
    for (int64_t o = 0; o < l_out; ++o) {
      T* __restrict dst = out + (a * l_out + o) * inner;
      const int64_t k0 = lo[static_cast<size_t>(o)], k1 = hi[static_cast<size_t>(o)];
      if (k0 >= k1) {
        std::fill(dst, dst + inner, kMax ? std::numeric_limits<T>::lowest() : T(0));
        continue;
      }
      const T* first = src + (o * s - p + k0 * d) * inner;
      std::copy(first, first + inner, dst);
      for (int64_t k = k0 + 1; k < k1; ++k) {
        const T* __restrict row = src + (o * s - p + k * d) * inner;
        if constexpr (kMax) {
          for (int64_t b = 0; b < inner; ++b) dst[b] = row[b] > dst[b] ? row[b] : dst[b];
        } else {
          for (int64_t b = 0; b < inner; ++b) dst[b] += row[b];
        }
      }
      if constexpr (!kMax) {
        const int64_t count =
            count_include_pad ? g.padded_taps[ax][static_cast<size_t>(o)] : k1 - k0;
        const T scale = T(1) / static_cast<T>(count);
        for (int64_t b = 0; b < inner; ++b) dst[b] *= scale;
      }
    }
  }
}

/// Max or average pool of every plane through three separable passes (axes that are the
/// identity are skipped). Scratch holds two intermediate planes per chunk of planes.
template <typename T, bool kMax>
Status separable_pool(const Node& node, const PoolGeometry& g, const T* x, T* y,
                      bool count_include_pad) {
  const int64_t mid1 = g.in[0] * g.in[1] * g.out[2];   // after the axis-2 pass
  const int64_t mid2 = g.in[0] * g.out[1] * g.out[2];  // after the axis-1 pass
  const int64_t chunks = std::min<int64_t>(g.planes, num_threads());
  if (chunks <= 0) return Status::ok();
  TARMAC_ASSIGN_OR_RETURN(T * scratch, nn::thread_scratch<T>(node, chunks * (mid1 + mid2)));
  auto identity = [&](int ax) {
    return g.in[ax] == g.out[ax] && g.stride[ax] == 1 && g.pad[ax] == 0 &&
           g.hi[ax][0] - g.lo[ax][0] == 1 && (kMax || g.padded_taps[ax][0] == 1);
  };
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* t1 = scratch + c * (mid1 + mid2);
      T* t2 = t1 + mid1;
      for (int64_t pl = g.planes * c / chunks; pl < g.planes * (c + 1) / chunks; ++pl) {
        const T* src = x + pl * g.in_size;
        T* dst = y + pl * g.out_size;
        // Each pass reads src and writes the next buffer; the last one writes the output.
        const bool skip2 = identity(2), skip1 = identity(1), skip0 = identity(0);
        const T* cur = src;
        if (!skip2) {
          T* next = (skip1 && skip0) ? dst : t1;
          pool_axis<T, kMax>(g, 2, cur, next, g.in[0] * g.in[1], 1, count_include_pad);
          cur = next;
        }
        if (!skip1) {
          T* next = skip0 ? dst : t2;
          pool_axis<T, kMax>(g, 1, cur, next, g.in[0], g.out[2], count_include_pad);
          cur = next;
        }
        if (!skip0) {
          pool_axis<T, kMax>(g, 0, cur, dst, 1, g.out[1] * g.out[2], count_include_pad);
          cur = dst;
        }
        if (cur != dst) std::copy(cur, cur + g.out_size, dst);
      }
    }
  });
  return Status::ok();
}

Dims pool_output_dims(const Tensor& x, const PoolGeometry& g) {
  Dims d{x.dim(0), x.dim(1)};
  d.insert(d.end(), g.spatial_out.begin(), g.spatial_out.end());
  return d;
}

}  // namespace

Status cpu_MaxPool(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "expects input X");
  const DType dt = ctx.input(0).dtype();
  const bool int8 = dt == DType::kInt8 || dt == DType::kUint8;
  if (!is_floating(dt) && !(int8 && ctx.opset >= 12)) {
    return node_error(node, "dtype {} is not supported at opset {}", dtype_name(dt), ctx.opset);
  }
  const bool with_indices = ctx.outputs.size() > 1;
  if (with_indices && ctx.opset < 8) {
    return node_error(node, "the Indices output exists since opset 8");
  }
  const int64_t order = ctx.opset >= 8 ? node.attr_int("storage_order", 0) : 0;
  if (order != 0 && order != 1) {
    return node_error(node, "storage_order is {}, expected 0 or 1", order);
  }
  TARMAC_ASSIGN_OR_RETURN(PoolGeometry g,
                          pool_geometry(ctx, {ctx.opset >= 10, ctx.opset >= 10, false}));
  Tensor keep;
  const Tensor* x = nn::compute_input(&ctx.input(0), &keep);
  const Dims out = pool_output_dims(*x, g);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out));
  int64_t* indices = nullptr;
  if (with_indices) {
    TARMAC_ASSIGN_OR_RETURN(Tensor * it, ctx.allocate_output(1, DType::kInt64, out));
    indices = it->data<int64_t>();
  }
  Status st;
  dispatch_all(x->dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                  std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
      if (indices) {
        max_pool<T>(g, x->data<T>(), y->data<T>(), indices, order == 1);
      } else {
        st = separable_pool<T, true>(node, g, x->data<T>(), y->data<T>(), false);
      }
    }
  });
  TARMAC_RETURN_IF_ERROR(st);
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

Status cpu_AveragePool(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "expects input X");
  const DType dt = ctx.input(0).dtype();
  if (!is_floating(dt)) return node_error(node, "dtype {} is not supported", dtype_name(dt));
  const bool include_pad = ctx.opset >= 7 && node.attr_int("count_include_pad", 0) != 0;
  TARMAC_ASSIGN_OR_RETURN(PoolGeometry g,
                          pool_geometry(ctx, {ctx.opset >= 19, ctx.opset >= 10, false}));
  Tensor keep;
  const Tensor* x = nn::compute_input(&ctx.input(0), &keep);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), pool_output_dims(*x, g)));
  const Status st =
      x->dtype() == DType::kFloat64
          ? separable_pool<double, false>(node, g, x->data<double>(), y->data<double>(),
                                          include_pad)
          : separable_pool<float, false>(node, g, x->data<float>(), y->data<float>(), include_pad);
  TARMAC_RETURN_IF_ERROR(st);
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

namespace {

Status global_pool(KernelContext& ctx, bool max) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0)) return node_error(node, "expects input X");
  const DType dt = ctx.input(0).dtype();
  if (!is_floating(dt)) return node_error(node, "dtype {} is not supported", dtype_name(dt));
  if (ctx.input(0).rank() < 3) {
    return node_error(node, "input has rank {}, expected at least 3", ctx.input(0).rank());
  }
  Tensor keep;
  const Tensor* x = nn::compute_input(&ctx.input(0), &keep);
  Dims out(x->dims().size(), 1);
  out[0] = x->dim(0);
  out[1] = x->dim(1);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x->dtype(), out));
  const int64_t planes = out[0] * out[1];
  const int64_t size = planes > 0 ? x->numel() / planes : 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x->data<T>();
    T* yp = y->data<T>();
    parallel_for(planes, std::max<int64_t>(1, 65536 / std::max<int64_t>(size, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t p = b; p < e; ++p) {
                     const T* s = xp + p * size;
                     if (max) {
                       T best = size > 0 ? s[0] : T(0);
                       for (int64_t i = 1; i < size; ++i) best = s[i] > best ? s[i] : best;
                       yp[p] = best;
                     } else {
                       double sum = 0;
                       for (int64_t i = 0; i < size; ++i) sum += s[i];
                       yp[p] = size > 0 ? static_cast<T>(sum / static_cast<double>(size)) : T(0);
                     }
                   }
                 });
  };
  if (x->dtype() == DType::kFloat64) {
    run(double{});
  } else {
    run(float{});
  }
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

}  // namespace

Status cpu_GlobalMaxPool(KernelContext& ctx) { return global_pool(ctx, true); }
Status cpu_GlobalAveragePool(KernelContext& ctx) { return global_pool(ctx, false); }

}  // namespace tarmac
