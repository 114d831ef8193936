// Seeded random tensors for generated inputs (CLI, tests, comparisons).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tarmac {

/// Seeded random contents: floats uniform in [-1, 1], integers in [0, 8), bools 50/50.
Tensor random_tensor(DType dtype, const Dims& dims, uint64_t seed);

}  // namespace tarmac
