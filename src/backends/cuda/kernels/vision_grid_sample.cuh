// Launcher of GridSample (opset 16: 4-D bilinear/nearest/bicubic; opset 20: N-d linear/
// nearest/cubic; here up to 3 spatial axes). Positions, weights and sums are computed in double
// in the CPU reference's operation order, with the same multiply-adds fused as the CPU build
// (GCC, -march=x86-64-v3, default -ffp-contract=fast), so integer outputs, which truncate,
// match it bit for bit.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace tarmac::cuda {

inline constexpr int kGridSampleMaxSpatial = 3;

enum class GridMode { kNearest, kLinear, kCubic };
enum class GridPadding { kZeros, kBorder, kReflection };

struct GridSampleParams {
  GridMode mode = GridMode::kLinear;
  GridPadding padding = GridPadding::kZeros;
  bool align_corners = false;
  bool float_grid = true;  // grid positions are rounded to float32 (every grid dtype but f64)
  int32_t r = 2;           // spatial axes
  int64_t batch = 0, channels = 0;
  int64_t in_dims[kGridSampleMaxSpatial] = {};  // X spatial dims
  int64_t in_size = 0;                          // product of in_dims
  int64_t out_size = 0;                         // product of the grid's spatial dims
};

/// x: [N, C, in...], grid: [N, out..., r], y: [N, C, out...].
cudaError_t launch_grid_sample(DType x_dtype, DType grid_dtype, const GridSampleParams& p,
                               const void* x, const void* grid, void* y, cudaStream_t stream);

}  // namespace tarmac::cuda
