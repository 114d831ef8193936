// Device helpers shared by the reduce and vision kernel families: DType -> CUDA type dispatch,
// NaN tests that also work for integer compute types, and the ordering TopK/ArgMax use.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/common.cuh"
#include "core/dtype.h"

namespace tarmac::cuda::reduce_detail {

/// Calls f(T{}) with T the CUDA storage type of `t`; returns false for kUndefined.
template <typename F>
bool dispatch_type(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      f(float{});
      return true;
    case DType::kFloat64:
      f(double{});
      return true;
    case DType::kFloat16:
      f(__half{});
      return true;
    case DType::kBFloat16:
      f(__nv_bfloat16{});
      return true;
    case DType::kInt8:
      f(int8_t{});
      return true;
    case DType::kUint8:
      f(uint8_t{});
      return true;
    case DType::kInt32:
      f(int32_t{});
      return true;
    case DType::kInt64:
      f(int64_t{});
      return true;
    case DType::kBool:
      f(bool{});
      return true;
    default:
      return false;
  }
}

__host__ __device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__host__ __device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

template <typename T>
inline constexpr bool kIsFloat = std::is_floating_point_v<compute_t<T>>;

template <typename C>
__device__ __forceinline__ bool is_nan(C v) {
  if constexpr (std::is_floating_point_v<C>) {
    return v != v;
  } else {
    return false;
  }
}

/// Strict "a ranks below b" with NaN above every number (numpy's sort order), as the CPU
/// reference's ranks_below.
template <typename C>
__device__ __forceinline__ bool ranks_below(C a, C b) {
  if (is_nan(a)) return false;
  if (is_nan(b)) return true;
  return a < b;
}

/// Like ranks_below with NaN under every number (ArgMin's order).
template <typename C>
__device__ __forceinline__ bool ranks_below_nan_low(C a, C b) {
  if (is_nan(b)) return false;
  if (is_nan(a)) return true;
  return a < b;
}

/// Loads element i as its compute type; bool loads as int64 0/1.
template <typename T>
__device__ __forceinline__ auto load_at(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, bool>) {
    return static_cast<int64_t>(p[i] ? 1 : 0);
  } else {
    return load(p[i]);
  }
}

}  // namespace tarmac::cuda::reduce_detail
