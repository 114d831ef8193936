#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/nn_launch.cuh"
#include "backends/cuda/kernels/nn_norm.cuh"

namespace tarmac::cuda {

namespace {

/// Threads per normalized slice.
constexpr int kNormThreads = 256;
static_assert(kNormThreads % 32 == 0 && kNormThreads <= 1024, "whole warps, one block");

__device__ __forceinline__ double load_param(Param p, int64_t i) {
  switch (p.type) {
    case ParamType::kFloat32:
      return static_cast<const float*>(p.data)[i];
    case ParamType::kFloat16:
      return __half2float(static_cast<const __half*>(p.data)[i]);
    case ParamType::kBFloat16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p.data)[i]);
    case ParamType::kFloat64:
      return static_cast<const double*>(p.data)[i];
  }
  return 0;
}

/// Running count, mean and sum of squared deviations.
template <typename C>
struct Welford {
  C count = 0, mean = 0, m2 = 0;
  __device__ __forceinline__ void add(C v) {
    count += C(1);
    const C d = v - mean;
    mean += d / count;
    m2 += d * (v - mean);
  }
  __device__ __forceinline__ void merge(const Welford& o) {
    if (o.count == C(0)) return;
    if (count == C(0)) {
      *this = o;
      return;
    }
    const C n = count + o.count;
    const C d = o.mean - mean;
    mean += d * (o.count / n);
    m2 += o.m2 + d * d * (count * o.count / n);
    count = n;
  }
};

/// Merges every thread's state; all threads get the block's result.
template <typename C>
__device__ Welford<C> block_welford(Welford<C> w) {
  __shared__ Welford<C> warps[kNormThreads / 32];
  __shared__ Welford<C> total;
  for (int off = 16; off > 0; off >>= 1) {
    Welford<C> o;
    o.count = __shfl_down_sync(0xffffffffu, w.count, off);
    o.mean = __shfl_down_sync(0xffffffffu, w.mean, off);
    o.m2 = __shfl_down_sync(0xffffffffu, w.m2, off);
    w.merge(o);
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warps[warp] = w;
  __syncthreads();
  if (threadIdx.x == 0) {
    Welford<C> t = warps[0];
    for (int i = 1; i < kNormThreads / 32; ++i) t.merge(warps[i]);
    total = t;
  }
  __syncthreads();
  const Welford<C> r = total;
  __syncthreads();  // `total` and `warps` are reused by the next slice
  return r;
}

template <typename C>
__device__ __forceinline__ C inv_sqrt(C v) {
  return C(1) / sqrt(v);
}

template <typename T>
__global__ void batch_norm_coef_kernel(int64_t count, Param scale, Param bias, Param mean,
                                       Param var, float eps, compute_t<T>* a, compute_t<T>* b) {
  using C = compute_t<T>;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < count;
       i += int64_t{gridDim.x} * blockDim.x) {
    const double ai = load_param(scale, i) / sqrt(load_param(var, i) + static_cast<double>(eps));
    a[i] = static_cast<C>(ai);
    b[i] = static_cast<C>(load_param(bias, i) - load_param(mean, i) * ai);
  }
}

template <typename T>
__global__ void batch_norm_kernel(const T* x, T* y, int64_t n, int64_t channels, int64_t spatial,
                                  bool per_activation, const compute_t<T>* a,
                                  const compute_t<T>* b) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = (i / spatial) % channels;
    const int64_t k = per_activation ? c * spatial + i % spatial : c;
    y[i] = store<T>(load(x[i]) * a[k] + b[k]);
  }
}

template <typename T>
__global__ void group_norm_kernel(const T* x, T* y, int64_t slices, int64_t groups, int64_t cg,
                                  int64_t spatial, Param scale, Param bias, bool per_channel,
                                  float eps) {
  using C = compute_t<T>;
  const int64_t len = cg * spatial;
  for (int64_t s = blockIdx.x; s < slices; s += gridDim.x) {
    const T* xs = x + s * len;  // [cg, spatial]
    T* ys = y + s * len;
    Welford<C> w;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) w.add(load(xs[i]));
    w = block_welford(w);
    const C mean = w.mean;
    const C inv = inv_sqrt(max(w.m2 / w.count, C(0)) + static_cast<C>(eps));
    const int64_t g = s % groups;
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
      const int64_t ch = g * cg + i / spatial;
      const int64_t pi = per_channel ? ch : g;
      const C a = static_cast<C>(load_param(scale, pi)) * inv;
      // (x - mean) first, as the CPU reference: x * a - mean * a loses the bias when the
      // variance is ~0 and a is large.
      ys[i] = store<T>((load(xs[i]) - mean) * a + static_cast<C>(load_param(bias, pi)));
    }
  }
}

template <typename T>
__global__ void layer_norm_kernel(const T* x, T* y, LayerNormParams p) {
  using C = compute_t<T>;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const T* xr = x + r * p.n;  // [n]
    T* yr = y + r * p.n;
    Welford<C> w;
    for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) w.add(load(xr[i]));
    w = block_welford(w);
    const C mean = w.mean;
    const C inv = inv_sqrt(max(w.m2 / w.count, C(0)) + static_cast<C>(p.eps));
    for (int64_t i = threadIdx.x; i < p.n; i += blockDim.x) {
      const int64_t si = p.scale_tail ? i : broadcast_offset(r * p.n + i, p.dims, p.scale_strides);
      C v = (load(xr[i]) - mean) * inv * static_cast<C>(load_param(p.scale, si));
      if (p.bias.data) {
        const int64_t bi = p.bias_tail ? i : broadcast_offset(r * p.n + i, p.dims, p.bias_strides);
        v += static_cast<C>(load_param(p.bias, bi));
      }
      yr[i] = store<T>(v);
    }
    if (threadIdx.x == 0) {
      if (p.mean) p.mean[r] = static_cast<float>(mean);
      if (p.inv_std) p.inv_std[r] = static_cast<float>(inv);
    }
  }
}

unsigned int slice_grid(int64_t slices) {
  return static_cast<unsigned int>(std::min<int64_t>(slices, int64_t{1} << 30));
}

}  // namespace

template <typename T>
cudaError_t launch_batch_norm(const T* x, T* y, int64_t n, int64_t channels, int64_t spatial,
                              bool per_activation, Param scale, Param bias, Param mean, Param var,
                              float eps, void* coef, cudaStream_t stream) {
  using C = compute_t<T>;
  if (n <= 0) return cudaSuccess;
  const int64_t count = per_activation ? channels * spatial : channels;
  C* a = static_cast<C*>(coef);
  C* b = a + count;
  batch_norm_coef_kernel<T>
      <<<nn_blocks(count), kNnThreads, 0, stream>>>(count, scale, bias, mean, var, eps, a, b);
  if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
  batch_norm_kernel<T>
      <<<nn_blocks(n), kNnThreads, 0, stream>>>(x, y, n, channels, spatial, per_activation, a, b);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_group_norm(const T* x, T* y, int64_t batch, int64_t groups, int64_t cg,
                              int64_t spatial, Param scale, Param bias, bool per_channel, float eps,
                              cudaStream_t stream) {
  const int64_t slices = batch * groups;
  if (slices <= 0 || cg * spatial <= 0) return cudaSuccess;
  group_norm_kernel<T><<<slice_grid(slices), kNormThreads, 0, stream>>>(
      x, y, slices, groups, cg, spatial, scale, bias, per_channel, eps);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_layer_norm(const T* x, T* y, const LayerNormParams& p, cudaStream_t stream) {
  if (p.rows <= 0 || p.n <= 0) return cudaSuccess;
  layer_norm_kernel<T><<<slice_grid(p.rows), kNormThreads, 0, stream>>>(x, y, p);
  return cudaGetLastError();
}

#define TARMAC_NN_NORM(T)                                                                         \
  template cudaError_t launch_batch_norm<T>(const T*, T*, int64_t, int64_t, int64_t, bool, Param, \
                                            Param, Param, Param, float, void*, cudaStream_t);     \
  template cudaError_t launch_group_norm<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t,     \
                                            Param, Param, bool, float, cudaStream_t);             \
  template cudaError_t launch_layer_norm<T>(const T*, T*, const LayerNormParams&, cudaStream_t);
TARMAC_NN_NORM(float)
TARMAC_NN_NORM(double)
TARMAC_NN_NORM(__half)
TARMAC_NN_NORM(__nv_bfloat16)
#undef TARMAC_NN_NORM

}  // namespace tarmac::cuda
