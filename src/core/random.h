// Seeded random tensors for generated inputs (CLI, tests, comparisons).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tarmac {

/// Seeded random contents: floats uniform in [-1, 1], integers in [0, 8), bools 50/50.
Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed);
/// Floats uniform in [lo, hi], integers uniform in [ceil(lo), floor(hi)] (clamped to the
/// type's range; [0, 0] when empty), bools 50/50.
Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed, double lo, double hi);

}  // namespace tarmac
