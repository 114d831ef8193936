// Host-side helpers of the CUDA nn family: dtype dispatch to the CUDA element types, library
// dtype codes, and the fused-activation parameters of internal nodes.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cudnn.h>
#include <library_types.h>

#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/nn_epilogue.cuh"
#include "backends/cuda/registry.h"
#include "ir/fused_ops.h"

namespace tarmac::cuda::nn {

static_assert(static_cast<int>(EpilogueAct::kTanh) == static_cast<int>(Activation::kTanh) &&
                  static_cast<int>(EpilogueAct::kRelu) == static_cast<int>(Activation::kRelu) &&
                  static_cast<int>(EpilogueAct::kGeluTanh) ==
                      static_cast<int>(Activation::kGeluTanh),
              "EpilogueAct mirrors tarmac::Activation");

/// The floating dtypes the nn kernels run (compute in float; double in double).
inline bool is_nn_float(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16 ||
         t == DType::kFloat64;
}

/// Calls f(T{}) with the CUDA element type of a floating dtype; false for other dtypes.
template <typename F>
bool dispatch_float(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      f(float{});
      return true;
    case DType::kFloat64:
      f(double{});
      return true;
    case DType::kFloat16:
      f(__half{});
      return true;
    case DType::kBFloat16:
      f(__nv_bfloat16{});
      return true;
    default:
      return false;
  }
}

inline cudnnDataType_t cudnn_dtype(DType t) {
  switch (t) {
    case DType::kFloat16:
      return CUDNN_DATA_HALF;
    case DType::kBFloat16:
      return CUDNN_DATA_BFLOAT16;
    case DType::kFloat64:
      return CUDNN_DATA_DOUBLE;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

inline cudaDataType_t cuda_dtype(DType t) {
  switch (t) {
    case DType::kFloat16:
      return CUDA_R_16F;
    case DType::kBFloat16:
      return CUDA_R_16BF;
    case DType::kFloat64:
      return CUDA_R_64F;
    default:
      return CUDA_R_32F;
  }
}

/// The fused activation of an internal node (kNone for ONNX-domain nodes), with the
/// defaults of FusedCpuKernel: Clip bounds +-inf, LeakyRelu alpha 0.01, HardSigmoid 0.2/0.5.
inline StatusOr<ActParams> fused_activation(const Node& node) {
  ActParams p;
  if (!is_internal_node(node)) return p;
  TARMAC_ASSIGN_OR_RETURN(Activation act, activation_of(node));
  if (act != Activation::kNone && !takes_activation(node.op_type))
    return unsupported("{}: {} cannot carry a fused activation", node.describe(), node.op_type);
  p.act = static_cast<EpilogueAct>(static_cast<int>(act));
  p.alpha = node.attr_float("activation_alpha", act == Activation::kLeakyRelu ? 0.01f : 0.f);
  p.beta = node.attr_float("activation_beta", 0.f);
  if (act == Activation::kClip) {
    p.alpha = node.attr_float("activation_alpha", -std::numeric_limits<float>::infinity());
    p.beta = node.attr_float("activation_beta", std::numeric_limits<float>::infinity());
  }
  if (act == Activation::kHardSigmoid) {
    p.alpha = node.attr_float("activation_alpha", 0.2f);
    p.beta = node.attr_float("activation_beta", 0.5f);
  }
  return p;
}

/// Byte offset rounded up to 256 (workspace sub-buffers).
inline size_t align256(size_t b) { return (b + 255) / 256 * 256; }

// Factories (one file each); registered by register_nn_kernels (nn.cc).
StatusOr<std::unique_ptr<DeviceKernel>> make_conv(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_conv_transpose(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_gemm(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_matmul(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_max_pool(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_average_pool(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_global_max_pool(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_global_average_pool(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_batch_norm(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_instance_norm(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_group_norm(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_layer_norm(const KernelArgs& a);

}  // namespace tarmac::cuda::nn
