// Normalization kernels: BatchNormalization (inference: per-channel affine),
// Instance/GroupNormalization (one block per (image, group) slice) and LayerNormalization (one
// block per row). Statistics use Welford's update per thread and Chan's merge across the
// block, in float (double for double data).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"

namespace tarmac::cuda {

/// A parameter tensor whose floating dtype may differ from the data's (scale, mean, ...).
enum class ParamType : int32_t { kFloat32, kFloat16, kBFloat16, kFloat64 };
struct Param {
  const void* data = nullptr;
  ParamType type = ParamType::kFloat32;
};

/// y = x * a[c] + b[c] with a = scale / sqrt(var + eps), b = bias - mean * a, c the channel of
/// x [N, C, spatial] (per_activation: c indexes [C, spatial]). `coef` is workspace for
/// 2 * count values of the compute type (count = C, or C * spatial per activation).
template <typename T>
cudaError_t launch_batch_norm(const T* x, T* y, int64_t n, int64_t channels, int64_t spatial,
                              bool per_activation, Param scale, Param bias, Param mean, Param var,
                              float eps, void* coef, cudaStream_t stream);

/// x [N, groups * cg, spatial] normalized over each (image, group) slice of cg * spatial values,
/// then y = norm * scale[i] + bias[i] with i the channel (per_channel) or the group.
template <typename T>
cudaError_t launch_group_norm(const T* x, T* y, int64_t batch, int64_t groups, int64_t cg,
                              int64_t spatial, Param scale, Param bias, bool per_channel, float eps,
                              cudaStream_t stream);

/// LayerNormalization of x viewed as [rows, n]. A parameter with `tail` set is indexed by the
/// position in the row; otherwise by broadcast_offset(row * n + i, dims, strides).
struct LayerNormParams {
  int64_t rows = 0, n = 0;
  float eps = 1e-5f;
  Param scale, bias;  // bias.data may be nullptr
  bool scale_tail = true, bias_tail = true;
  Shape8 dims, scale_strides, bias_strides;
  float* mean = nullptr;     // [rows] or nullptr
  float* inv_std = nullptr;  // [rows] or nullptr
};

template <typename T>
cudaError_t launch_layer_norm(const T* x, T* y, const LayerNormParams& p, cudaStream_t stream);

}  // namespace tarmac::cuda
