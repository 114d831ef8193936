// CPU kernel for ConvTranspose: per group, one GEMM spreads every input pixel over the kernel
// window (cols = W^T X), then col2im adds the windows into the output.
#include <algorithm>

#include "backends/cpu/nn_util.h"

namespace tarmac {

namespace {

using nn::ConvGeometry;

/// Adds col [channels * kernel_size, in_size] into y [channels, out...]: input position i and
/// kernel tap k land on output position i * stride - pad_begin + k * dilation (per axis).
template <typename T>
void col2im(const ConvGeometry& g, int64_t channels, const T* col, T* y) {
  const size_t nsp = g.in.size();
  const int64_t iw_n = g.in.back(), ow_n = g.out.back(), sw = g.strides.back();
  const int64_t outer = g.in_size / std::max<int64_t>(iw_n, 1);
  // Each channel owns its output plane, so channels run in parallel without conflicts.
  parallel_for(channels, 1, [&](int64_t begin, int64_t end) {
    Dims kidx(nsp), iidx(nsp);
    for (int64_t c = begin; c < end; ++c) {
      T* yc = y + c * g.out_size;
      for (int64_t kr = 0; kr < g.kernel_size; ++kr) {
        int64_t rem = kr;
        for (size_t d = nsp; d-- > 0;) {
          kidx[d] = rem % g.kernel[d];
          rem /= g.kernel[d];
        }
        const T* src = col + (c * g.kernel_size + kr) * g.in_size;
        const int64_t koff = kidx[nsp - 1] * g.dilations[nsp - 1] - g.pad_begin[nsp - 1];
        // Input columns iw whose output column koff + iw * sw lies inside the row.
        const int64_t lo = koff >= 0 ? 0 : std::min(iw_n, (-koff + sw - 1) / sw);
        const int64_t hi =
            koff >= ow_n ? lo : std::max(lo, std::min(iw_n, (ow_n - 1 - koff) / sw + 1));
        for (int64_t o = 0; o < outer; ++o) {
          int64_t r2 = o, off = 0;
          bool inside = true;
          for (size_t d = nsp - 1; d-- > 0;) {
            iidx[d] = r2 % g.in[d];
            r2 /= g.in[d];
          }
          for (size_t d = 0; d + 1 < nsp; ++d) {
            const int64_t i = iidx[d] * g.strides[d] - g.pad_begin[d] + kidx[d] * g.dilations[d];
            inside &= i >= 0 && i < g.out[d];
            off = off * g.out[d] + i;
          }
          if (!inside) continue;
          T* yrow = yc + off * ow_n;
          const T* srow = src + o * iw_n;
          for (int64_t iw = lo; iw < hi; ++iw) yrow[koff + iw * sw] += srow[iw];
        }
      }
    }
  });
}

template <typename T>
Status conv_transpose_typed(KernelContext& ctx, const ConvGeometry& g, const Tensor& xt,
                            const Tensor& wt, const Tensor* bt) {
  Dims out_dims{g.batch, g.out_channels};
  out_dims.insert(out_dims.end(), g.out.begin(), g.out.end());
  TARMAC_ASSIGN_OR_RETURN(Tensor * yt, ctx.allocate_output(0, xt.dtype(), out_dims));
  const T* x = xt.data<T>();
  const T* w = wt.data<T>();
  T* y = yt->data<T>();  // zero-filled by allocation
  const int64_t cg = g.in_channels / g.group, mg = g.out_channels / g.group;
  const int64_t rows = mg * g.kernel_size;
  TARMAC_ASSIGN_OR_RETURN(T * col, nn::thread_scratch<T>(ctx.node, rows * g.in_size));
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t gi = 0; gi < g.group; ++gi) {
      const T* xg = x + (n * g.in_channels + gi * cg) * g.in_size;  // [cg, in_size]
      const T* wg = w + gi * cg * rows;                             // [cg, mg * K]
      nn::gemm_parallel<T>(true, false, rows, g.in_size, cg, T(1), wg, xg, col, false);
      col2im(g, mg, col, y + (n * g.out_channels + gi * mg) * g.out_size);
    }
  }
  if (bt != nullptr) {
    const T* b = bt->data<T>();
    parallel_for(g.batch * g.out_channels, 1, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        T* yp = y + p * g.out_size;
        const T bv = b[p % g.out_channels];
        for (int64_t i = 0; i < g.out_size; ++i) yp[i] += bv;
      }
    });
  }
  return Status::ok();
}

}  // namespace

Status cpu_ConvTranspose(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(ConvGeometry g, nn::conv_geometry(ctx, true));
  const DType dt = ctx.input(0).dtype();
  Tensor kx, kw, kb;
  const Tensor* x = nn::compute_input(&ctx.input(0), &kx);
  const Tensor* w = nn::compute_input(&ctx.input(1), &kw);
  const Tensor* b = nn::compute_input(ctx.has_input(2) ? &ctx.input(2) : nullptr, &kb);
  if (x->dtype() == DType::kFloat64) {
    TARMAC_RETURN_IF_ERROR(conv_transpose_typed<double>(ctx, g, *x, *w, b));
  } else {
    TARMAC_RETURN_IF_ERROR(conv_transpose_typed<float>(ctx, g, *x, *w, b));
  }
  nn::store_output(ctx, 0, dt);
  return Status::ok();
}

}  // namespace tarmac
