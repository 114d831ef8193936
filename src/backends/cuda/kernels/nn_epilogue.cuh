// Epilogues of the nn family: bias add (+ residual add) + fused activation (the formulas of
// apply_activation in ir/fused_ops.h), broadcast copies (Gemm's C) and window copies (explicit zero
// padding before cuDNN, which pads symmetrically only, and the crop after a full-size
// ConvTranspose).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backends/cuda/kernels/shape.h"

namespace tarmac::cuda {

/// Mirrors tarmac::Activation (ir/fused_ops.h); nn_util.h static_asserts the values match.
enum class EpilogueAct : int32_t {
  kNone = 0,
  kRelu,
  kClip,
  kLeakyRelu,
  kSigmoid,
  kHardSigmoid,
  kHardSwish,
  kSilu,
  kGelu,
  kGeluTanh,
  kMish,
  kTanh,
};

/// The activation and its parameters (Clip min/max, LeakyRelu alpha, HardSigmoid alpha/beta).
struct ActParams {
  EpilogueAct act = EpilogueAct::kNone;
  float alpha = 0;
  float beta = 0;
};

/// y[i] = act(y[i] + bias[(i / inner) % channels]) in place over n elements of
/// y [outer, channels, inner]; bias [channels] may be nullptr (activation only).
template <typename T>
cudaError_t launch_bias_act(T* y, int64_t n, const T* bias, int64_t inner, int64_t channels,
                            ActParams a, cudaStream_t stream);

/// y[i] = act(y[i] + bias[(i / inner) % channels] + residual[i]) in place: the epilogue of an
/// internal Conv with a residual (ir/fused_ops.h); residual [outer, channels, inner] must not
/// alias y; bias may be nullptr.
template <typename T>
cudaError_t launch_bias_residual_act(T* y, int64_t n, const T* bias, const T* residual,
                                     int64_t inner, int64_t channels, ActParams a,
                                     cudaStream_t stream);

/// y[i] = act(y[i] + bias[broadcast offset of i]) in place; y has dims `out`, bias is read
/// through `bias_strides` (broadcast_strides against out; 0 on broadcast axes).
template <typename T>
cudaError_t launch_broadcast_bias_act(T* y, Shape8 out, const T* bias, Shape8 bias_strides,
                                      ActParams a, cudaStream_t stream);

/// dst[i] = src[broadcast offset of i] over the elements of dst (dims `out`).
template <typename T>
cudaError_t launch_broadcast_copy(const T* src, Shape8 src_strides, T* dst, Shape8 out,
                                  cudaStream_t stream);

/// A copy between two stacks of planes with up to three spatial axes (leading axes of unit
/// extent): dst[p, o...] = act(src[p, o + shift...] (0 outside src) + bias[p % channels]);
/// bias may be nullptr.
struct WindowCopy {
  int64_t planes = 0;    // N * C
  int64_t channels = 1;  // C (bias index)
  int64_t src[3] = {1, 1, 1};
  int64_t dst[3] = {1, 1, 1};
  int64_t shift[3] = {0, 0, 0};  // src index = dst index + shift (negative: zero padding)
};

template <typename T>
cudaError_t launch_window_copy(const T* src, T* dst, WindowCopy g, const T* bias, ActParams a,
                               cudaStream_t stream);

}  // namespace tarmac::cuda
