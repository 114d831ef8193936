// Device-side helpers shared by the tensor family's kernels (tensor_*.cu): opaque words for
// moving elements without looking at them, launch geometry and strided-view offsets.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/shape.h"

namespace tarmac::cuda::tensor_dev {

/// Unsigned word of `bytes` bytes (16: uint4, four 32-bit lanes).
template <int bytes>
struct Word;
template <>
struct Word<1> {
  using type = uint8_t;
};
template <>
struct Word<2> {
  using type = uint16_t;
};
template <>
struct Word<4> {
  using type = uint32_t;
};
template <>
struct Word<8> {
  using type = uint64_t;
};
template <>
struct Word<16> {
  using type = uint4;
};
template <int bytes>
using word_t = typename Word<bytes>::type;

// cuda_common.h (kThreads, blocks_for) brings fmt, which nvcc cannot compile; these match it.
inline constexpr int kThreads = 256;
/// Grid-stride kernels never need more blocks than this to fill the GPU.
inline constexpr int64_t kMaxBlocks = int64_t{1} << 20;

/// Blocks of kThreads for a grid-stride loop over n elements.
inline unsigned int grid_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

/// Offset of dense linear index `i` of [dims] in a view with `strides`.
template <typename I>
__device__ __forceinline__ I view_offset(I i, const Shape8& dims, const Shape8& strides) {
  static_assert(std::is_integral_v<I> && std::is_signed_v<I>,
                "views may have negative strides: the index type must be signed");
  I off = 0;
#pragma unroll
  for (int k = kMaxRank - 1; k >= 0; --k) {
    if (k < dims.rank) {
      const I d = static_cast<I>(dims.d[k]);
      const I c = i % d;
      i /= d;
      off += c * static_cast<I>(strides.d[k]);
    }
  }
  return off;
}

/// A possibly negative index into an axis of size n mapped into [0, n); false when outside
/// [-n, n) (the CPU reference rejects such an index).
__device__ __forceinline__ bool wrap_index(int64_t v, int64_t n, int64_t* out) {
  if (v < -n || v >= n) return false;
  *out = v < 0 ? v + n : v;
  return true;
}

}  // namespace tarmac::cuda::tensor_dev
