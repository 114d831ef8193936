// Pooling kernels: MaxPool / AveragePool with one thread per output element (1-D to 3-D,
// spatial axes left-padded to three), and global pools with one block per plane.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace tarmac::cuda {

/// Window geometry of one pool; axes left of the node's spatial axes have unit extents.
struct PoolParams {
  int64_t planes = 0;  // N * C
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1};
  int64_t pad_begin[3] = {0, 0, 0}, pad_end[3] = {0, 0, 0};
  bool count_include_pad = false;
};

/// y [planes, out...] = max over the window of x [planes, in...] (taps in the padding are
/// skipped; a window with no valid tap gives the type's lowest value).
template <typename T>
cudaError_t launch_max_pool(const PoolParams& p, const T* x, T* y, cudaStream_t stream);

/// y = mean over the valid taps (count_include_pad: over the taps inside the padded extent).
template <typename T>
cudaError_t launch_average_pool(const PoolParams& p, const T* x, T* y, cudaStream_t stream);

/// y [planes] = max or mean of each plane of x [planes, size].
template <typename T>
cudaError_t launch_global_pool(const T* x, T* y, int64_t planes, int64_t size, bool max,
                               cudaStream_t stream);

}  // namespace tarmac::cuda
