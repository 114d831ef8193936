// The CUDA kernel table: op type -> factory. Each kernel family registers its ops from its
// own file (kernels/<family>.cc) through register_<family>_kernels, called by the backend.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "backends/backend.h"

namespace tarmac::cuda {

/// What a factory sees: the node (value types hold static shapes and dtypes), the model's
/// opset and the build configuration.
struct KernelArgs {
  const Node& node;
  int64_t opset;
  const KernelConfig& config;

  const ValueType& in(size_t i) const { return node.inputs[i]->type; }
  const ValueType& out(size_t i) const { return node.outputs[i]->type; }
  bool has_input(size_t i) const { return node.has_input(i); }
  /// Constant contents of input i (weights, shapes), nullptr when computed at run time.
  const Tensor* constant(size_t i) const {
    return node.has_input(i) ? node.inputs[i]->constant.get() : nullptr;
  }
};

/// Builds the device kernel, or returns kUnsupported saying what this node needs that the
/// kernel does not do (dtype, attribute value, rank). Must not touch the GPU.
using KernelFactory = StatusOr<std::unique_ptr<DeviceKernel>> (*)(const KernelArgs&);

class KernelRegistry {
 public:
  void add(std::string_view op_type, KernelFactory f) { table_[std::string(op_type)] = f; }
  KernelFactory find(std::string_view op_type) const {
    auto it = table_.find(std::string(op_type));
    return it == table_.end() ? nullptr : it->second;
  }
  const std::map<std::string, KernelFactory>& all() const { return table_; }

 private:
  std::map<std::string, KernelFactory> table_;
};

/// The process-wide table, filled on first use by the families below.
const KernelRegistry& kernel_registry();

void register_elementwise_kernels(KernelRegistry& r);  // kernels/elementwise*.cc
void register_nn_kernels(KernelRegistry& r);           // kernels/nn*.cc (conv, gemm, pool, norm)
void register_tensor_kernels(KernelRegistry& r);       // kernels/tensor*.cc (data movement)
void register_reduce_kernels(KernelRegistry& r);       // kernels/reduce*.cc (reduce, softmax)
void register_fused_elementwise_kernels(KernelRegistry& r);  // kernels/fused_elementwise.cc

}  // namespace tarmac::cuda
