// Elementwise launchers that other kernel families call from their host code (.cc files; the
// header uses Status, which nvcc cannot compile under -Werror).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "core/status.h"

namespace tarmac {
enum class Activation;  // ir/fused_ops.h
}  // namespace tarmac

namespace tarmac::cuda {

/// data[i] = act(data[i]) over n elements of float32/float16/bfloat16 (computed in float, same
/// formulas as apply_activation; alpha/beta as the fused node's activation_alpha/_beta). For
/// epilogues cuDNN/cuBLASLt cannot fuse. Launches nothing for n == 0 or Activation::kNone.
Status launch_activation_inplace(DType dtype, void* data, int64_t n, Activation act, float alpha,
                                 float beta, cudaStream_t stream);

}  // namespace tarmac::cuda
