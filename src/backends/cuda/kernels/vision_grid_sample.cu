// GridSample kernel: one thread per (batch, output position) resolves the taps of every axis
// once and then walks the channels, as the CPU reference does. Arithmetic uses the _rn
// intrinsics to fuse exactly the multiply-adds that GCC fuses in the CPU build (x86-64-v3 has
// FMA and GCC contracts by default): acc += w * x, the cubic polynomials, (g + 1) * n - 1.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/reduce_common.cuh"
#include "backends/cuda/kernels/vision_grid_sample.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

constexpr int kMaxTaps = 4;
constexpr int kMaxCombos = 64;  // 4 taps ^ 3 axes

__device__ double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x >= lo && x <= hi) return x;
  const double dx = x < lo ? lo - x : x - hi;
  const double flips = floor(dx / range);
  const double r = __fma_rn(-flips, range, dx);
  const bool even = fmod(flips, 2.0) == 0;
  if (x < lo) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

__device__ double cubic_weight(double d) {
  constexpr double a = -0.75;
  d = fabs(d);
  if (d <= 1) return __fma_rn(__dmul_rn(__fma_rn(a + 2, d, -(a + 3)), d), d, 1.0);
  if (d < 2) return __fma_rn(__fma_rn(__fma_rn(a, d, -5 * a), d, 8 * a), d, -4 * a);
  return 0;
}

struct AxisTaps {
  int count = 0;
  int64_t idx[kMaxTaps];
  double w[kMaxTaps];
  bool valid[kMaxTaps];
};

__device__ void axis_taps(const GridSampleParams& p, double g, int64_t len, AxisTaps* t) {
  const double n = static_cast<double>(len);
  double x = p.align_corners ? __dmul_rn((g + 1) / 2, n - 1) : __fma_rn(g + 1, n, -1.0) / 2;
  if (p.float_grid) x = static_cast<double>(__double2float_rn(x));
  if (x != x) x = -10;
  if (p.mode == GridMode::kNearest) x = rint(x);
  const double lo = p.align_corners ? 0 : -0.5;
  const double hi = p.align_corners ? n - 1 : n - 0.5;
  if (x < lo || x > hi) {
    if (p.padding == GridPadding::kBorder && p.mode != GridMode::kCubic)
      x = fmin(fmax(x, 0.0), n - 1);
    if (p.padding == GridPadding::kReflection) x = reflect(x, lo, hi);
  }
  x = fmin(fmax(x, -10.0), n + 10);
  int64_t first = 0;
  if (p.mode == GridMode::kNearest) {
    t->count = 1;
    first = static_cast<int64_t>(x);
    t->w[0] = 1;
  } else {
    const double fl = floor(x);
    const double f = x - fl;
    if (p.mode == GridMode::kLinear) {
      t->count = 2;
      first = static_cast<int64_t>(fl);
      t->w[0] = 1 - f;
      t->w[1] = f;
    } else {
      t->count = 4;
      first = static_cast<int64_t>(fl) - 1;
      for (int k = 0; k < 4; ++k) t->w[k] = cubic_weight(static_cast<double>(k - 1) - f);
    }
  }
  for (int k = 0; k < t->count; ++k) {
    int64_t i = first + k;
    bool ok = true;
    if (i < 0 || i >= len) {
      if (p.padding == GridPadding::kZeros) ok = false;
      if (p.padding == GridPadding::kReflection)
        i = static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi));
      i = i < 0 ? 0 : (i > len - 1 ? len - 1 : i);
    }
    t->idx[k] = i;
    t->valid[k] = ok;
  }
}

/// x: [N, C, in...], grid: [N, out..., r], y: [N, C, out...]
template <typename T, typename G>
__global__ void grid_sample_kernel(const T* __restrict__ x, const G* __restrict__ grid,
                                   T* __restrict__ y, GridSampleParams p) {
  const int64_t total = p.batch * p.out_size;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t nb = q / p.out_size, pos = q % p.out_size;
    const G* g = grid + q * p.r;
    AxisTaps axes[kGridSampleMaxSpatial];
    int64_t in_strides[kGridSampleMaxSpatial];
    int64_t stride = 1;
    for (int i = p.r - 1; i >= 0; --i) {
      in_strides[i] = stride;
      stride *= p.in_dims[i];
    }
    // The grid's last dimension lists coordinates innermost axis first (x, y, z).
    for (int i = 0; i < p.r; ++i)
      axis_taps(p, static_cast<double>(load(g[p.r - 1 - i])), p.in_dims[i], &axes[i]);
    int64_t offsets[kMaxCombos];
    double weights[kMaxCombos];
    int m = 0;
    int k[kGridSampleMaxSpatial] = {};
    while (true) {
      double w = 1;
      int64_t off = 0;
      bool ok = true;
      for (int i = 0; i < p.r && ok; ++i) {
        ok = axes[i].valid[k[i]];
        w = __dmul_rn(w, axes[i].w[k[i]]);
        off += axes[i].idx[k[i]] * in_strides[i];
      }
      if (ok && w != 0) {
        offsets[m] = off;
        weights[m] = w;
        ++m;
      }
      int i = p.r;
      while (i > 0 && ++k[i - 1] == axes[i - 1].count) k[--i] = 0;
      if (i == 0) break;
    }
    for (int64_t c = 0; c < p.channels; ++c) {
      const T* plane = x + (nb * p.channels + c) * p.in_size;
      double acc = 0;
      for (int t = 0; t < m; ++t)
        acc = __fma_rn(weights[t], static_cast<double>(load(plane[offsets[t]])), acc);
      T& out = y[(nb * p.channels + c) * p.out_size + pos];
      if constexpr (std::is_integral_v<T>) {
        // Like a numpy astype: truncate, after saturating to the type's range.
        acc = fmin(fmax(acc, static_cast<double>(std::numeric_limits<T>::lowest())),
                   static_cast<double>(std::numeric_limits<T>::max()));
        out = static_cast<T>(acc);
      } else {
        out = store<T>(static_cast<compute_t<T>>(acc));
      }
    }
  }
}

}  // namespace
}  // namespace reduce_detail

cudaError_t launch_grid_sample(DType x_dtype, DType grid_dtype, const GridSampleParams& p,
                               const void* x, const void* grid, void* y, cudaStream_t stream) {
  using namespace reduce_detail;
  const int64_t total = p.batch * p.out_size;
  if (total == 0 || p.channels == 0) return cudaSuccess;
  const unsigned int blocks =
      static_cast<unsigned int>(min64((total + 127) / 128, int64_t{1} << 20));
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(x_dtype, [&](auto xt) {
    using T = decltype(xt);
    if constexpr (!std::is_same_v<T, bool>) {
      dispatch_type(grid_dtype, [&](auto gt) {
        using G = decltype(gt);
        if constexpr (kIsFloat<G>) {
          grid_sample_kernel<T, G><<<blocks, 128, 0, stream>>>(
              static_cast<const T*>(x), static_cast<const G*>(grid), static_cast<T*>(y), p);
          err = cudaGetLastError();
        }
      });
    }
  });
  return err;
}

}  // namespace tarmac::cuda
