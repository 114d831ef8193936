// Device-side helpers private to the elementwise .cu files: DType -> CUDA type dispatch, launch
// geometry, broadcast offsets, and integer arithmetic with the CPU reference's wrap/zero rules
// (src/backends/cpu/elementwise_util.h).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/elementwise_launch.cuh"
#include "core/dtype.h"

namespace tarmac::cuda::ew {

/// Carries a type through a generic lambda: f(Tag<float>{}) -> using T = typename
/// decltype(tag)::type.
template <typename T>
struct Tag {
  using type = T;
};

/// Calls f(Tag<T>{}) with T the CUDA type of `t`; cudaErrorInvalidValue for other dtypes.
template <typename F>
cudaError_t dispatch(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      return f(Tag<float>{});
    case DType::kFloat16:
      return f(Tag<__half>{});
    case DType::kBFloat16:
      return f(Tag<__nv_bfloat16>{});
    case DType::kFloat64:
      return f(Tag<double>{});
    case DType::kInt8:
      return f(Tag<int8_t>{});
    case DType::kUint8:
      return f(Tag<uint8_t>{});
    case DType::kInt32:
      return f(Tag<int32_t>{});
    case DType::kInt64:
      return f(Tag<int64_t>{});
    case DType::kBool:
      return f(Tag<bool>{});
    default:
      return cudaErrorInvalidValue;
  }
}

template <typename T>
inline constexpr bool kIsHalf = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;
template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsHalf<T>;
template <typename T>
inline constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
inline constexpr bool kIsNumeric = kIsFloat<T> || kIsInt<T>;

inline constexpr int kThreadsPerBlock = 256;

/// Blocks for a grid-stride loop over n elements (n > 0); capped so huge tensors loop.
inline unsigned int grid_for(int64_t n) {
  const int64_t b = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  constexpr int64_t kMaxBlocks = int64_t{1} << 20;
  return static_cast<unsigned int>(b < kMaxBlocks ? b : kMaxBlocks);
}

__device__ __forceinline__ int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

/// Offsets of N inputs for output index `i` (one decomposition of i shared by all inputs).
template <int N>
__device__ __forceinline__ void broadcast_offsets(int64_t i, const Shape8& out,
                                                  const Shape8* strides, int count, int64_t* off) {
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = out.rank - 1; d >= 0; --d) {
    const int64_t dim = out.d[d];
    const int64_t idx = i % dim;
    i /= dim;
#pragma unroll
    for (int k = 0; k < N; ++k)
      if (k < count) off[k] += idx * strides[k].d[d];
  }
}

// Signed overflow is undefined in C++; ONNX runtimes wrap, so compute in the unsigned type.
template <typename T>
__device__ __forceinline__ T wrap_add(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <typename T>
__device__ __forceinline__ T wrap_sub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <typename T>
__device__ __forceinline__ T wrap_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
}
template <typename T>
__device__ __forceinline__ T wrap_neg(T a) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(a)));
}
/// Truncating division; x / 0 = 0 and MIN / -1 wraps to MIN (docs/design.md).
template <typename T>
__device__ __forceinline__ T int_div(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return wrap_neg(a);
  }
  return static_cast<T>(a / b);
}
/// C remainder (sign of the dividend); x % 0 = 0.
template <typename T>
__device__ __forceinline__ T int_rem(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return 0;
  }
  return static_cast<T>(a % b);
}
/// Python modulo (sign of the divisor); x mod 0 = 0.
template <typename T>
__device__ __forceinline__ T int_mod(T a, T b) {
  T r = int_rem(a, b);
  if constexpr (std::is_signed_v<T>) {
    if (r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
  }
  return r;
}

/// std::max / std::min exactly (NaN handling included): max(a, b) = a < b ? b : a.
template <typename C>
__device__ __forceinline__ C std_max(C a, C b) {
  return a < b ? b : a;
}
template <typename C>
__device__ __forceinline__ C std_min(C a, C b) {
  return b < a ? b : a;
}

/// numpy.maximum / numpy.minimum: NaN in either operand gives NaN.
template <typename C>
__device__ __forceinline__ C nan_max(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (isnan(a)) return a;
  }
  return a > b ? a : b;
}
template <typename C>
__device__ __forceinline__ C nan_min(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (isnan(a)) return a;
  }
  return a < b ? a : b;
}

// Overloads choosing the float or double libdevice function.
__device__ __forceinline__ float m_exp(float x) { return expf(x); }
__device__ __forceinline__ double m_exp(double x) { return exp(x); }
__device__ __forceinline__ float m_expm1(float x) { return expm1f(x); }
__device__ __forceinline__ double m_expm1(double x) { return expm1(x); }
__device__ __forceinline__ float m_log(float x) { return logf(x); }
__device__ __forceinline__ double m_log(double x) { return log(x); }
__device__ __forceinline__ float m_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ double m_log1p(double x) { return log1p(x); }
__device__ __forceinline__ float m_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double m_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float m_sin(float x) { return sinf(x); }
__device__ __forceinline__ double m_sin(double x) { return sin(x); }
__device__ __forceinline__ float m_cos(float x) { return cosf(x); }
__device__ __forceinline__ double m_cos(double x) { return cos(x); }
__device__ __forceinline__ float m_tanh(float x) { return tanhf(x); }
__device__ __forceinline__ double m_tanh(double x) { return tanh(x); }
__device__ __forceinline__ float m_erf(float x) { return erff(x); }
__device__ __forceinline__ double m_erf(double x) { return erf(x); }
__device__ __forceinline__ float m_floor(float x) { return floorf(x); }
__device__ __forceinline__ double m_floor(double x) { return floor(x); }
__device__ __forceinline__ float m_ceil(float x) { return ceilf(x); }
__device__ __forceinline__ double m_ceil(double x) { return ceil(x); }
__device__ __forceinline__ float m_rint(float x) { return rintf(x); }  // half to even
__device__ __forceinline__ double m_rint(double x) { return rint(x); }
__device__ __forceinline__ float m_fmod(float x, float y) { return fmodf(x, y); }
__device__ __forceinline__ double m_fmod(double x, double y) { return fmod(x, y); }
__device__ __forceinline__ float m_pow(float x, float y) { return powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return pow(x, y); }

}  // namespace tarmac::cuda::ew
