// Device-side helpers shared by the kernel families: element types, float conversion for the
// half types (arithmetic happens in float), and broadcast indexing up to rank 8.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"

namespace tarmac::cuda {

template <typename T>
struct Compute {
  using type = T;
};
template <>
struct Compute<__half> {
  using type = float;
};
template <>
struct Compute<__nv_bfloat16> {
  using type = float;
};
/// The type arithmetic on T happens in (float for the half types).
template <typename T>
using compute_t = typename Compute<T>::type;

template <typename T>
__device__ __forceinline__ compute_t<T> load(T v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half2float(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(v);
  } else {
    return v;
  }
}

template <typename T, typename C>
__device__ __forceinline__ T store(C v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else {
    return static_cast<T>(v);
  }
}

/// Offset into a (possibly broadcast) input for the output's linear index.
__host__ __device__ inline int64_t broadcast_offset(int64_t linear, const Shape8& out,
                                                    const Shape8& in_strides) {
  int64_t off = 0;
  for (int k = out.rank - 1; k >= 0; --k) {
    const int64_t d = out.d[k];
    const int64_t i = linear % d;
    linear /= d;
    off += i * in_strides.d[k];
  }
  return off;
}

}  // namespace tarmac::cuda
