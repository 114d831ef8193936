// The nn family: Conv/ConvTranspose (cuDNN), Gemm/MatMul (cuBLASLt), pools and
// normalizations (custom kernels). Einsum has no CUDA kernel (kUnsupported).
#include "backends/cuda/kernels/nn_util.h"

namespace tarmac::cuda {

void register_nn_kernels(KernelRegistry& r) {
  r.add("Conv", &nn::make_conv);
  r.add("ConvTranspose", &nn::make_conv_transpose);
  r.add("Gemm", &nn::make_gemm);
  r.add("MatMul", &nn::make_matmul);
  r.add("MaxPool", &nn::make_max_pool);
  r.add("AveragePool", &nn::make_average_pool);
  r.add("GlobalMaxPool", &nn::make_global_max_pool);
  r.add("GlobalAveragePool", &nn::make_global_average_pool);
  r.add("BatchNormalization", &nn::make_batch_norm);
  r.add("InstanceNormalization", &nn::make_instance_norm);
  r.add("GroupNormalization", &nn::make_group_norm);
  r.add("LayerNormalization", &nn::make_layer_norm);
}

}  // namespace tarmac::cuda
