// CPU kernel for Conv: im2col + GEMM per group (1x1 stride-1 convolutions read the input in
// place), and a direct kernel for 2-D depthwise convolutions.
#include <algorithm>
#include <cstring>

#include "backends/cpu/nn_util.h"

namespace tarmac {

namespace nn {

StatusOr<ConvGeometry> conv_geometry(const KernelContext& ctx, bool transpose) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(node, "expects inputs X and W");
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  if (!is_floating(x.dtype())) {
    return node_error(node, "input has dtype {}, expected a floating-point type",
                      dtype_name(x.dtype()));
  }
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.has_input(i) && ctx.input(i).dtype() != x.dtype()) {
      return node_error(node, "input {} has dtype {} but X has {}", i,
                        dtype_name(ctx.input(i).dtype()), dtype_name(x.dtype()));
    }
  }
  if (x.rank() < 3) return node_error(node, "input X has rank {}, expected at least 3", x.rank());
  if (w.rank() != x.rank()) {
    return node_error(node, "weight has {} dims, expected {}", w.rank(), x.rank());
  }
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  ConvGeometry g;
  g.group = node.attr_int("group", 1);
  if (g.group < 1) return node_error(node, "group is {}, expected >= 1", g.group);
  g.batch = x.dim(0);
  g.in_channels = x.dim(1);
  Dims kernel(w.dims().begin() + 2, w.dims().end());
  if (node.has_attr("kernel_shape") && node.attr_ints("kernel_shape") != kernel) {
    return node_error(node, "kernel_shape {} does not match the weight {}",
                      dims_to_string(node.attr_ints("kernel_shape")), dims_to_string(w.dims()));
  }
  if (!transpose) {
    if (g.in_channels != w.dim(1) * g.group) {
      return node_error(node, "input has {} channels but the weight {} expects {} x group {}",
                        g.in_channels, dims_to_string(w.dims()), w.dim(1), g.group);
    }
    if (w.dim(0) % g.group != 0) {
      return node_error(node, "weight has {} output channels, not divisible by group {}", w.dim(0),
                        g.group);
    }
    g.out_channels = w.dim(0);
  } else {
    if (g.in_channels != w.dim(0) || g.in_channels % g.group != 0) {
      return node_error(node, "input has {} channels but the weight {} expects {} (group {})",
                        g.in_channels, dims_to_string(w.dims()), w.dim(0), g.group);
    }
    g.out_channels = w.dim(1) * g.group;
  }
  if (ctx.has_input(2)) {
    const Tensor& b = ctx.input(2);
    if (b.rank() != 1 || b.dim(0) != g.out_channels) {
      return node_error(node, "bias has shape {}, expected [{}]", dims_to_string(b.dims()),
                        g.out_channels);
    }
  }
  TARMAC_ASSIGN_OR_RETURN(WindowAttrs a, read_window_attrs(node, kernel, {true, false, transpose}));
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t in = x.dim(static_cast<int>(i) + 2);
    int64_t pb = 0, pe = 0;
    StatusOr<int64_t> out = transpose ? conv_transpose_output_size(node, a, i, in, &pb, &pe)
                                      : window_output_size(node, a, i, in, &pb, &pe);
    if (!out.is_ok()) return out.status();
    g.in.push_back(in);
    g.out.push_back(*out);
    g.pad_begin.push_back(pb);
    g.in_size *= in;
    g.out_size *= *out;
    g.kernel_size *= kernel[i];
  }
  g.kernel = std::move(kernel);
  g.strides = a.strides;
  g.dilations = a.dilations;
  return g;
}

}  // namespace nn

namespace {

using nn::ConvGeometry;

/// Unrolls rows [r0, r1) of the window matrix of x [channels, in...], restricted to output
/// positions [p0, p1), into col (row stride ld): col[r - r0][p - p0] is the input value that
/// kernel tap r (channel-major) reads for output position p, or 0 in the padding.
template <typename T>
void im2col_tile(const ConvGeometry& g, const T* x, int64_t r0, int64_t r1, int64_t p0, int64_t p1,
                 T* col, int64_t ld) {
  const size_t nsp = g.in.size();
  const int64_t ow_n = g.out.back(), iw_n = g.in.back(), sw = g.strides.back();
  Dims kidx(nsp), oidx(nsp);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / g.kernel_size;
    int64_t kr = r % g.kernel_size;
    for (size_t d = nsp; d-- > 0;) {
      kidx[d] = kr % g.kernel[d];
      kr /= g.kernel[d];
    }
    const T* xc = x + c * g.in_size;
    T* dst = col + (r - r0) * ld;
    const int64_t koff = kidx[nsp - 1] * g.dilations[nsp - 1] - g.pad_begin[nsp - 1];
    // Output columns whose input column koff + ow * sw lies inside the row.
    const int64_t lo = koff >= 0 ? 0 : std::min(ow_n, (-koff + sw - 1) / sw);
    const int64_t hi = koff >= iw_n ? lo : std::max(lo, std::min(ow_n, (iw_n - 1 - koff) / sw + 1));
    for (int64_t p = p0; p < p1;) {
      const int64_t o = p / ow_n, ow0 = p % ow_n, ow1 = std::min(ow_n, ow0 + (p1 - p));
      int64_t rem = o, off = 0;
      bool inside = true;
      for (size_t d = nsp - 1; d-- > 0;) {
        oidx[d] = rem % g.out[d];
        rem /= g.out[d];
      }
      for (size_t d = 0; d + 1 < nsp; ++d) {
        const int64_t i = oidx[d] * g.strides[d] - g.pad_begin[d] + kidx[d] * g.dilations[d];
        inside &= i >= 0 && i < g.in[d];
        off = off * g.in[d] + i;
      }
      T* drow = dst + (p - p0);  // drow[j] is output column ow0 + j
      const int64_t a = inside ? std::clamp(lo, ow0, ow1) : ow1;
      const int64_t b = inside ? std::clamp(hi, a, ow1) : ow1;
      std::fill(drow, drow + (a - ow0), T(0));
      const T* src = xc + off * iw_n + koff;  // only read at columns a..b, all in bounds
      if (sw == 1) {
        std::memcpy(drow + (a - ow0), src + a, static_cast<size_t>(b - a) * sizeof(T));
      } else {
        for (int64_t ow = a; ow < b; ++ow) drow[ow - ow0] = src[ow * sw];
      }
      std::fill(drow + (b - ow0), drow + (ow1 - ow0), T(0));
      p += ow1 - ow0;
    }
  }
}

template <typename T>
Status conv_typed(KernelContext& ctx, const ConvGeometry& g, const Tensor& xt, const Tensor& wt,
                  const Tensor* bt) {
  Dims out_dims{g.batch, g.out_channels};
  out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
  TARMAC_ASSIGN_OR_RETURN(Tensor * yt, ctx.allocate_output(0, xt.dtype(), out_dims));
  const T* x = xt.data<T>();
  const T* w = wt.data<T>();
  const T* bias = bt ? bt->data<T>() : nullptr;
  T* y = yt->data<T>();
  const int64_t cg = g.in_channels / g.group, mg = g.out_channels / g.group;
  if (cg == 1 && g.in.size() == 2 && g.group > 1) {
    nn::depthwise_conv2d<T>(g, x, w, bias, y);
    return Status::ok();
  }
  if (g.out_size == 0 || g.batch == 0 || mg == 0) return Status::ok();
  bool pointwise = true;
  for (size_t i = 0; i < g.in.size(); ++i) {
    pointwise &=
        g.kernel[i] == 1 && g.strides[i] == 1 && g.pad_begin[i] == 0 && g.out[i] == g.in[i];
  }
  const int64_t kdim = cg * g.kernel_size;
  // One tile: output columns [p0, p1) of image n, group gi. The window matrix of a tile
  // ([kdim, p1 - p0]) is built right before its GEMM, so it is still in cache.
  auto run_tile = [&](int64_t n, int64_t gi, int64_t p0, int64_t p1, T* col, bool threaded) {
    const T* xg = x + (n * g.in_channels + gi * cg) * g.in_size;
    T* yg = y + (n * g.out_channels + gi * mg) * g.out_size;
    const T* src = xg + p0;
    int64_t ldb = g.in_size;
    if (!pointwise) {
      if (threaded) {
        parallel_for(kdim, std::max<int64_t>(1, 16384 / (p1 - p0)), [&](int64_t r0, int64_t r1) {
          im2col_tile(g, xg, r0, r1, p0, p1, col + r0 * (p1 - p0), p1 - p0);
        });
      } else {
        im2col_tile(g, xg, 0, kdim, p0, p1, col, p1 - p0);
      }
      src = col;
      ldb = p1 - p0;
    }
    if (bias) {
      for (int64_t m = 0; m < mg; ++m)
        std::fill(yg + m * g.out_size + p0, yg + m * g.out_size + p1, bias[gi * mg + m]);
    }
    const T* wg = w + gi * mg * kdim;
    if (threaded) {
      nn::gemm_parallel<T>(false, false, mg, p1 - p0, kdim, T(1), wg, kdim, src, ldb, yg + p0,
                           g.out_size, bias != nullptr);
    } else {
      nn::gemm<T>(false, false, mg, p1 - p0, kdim, T(1), wg, kdim, src, ldb, yg + p0, g.out_size,
                  bias != nullptr);
    }
  };
  const int64_t threads = num_threads();
  // Tiles of about 64K window-matrix elements (256 KB in float32), at least 64 columns.
  const int64_t target = std::max<int64_t>(64, (int64_t{1} << 16) / std::max<int64_t>(kdim, 1));
  int64_t tiles = (g.out_size + target - 1) / target;
  const int64_t images = g.batch * g.group;
  // Narrower tiles spread an image over the threads while they keep enough columns (48) for
  // an efficient GEMM.
  if (images * tiles < threads) {
    const int64_t want = (threads + images - 1) / images;
    tiles = std::max(tiles, std::min(want, g.out_size / 48));
  }
  if (images * tiles < threads) {
    // Too few tiles for every thread: whole images, threaded inside im2col and the GEMM.
    T* col = nullptr;
    if (!pointwise) {
      TARMAC_ASSIGN_OR_RETURN(col, nn::thread_scratch<T>(ctx.node, kdim * g.out_size));
    }
    for (int64_t i = 0; i < images; ++i)
      run_tile(i / g.group, i % g.group, 0, g.out_size, col, true);
    return Status::ok();
  }
  // Balance: a multiple of the thread count when a single image is split.
  if (images == 1) tiles = (tiles + threads - 1) / threads * threads;
  tiles = std::min(tiles, g.out_size);
  const int64_t work = images * tiles;
  const int64_t chunks = std::min(work, threads);
  const int64_t tile_cols = (g.out_size + tiles - 1) / tiles;
  T* cols = nullptr;
  if (!pointwise) {
    TARMAC_ASSIGN_OR_RETURN(cols, nn::thread_scratch<T>(ctx.node, chunks * kdim * tile_cols));
  }
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* col = pointwise ? nullptr : cols + c * kdim * tile_cols;
      for (int64_t item = work * c / chunks; item < work * (c + 1) / chunks; ++item) {
        const int64_t image = item / tiles, t = item % tiles;
        const int64_t p0 = g.out_size * t / tiles, p1 = g.out_size * (t + 1) / tiles;
        if (p1 > p0) run_tile(image / g.group, image % g.group, p0, p1, col, false);
      }
    }
  });
  return Status::ok();
}

}  // namespace

Status cpu_Conv(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(ConvGeometry g, nn::conv_geometry(ctx, false));
  const DType dt = ctx.input(0).dtype();
  Tensor kx, kw, kb;
  const Tensor* x = nn::compute_input(&ctx.input(0), &kx);
  const Tensor* w = nn::compute_input(&ctx.input(1), &kw);
  const Tensor* b = nn::compute_input(ctx.has_input(2) ? &ctx.input(2) : nullptr, &kb);
  if (x->dtype() == DType::kFloat64) {
    TARMAC_RETURN_IF_ERROR(conv_typed<double>(ctx, g, *x, *w, b));
  } else {
    TARMAC_RETURN_IF_ERROR(conv_typed<float>(ctx, g, *x, *w, b));
  }
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

}  // namespace tarmac
