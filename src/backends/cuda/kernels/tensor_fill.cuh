// Launchers of the tensor family's kernels that make new values: ConstantOfShape (fill), Range,
// and Shape/Size (a few int64 values known at build time). Each returns the launch status.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"
#include "core/dtype.h"

namespace tarmac::cuda {

/// out[i] = the low `elem` bytes of `bits` for i < numel   out: [numel] of `elem` (1/2/4/8) bytes
cudaError_t launch_fill(void* out, int elem, uint64_t bits, int64_t numel, cudaStream_t stream);

/// Range: out[i] = start + i * delta for i < numel, computed as the CPU reference does (int64
/// for integers, double for floats, then converted); `start` and `delta` are device scalars of
/// `dtype` (float32, float64, int32 or int64).
cudaError_t launch_range(const void* start, const void* delta, void* out, DType dtype,
                         int64_t numel, cudaStream_t stream);

/// out[k] = values.d[k] for k < values.rank   out: [values.rank] int64
cudaError_t launch_write_int64(void* out, const Shape8& values, cudaStream_t stream);

}  // namespace tarmac::cuda
