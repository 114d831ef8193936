// Launch geometry for the nn family's .cu files. cuda_common.h has the same helpers, but it
// includes backend.h, whose fmt format strings nvcc cannot evaluate, so .cu files use these.
#pragma once

#include <cstdint>

namespace tarmac::cuda {

inline constexpr int kNnThreads = 256;

/// Blocks for a grid-stride loop over n elements (at least 1, at most 2^31 - 1).
inline unsigned int nn_blocks(int64_t n, int threads = kNnThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(
      b < 1 ? 1 : (b > (int64_t{1} << 31) - 1 ? (int64_t{1} << 31) - 1 : b));
}

}  // namespace tarmac::cuda
