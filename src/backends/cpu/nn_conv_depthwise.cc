// Direct 2-D depthwise convolution (one input channel per group): im2col + GEMM would run one
// tiny GEMM per channel, so each output row is computed from its input rows instead, in L1.
// 3x3 kernels with stride 1 or 2 (MobileNet/YOLOX style) get a fused nine-tap row loop.
#include <algorithm>
#include <vector>

#include "backends/cpu/nn_util.h"

namespace tarmac::nn {

namespace {

/// One output row of a 3x3, dilation-1 depthwise conv with column stride S. rows[kh] is the
/// input row that tap row kh reads, or nullptr where it falls in the padding.
template <typename T, int S>
void row_3x3(const T* const rows[3], const T* wk, T bias, T* __restrict y, int64_t ow_n,
             int64_t iw_n, int64_t pw) {
  // Interior columns read input columns ow*S - pw .. ow*S - pw + 2, all inside the row.
  const int64_t hi = std::clamp<int64_t>(iw_n - 3 + pw >= 0 ? (iw_n - 3 + pw) / S + 1 : 0, 0, ow_n);
  const int64_t lo = std::min<int64_t>((pw + S - 1) / S, hi);
  auto edge = [&](int64_t ow) {
    T acc = bias;
    for (int kh = 0; kh < 3; ++kh) {
      if (rows[kh] == nullptr) continue;
      for (int kw = 0; kw < 3; ++kw) {
        const int64_t ix = ow * S - pw + kw;
        if (ix >= 0 && ix < iw_n) acc += wk[kh * 3 + kw] * rows[kh][ix];
      }
    }
    y[ow] = acc;
  };
  for (int64_t ow = 0; ow < lo; ++ow) edge(ow);
  if (rows[0] && rows[1] && rows[2]) {
    const T* __restrict r0 = rows[0];
    const T* __restrict r1 = rows[1];
    const T* __restrict r2 = rows[2];
    const T w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6],
            w7 = wk[7], w8 = wk[8];
    for (int64_t ow = lo; ow < hi; ++ow) {
      const int64_t b = ow * S - pw;
      y[ow] = bias + w0 * r0[b] + w1 * r0[b + 1] + w2 * r0[b + 2] + w3 * r1[b] + w4 * r1[b + 1] +
              w5 * r1[b + 2] + w6 * r2[b] + w7 * r2[b + 1] + w8 * r2[b + 2];
    }
  } else {
    for (int64_t ow = lo; ow < hi; ++ow) y[ow] = bias;
    for (int kh = 0; kh < 3; ++kh) {
      const T* __restrict r = rows[kh];
      if (r == nullptr) continue;
      const T a0 = wk[kh * 3], a1 = wk[kh * 3 + 1], a2 = wk[kh * 3 + 2];
      for (int64_t ow = lo; ow < hi; ++ow) {
        const int64_t b = ow * S - pw;
        y[ow] += a0 * r[b] + a1 * r[b + 1] + a2 * r[b + 2];
      }
    }
  }
  for (int64_t ow = std::max(lo, hi); ow < ow_n; ++ow) edge(ow);
}

/// Any kernel, stride and dilation: each tap is a row-wide multiply-add over the output
/// columns whose input column is inside the row.
template <typename T>
void plane_generic(const ConvGeometry& g, const T* xp, const T* wp, T bias, T* yp) {
  const int64_t ih_n = g.in[0], iw_n = g.in[1], oh_n = g.out[0], ow_n = g.out[1];
  const int64_t kh_n = g.kernel[0], kw_n = g.kernel[1];
  const int64_t sh = g.strides[0], sw = g.strides[1], dh = g.dilations[0], dw = g.dilations[1];
  const int64_t ph = g.pad_begin[0], pw = g.pad_begin[1];
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    T* __restrict yrow = yp + oh * ow_n;
    std::fill(yrow, yrow + ow_n, bias);
    for (int64_t kh = 0; kh < kh_n; ++kh) {
      const int64_t ih = oh * sh - ph + kh * dh;
      if (ih < 0 || ih >= ih_n) continue;
      const T* __restrict xrow = xp + ih * iw_n;
      for (int64_t kw = 0; kw < kw_n; ++kw) {
        const T wv = wp[kh * kw_n + kw];
        const int64_t k = kw * dw - pw;
        const int64_t lo = k >= 0 ? 0 : std::min(ow_n, (-k + sw - 1) / sw);
        const int64_t hi = k >= iw_n ? lo : std::max(lo, std::min(ow_n, (iw_n - 1 - k) / sw + 1));
        for (int64_t ow = lo; ow < hi; ++ow) yrow[ow] += wv * xrow[ow * sw + k];
      }
    }
  }
}

}  // namespace

template <typename T>
void depthwise_conv2d(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t mult = g.out_channels / g.group;
  const bool k3 = g.kernel[0] == 3 && g.kernel[1] == 3 && g.dilations[0] == 1 &&
                  g.dilations[1] == 1 && (g.strides[1] == 1 || g.strides[1] == 2);
  const int64_t ih_n = g.in[0], iw_n = g.in[1], oh_n = g.out[0], ow_n = g.out[1];
  const int64_t sh = g.strides[0], ph = g.pad_begin[0], pw = g.pad_begin[1];
  parallel_for(g.batch * g.out_channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n = p / g.out_channels, oc = p % g.out_channels;
      const T* xp = x + (n * g.in_channels + oc / mult) * g.in_size;
      const T* wp = w + oc * g.kernel[0] * g.kernel[1];
      const T bv = bias ? bias[oc] : T(0);
      T* yp = y + p * g.out_size;
      if (!k3) {
        plane_generic(g, xp, wp, bv, yp);
        continue;
      }
      for (int64_t oh = 0; oh < oh_n; ++oh) {
        const T* rows[3];
        for (int64_t kh = 0; kh < 3; ++kh) {
          const int64_t ih = oh * sh - ph + kh;
          rows[kh] = ih >= 0 && ih < ih_n ? xp + ih * iw_n : nullptr;
        }
        if (g.strides[1] == 1) {
          row_3x3<T, 1>(rows, wp, bv, yp + oh * ow_n, ow_n, iw_n, pw);
        } else {
          row_3x3<T, 2>(rows, wp, bv, yp + oh * ow_n, ow_n, iw_n, pw);
        }
      }
    }
  });
}

template void depthwise_conv2d<float>(const ConvGeometry&, const float*, const float*, const float*,
                                      float*);
template void depthwise_conv2d<double>(const ConvGeometry&, const double*, const double*,
                                       const double*, double*);

}  // namespace tarmac::nn
