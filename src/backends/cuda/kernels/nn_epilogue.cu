#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/nn_epilogue.cuh"
#include "backends/cuda/kernels/nn_launch.cuh"

namespace tarmac::cuda {

namespace {

__device__ __forceinline__ float act_exp(float x) { return expf(x); }
__device__ __forceinline__ double act_exp(double x) { return exp(x); }
__device__ __forceinline__ float act_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double act_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float act_erf(float x) { return erff(x); }
__device__ __forceinline__ double act_erf(double x) { return erf(x); }
__device__ __forceinline__ float act_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double act_log1p(double x) { return log1p(x); }

/// apply_activation (ir/fused_ops.h) in the compute type C (float or double).
template <typename C>
__device__ __forceinline__ C activate(C x, const ActParams& p) {
  static_assert(std::is_floating_point_v<C>, "activations compute in float or double");
  const C alpha = static_cast<C>(p.alpha), beta = static_cast<C>(p.beta);
  switch (p.act) {
    case EpilogueAct::kNone:
      return x;
    case EpilogueAct::kRelu:
      return x > C(0) ? x : C(0);
    case EpilogueAct::kClip:
      return x < alpha ? alpha : (x > beta ? beta : x);
    case EpilogueAct::kLeakyRelu:
      return x < C(0) ? alpha * x : x;
    case EpilogueAct::kSigmoid:
      return C(1) / (C(1) + act_exp(-x));
    case EpilogueAct::kHardSigmoid: {
      const C y = alpha * x + beta;
      return y < C(0) ? C(0) : (y > C(1) ? C(1) : y);
    }
    case EpilogueAct::kHardSwish: {
      const C y = x / C(6) + C(0.5);
      return x * (y < C(0) ? C(0) : (y > C(1) ? C(1) : y));
    }
    case EpilogueAct::kSilu:
      return x / (C(1) + act_exp(-x));
    case EpilogueAct::kGelu:
      return C(0.5) * x * (C(1) + act_erf(x * C(0.70710678118654752440)));
    case EpilogueAct::kGeluTanh:
      return C(0.5) * x * (C(1) + act_tanh(C(0.7978845608028654) * (x + C(0.044715) * x * x * x)));
    case EpilogueAct::kMish:
      return x * act_tanh(x > C(20) ? x : act_log1p(act_exp(x)));
    case EpilogueAct::kTanh:
      return act_tanh(x);
  }
  return x;
}

template <typename T>
__global__ void bias_act_kernel(T* y, int64_t n, const T* bias, const T* residual, int64_t inner,
                                int64_t channels, ActParams a) {
  using C = compute_t<T>;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    C v = load(y[i]);
    if (bias) v += load(bias[(i / inner) % channels]);
    if (residual) v += load(residual[i]);  // after the bias, before the activation
    y[i] = store<T>(activate<C>(v, a));
  }
}

template <typename T>
__global__ void broadcast_bias_act_kernel(T* y, int64_t n, Shape8 out, const T* bias,
                                          Shape8 bias_strides, ActParams a) {
  using C = compute_t<T>;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const C v = load(y[i]) + load(bias[broadcast_offset(i, out, bias_strides)]);
    y[i] = store<T>(activate<C>(v, a));
  }
}

template <typename T>
__global__ void broadcast_copy_kernel(const T* src, Shape8 src_strides, T* dst, int64_t n,
                                      Shape8 out) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    dst[i] = src[broadcast_offset(i, out, src_strides)];
}

template <typename T>
__global__ void window_copy_kernel(const T* src, T* dst, int64_t n, WindowCopy g, const T* bias,
                                   ActParams a) {
  using C = compute_t<T>;
  const int64_t dst_plane = g.dst[0] * g.dst[1] * g.dst[2];
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t r = i;
    const int64_t o2 = r % g.dst[2];
    r /= g.dst[2];
    const int64_t o1 = r % g.dst[1];
    r /= g.dst[1];
    const int64_t o0 = r % g.dst[0];
    const int64_t p = i / dst_plane;
    const int64_t s0 = o0 + g.shift[0], s1 = o1 + g.shift[1], s2 = o2 + g.shift[2];
    C v = C(0);
    if (s0 >= 0 && s0 < g.src[0] && s1 >= 0 && s1 < g.src[1] && s2 >= 0 && s2 < g.src[2])
      v = load(src[((p * g.src[0] + s0) * g.src[1] + s1) * g.src[2] + s2]);
    if (bias) v += load(bias[p % g.channels]);
    dst[i] = store<T>(activate<C>(v, a));
  }
}

}  // namespace

template <typename T>
cudaError_t launch_bias_act(T* y, int64_t n, const T* bias, int64_t inner, int64_t channels,
                            ActParams a, cudaStream_t stream) {
  if (n <= 0 || (bias == nullptr && a.act == EpilogueAct::kNone)) return cudaSuccess;
  bias_act_kernel<T>
      <<<nn_blocks(n), kNnThreads, 0, stream>>>(y, n, bias, nullptr, inner, channels, a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_bias_residual_act(T* y, int64_t n, const T* bias, const T* residual,
                                     int64_t inner, int64_t channels, ActParams a,
                                     cudaStream_t stream) {
  if (n <= 0 || (bias == nullptr && residual == nullptr && a.act == EpilogueAct::kNone))
    return cudaSuccess;
  bias_act_kernel<T>
      <<<nn_blocks(n), kNnThreads, 0, stream>>>(y, n, bias, residual, inner, channels, a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_broadcast_bias_act(T* y, Shape8 out, const T* bias, Shape8 bias_strides,
                                      ActParams a, cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < out.rank; ++k) n *= out.d[k];
  if (n <= 0) return cudaSuccess;
  broadcast_bias_act_kernel<T>
      <<<nn_blocks(n), kNnThreads, 0, stream>>>(y, n, out, bias, bias_strides, a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_broadcast_copy(const T* src, Shape8 src_strides, T* dst, Shape8 out,
                                  cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < out.rank; ++k) n *= out.d[k];
  if (n <= 0) return cudaSuccess;
  broadcast_copy_kernel<T><<<nn_blocks(n), kNnThreads, 0, stream>>>(src, src_strides, dst, n, out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_window_copy(const T* src, T* dst, WindowCopy g, const T* bias, ActParams a,
                               cudaStream_t stream) {
  const int64_t n = g.planes * g.dst[0] * g.dst[1] * g.dst[2];
  if (n <= 0) return cudaSuccess;
  window_copy_kernel<T><<<nn_blocks(n), kNnThreads, 0, stream>>>(src, dst, n, g, bias, a);
  return cudaGetLastError();
}

#define TARMAC_NN_EPILOGUE(T)                                                                 \
  template cudaError_t launch_bias_act<T>(T*, int64_t, const T*, int64_t, int64_t, ActParams, \
                                          cudaStream_t);                                      \
  template cudaError_t launch_bias_residual_act<T>(T*, int64_t, const T*, const T*, int64_t,  \
                                                   int64_t, ActParams, cudaStream_t);         \
  template cudaError_t launch_broadcast_bias_act<T>(T*, Shape8, const T*, Shape8, ActParams,  \
                                                    cudaStream_t);                            \
  template cudaError_t launch_broadcast_copy<T>(const T*, Shape8, T*, Shape8, cudaStream_t);  \
  template cudaError_t launch_window_copy<T>(const T*, T*, WindowCopy, const T*, ActParams,   \
                                             cudaStream_t);
TARMAC_NN_EPILOGUE(float)
TARMAC_NN_EPILOGUE(double)
TARMAC_NN_EPILOGUE(__half)
TARMAC_NN_EPILOGUE(__nv_bfloat16)
#undef TARMAC_NN_EPILOGUE

}  // namespace tarmac::cuda
