#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/nn_launch.cuh"
#include "backends/cuda/kernels/nn_pool.cuh"

namespace tarmac::cuda {

namespace {

template <typename C>
__device__ __forceinline__ C lowest_value() {
  if constexpr (std::is_same_v<C, float>) {
    return -FLT_MAX;
  } else if constexpr (std::is_same_v<C, double>) {
    return -DBL_MAX;
  } else if constexpr (std::is_same_v<C, int8_t>) {
    return -128;
  } else {
    static_assert(std::is_same_v<C, uint8_t>, "max pool computes in float, double or 8-bit ints");
    return 0;
  }
}

/// Valid taps [lo, hi) of one axis and the taps inside the padded extent (CPU pool_geometry).
struct Taps {
  int64_t start, lo, hi, padded;
};

__device__ __forceinline__ Taps taps(const PoolParams& p, int ax, int64_t o) {
  const int64_t k = p.kernel[ax], d = p.dilation[ax], in = p.in[ax];
  Taps t;
  t.start = o * p.stride[ax] - p.pad_begin[ax];
  t.lo = t.start >= 0 ? 0 : min(k, (-t.start + d - 1) / d);
  t.hi = t.start >= in ? t.lo : max(t.lo, min(k, (in - t.start + d - 1) / d));
  t.padded = min(k, (in + p.pad_end[ax] - t.start + d - 1) / d);
  return t;
}

template <typename T, bool kMax>
__global__ void pool_kernel(PoolParams p, const T* x, T* y, int64_t n) {
  using C = compute_t<T>;
  using Acc =
      std::conditional_t<kMax, C, std::conditional_t<std::is_same_v<C, double>, double, float>>;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t r = i;
    const int64_t o2 = r % p.out[2];
    r /= p.out[2];
    const int64_t o1 = r % p.out[1];
    r /= p.out[1];
    const int64_t o0 = r % p.out[0];
    const int64_t plane = r / p.out[0];
    const Taps t0 = taps(p, 0, o0), t1 = taps(p, 1, o1), t2 = taps(p, 2, o2);
    const T* xp = x + plane * p.in[0] * p.in[1] * p.in[2];
    Acc acc = kMax ? Acc(lowest_value<C>()) : Acc(0);
    bool first = true;
    for (int64_t k0 = t0.lo; k0 < t0.hi; ++k0) {
      const int64_t i0 = t0.start + k0 * p.dilation[0];
      for (int64_t k1 = t1.lo; k1 < t1.hi; ++k1) {
        const int64_t i1 = t1.start + k1 * p.dilation[1];
        const T* row = xp + (i0 * p.in[1] + i1) * p.in[2];
        for (int64_t k2 = t2.lo; k2 < t2.hi; ++k2) {
          const Acc v = static_cast<Acc>(load(row[t2.start + k2 * p.dilation[2]]));
          if constexpr (kMax) {
            acc = first || v > acc ? v : acc;
            first = false;
          } else {
            acc += v;
          }
        }
      }
    }
    if constexpr (!kMax) {
      const int64_t valid = (t0.hi - t0.lo) * (t1.hi - t1.lo) * (t2.hi - t2.lo);
      const int64_t count = p.count_include_pad ? t0.padded * t1.padded * t2.padded : valid;
      acc = valid > 0 ? acc / static_cast<Acc>(count) : Acc(0);
    }
    y[i] = store<T>(static_cast<C>(acc));
  }
}

template <typename T>
__global__ void global_pool_kernel(const T* x, T* y, int64_t planes, int64_t size, bool max) {
  using C = compute_t<T>;
  using Acc = std::conditional_t<std::is_same_v<C, double>, double, float>;
  static_assert(kNnThreads == 256, "the block reduction assumes 256 threads");
  __shared__ Acc part[kNnThreads];
  __shared__ bool any[kNnThreads];
  for (int64_t pl = blockIdx.x; pl < planes; pl += gridDim.x) {
    const T* xp = x + pl * size;
    Acc acc = 0;
    bool seen = false;
    for (int64_t i = threadIdx.x; i < size; i += blockDim.x) {
      const Acc v = static_cast<Acc>(load(xp[i]));
      if (max) {
        acc = !seen || v > acc ? v : acc;
      } else {
        acc += v;
      }
      seen = true;
    }
    part[threadIdx.x] = acc;
    any[threadIdx.x] = seen;
    __syncthreads();
    for (int s = kNnThreads / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s && any[threadIdx.x + s]) {
        const Acc o = part[threadIdx.x + s];
        if (max) {
          part[threadIdx.x] = !any[threadIdx.x] || o > part[threadIdx.x] ? o : part[threadIdx.x];
        } else {
          part[threadIdx.x] += o;
        }
        any[threadIdx.x] = true;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      Acc r = part[0];
      if (size == 0)
        r = 0;
      else if (!max)
        r /= static_cast<Acc>(size);
      y[pl] = store<T>(static_cast<C>(r));
    }
    __syncthreads();
  }
}

template <typename T, bool kMax>
cudaError_t launch_pool(const PoolParams& p, const T* x, T* y, cudaStream_t stream) {
  const int64_t n = p.planes * p.out[0] * p.out[1] * p.out[2];
  if (n <= 0) return cudaSuccess;
  pool_kernel<T, kMax><<<nn_blocks(n), kNnThreads, 0, stream>>>(p, x, y, n);
  return cudaGetLastError();
}

}  // namespace

template <typename T>
cudaError_t launch_max_pool(const PoolParams& p, const T* x, T* y, cudaStream_t stream) {
  return launch_pool<T, true>(p, x, y, stream);
}

template <typename T>
cudaError_t launch_average_pool(const PoolParams& p, const T* x, T* y, cudaStream_t stream) {
  return launch_pool<T, false>(p, x, y, stream);
}

template <typename T>
cudaError_t launch_global_pool(const T* x, T* y, int64_t planes, int64_t size, bool max,
                               cudaStream_t stream) {
  if (planes <= 0) return cudaSuccess;
  const unsigned int grid = static_cast<unsigned int>(std::min<int64_t>(planes, 1 << 30));
  global_pool_kernel<T><<<grid, kNnThreads, 0, stream>>>(x, y, planes, size, max);
  return cudaGetLastError();
}

template cudaError_t launch_max_pool<float>(const PoolParams&, const float*, float*, cudaStream_t);
template cudaError_t launch_max_pool<double>(const PoolParams&, const double*, double*,
                                             cudaStream_t);
template cudaError_t launch_max_pool<__half>(const PoolParams&, const __half*, __half*,
                                             cudaStream_t);
template cudaError_t launch_max_pool<__nv_bfloat16>(const PoolParams&, const __nv_bfloat16*,
                                                    __nv_bfloat16*, cudaStream_t);
template cudaError_t launch_max_pool<int8_t>(const PoolParams&, const int8_t*, int8_t*,
                                             cudaStream_t);
template cudaError_t launch_max_pool<uint8_t>(const PoolParams&, const uint8_t*, uint8_t*,
                                              cudaStream_t);

#define TARMAC_NN_POOL(T)                                                                     \
  template cudaError_t launch_average_pool<T>(const PoolParams&, const T*, T*, cudaStream_t); \
  template cudaError_t launch_global_pool<T>(const T*, T*, int64_t, int64_t, bool, cudaStream_t);
TARMAC_NN_POOL(float)
TARMAC_NN_POOL(double)
TARMAC_NN_POOL(__half)
TARMAC_NN_POOL(__nv_bfloat16)
#undef TARMAC_NN_POOL

}  // namespace tarmac::cuda
