// Resize/Upsample kernels: nearest gathers one element per output; linear/cubic sum the
// tensor product of the per-axis taps (float accumulation for the float types, double for
// float64 and integers, as the CPU reference's passes do).
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/reduce_common.cuh"
#include "backends/cuda/kernels/vision_resize.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

/// A resampled value as an element of T: integers round half to even and saturate.
template <typename T, typename C>
__device__ __forceinline__ T to_element(C v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (v != v) return T{0};
    const C lo = static_cast<C>(std::numeric_limits<T>::lowest());
    const C hi = static_cast<C>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(rint(static_cast<double>(v)));
  } else if constexpr (std::is_same_v<T, double>) {
    return static_cast<double>(v);
  } else {
    return store<T>(static_cast<float>(v));
  }
}

/// One thread per output element.  x: in_dims, y: out_dims
template <typename T>
__global__ void resize_nearest(const T* __restrict__ x, T* __restrict__ y, ResizeParams p,
                               int64_t total) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = q, off = 0;
    bool outside = false;
    for (int a = p.out_dims.rank - 1; a >= 0; --a) {
      const int64_t c = rem % p.out_dims.d[a];
      rem /= p.out_dims.d[a];
      off += p.idx[p.idx_off[a] + c] * p.in_strides[a];
      if (p.any_outside) outside = outside || p.outside[p.out_off[a] + c] != 0;
    }
    y[q] = outside ? to_element<T>(p.extrapolation) : x[off];
  }
}

template <typename T>
__global__ void resize_interpolate(const T* __restrict__ x, T* __restrict__ y, ResizeParams p,
                                   int64_t total) {
  using C = std::conditional_t<std::is_same_v<compute_t<T>, float>, float, double>;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t coord[kMaxRank];
    int64_t rem = q, base = 0;
    bool outside = false;
    for (int a = p.out_dims.rank - 1; a >= 0; --a) {
      coord[a] = rem % p.out_dims.d[a];
      rem /= p.out_dims.d[a];
      if (p.any_outside) outside = outside || p.outside[p.out_off[a] + coord[a]] != 0;
    }
    if (outside) {
      y[q] = to_element<T>(static_cast<C>(p.extrapolation));
      continue;
    }
    // Identity axes contribute their coordinate; active axes are walked tap by tap.
    bool active[kMaxRank] = {};
    for (int k = 0; k < p.nact; ++k) active[p.act[k]] = true;
    for (int a = 0; a < p.out_dims.rank; ++a)
      if (!active[a]) base += coord[a] * p.in_strides[a];
    int tap[kMaxRank] = {};
    C acc = 0;
    while (true) {
      C w = 1;
      int64_t off = base;
      for (int k = 0; k < p.nact; ++k) {
        const int a = p.act[k];
        const int64_t e = p.idx_off[a] + coord[a] * p.taps[a] + tap[k];
        w *= static_cast<C>(p.w[e]);
        off += p.idx[e] * p.in_strides[a];
      }
      acc += w * static_cast<C>(load(x[off]));
      int k = p.nact - 1;
      while (k >= 0 && ++tap[k] == p.taps[p.act[k]]) tap[k--] = 0;
      if (k < 0) break;
    }
    y[q] = to_element<T>(acc);
  }
}

}  // namespace
}  // namespace reduce_detail

cudaError_t launch_resize(ResizeKernelMode mode, DType dtype, const ResizeParams& p, const void* x,
                          void* y, cudaStream_t stream) {
  using namespace reduce_detail;
  int64_t total = 1;
  for (int a = 0; a < p.out_dims.rank; ++a) total *= p.out_dims.d[a];
  if (total == 0) return cudaSuccess;
  const unsigned int blocks =
      static_cast<unsigned int>(min64((total + 255) / 256, int64_t{1} << 20));
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* xs = static_cast<const T*>(x);
    T* ys = static_cast<T*>(y);
    if (mode == ResizeKernelMode::kNearest) {
      resize_nearest<T><<<blocks, 256, 0, stream>>>(xs, ys, p, total);
      err = cudaGetLastError();
    } else if constexpr (!std::is_same_v<T, bool>) {
      resize_interpolate<T><<<blocks, 256, 0, stream>>>(xs, ys, p, total);
      err = cudaGetLastError();
    }
  });
  return err;
}

}  // namespace tarmac::cuda
