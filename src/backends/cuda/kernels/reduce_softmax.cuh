// Launchers of Softmax/LogSoftmax and CumSum. Both see the input as [outer, n, inner] around
// the normalized / scanned axis (Softmax before opset 13: inner == 1 and n the flattened tail).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace tarmac::cuda {

/// Rows up to this length get one warp each; longer rows one block each.
inline constexpr int64_t kSoftmaxWarpRow = 1024;

/// x, y: [outer, n, inner] of a float dtype.
cudaError_t launch_softmax(DType dtype, bool log, int64_t outer, int64_t n, int64_t inner,
                           const void* x, void* y, cudaStream_t stream);

/// x, y: [outer, n, inner]; float dtypes, int32 and int64.
cudaError_t launch_cumsum(DType dtype, bool exclusive, bool reverse, int64_t outer, int64_t n,
                          int64_t inner, const void* x, void* y, cudaStream_t stream);

}  // namespace tarmac::cuda
