// Launchers of Resize/Upsample. The host plans every axis once (source indices, weights and
// tf_crop_and_resize "outside" flags per output coordinate, exactly as the CPU reference
// computes them in double) and uploads the tables at initialize(); the kernels only gather.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"
#include "core/dtype.h"

namespace tarmac::cuda {

enum class ResizeKernelMode { kNearest, kInterpolate };

/// Per-axis view into the uploaded tables: output coordinate j of axis a reads input index
/// idx[idx_off[a] + j * taps[a] + k] with weight w[idx_off[a] + j * taps[a] + k], k < taps[a];
/// outside[out_off[a] + j] marks tf_crop_and_resize extrapolation.
struct ResizeParams {
  Shape8 in_dims, out_dims;
  int64_t in_strides[kMaxRank] = {};
  int32_t taps[kMaxRank] = {};
  int64_t idx_off[kMaxRank] = {};
  int64_t out_off[kMaxRank] = {};
  int32_t nact = 0;  // axes that are not the identity (interpolation only)
  int32_t act[kMaxRank] = {};
  bool any_outside = false;
  double extrapolation = 0;
  const int64_t* idx = nullptr;      // device table
  const double* w = nullptr;         // device table
  const uint8_t* outside = nullptr;  // device table
};

/// x: input dims, y: output dims (ResizeParams), same dtype.
cudaError_t launch_resize(ResizeKernelMode mode, DType dtype, const ResizeParams& p, const void* x,
                          void* y, cudaStream_t stream);

}  // namespace tarmac::cuda
