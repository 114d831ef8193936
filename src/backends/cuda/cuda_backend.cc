#include "backends/cuda/cuda_backend.h"

#include "backends/cuda/registry.h"
#include "ir/fused_ops.h"
#include "ir/op_registry.h"

namespace tarmac {

namespace cuda {

const KernelRegistry& kernel_registry() {
  static const KernelRegistry* r = [] {
    auto* reg = new KernelRegistry();
    register_elementwise_kernels(*reg);
    register_nn_kernels(*reg);
    register_tensor_kernels(*reg);
    register_reduce_kernels(*reg);
    register_fused_elementwise_kernels(*reg);
    return reg;
  }();
  return *r;
}

}  // namespace cuda

namespace {

class CudaBackend final : public Backend {
 public:
  std::string_view name() const override { return "cuda"; }
  bool is_device() const override { return true; }

  Status supports(const Node& node, int64_t opset) const override {
    return make_device_kernel(node, opset, "", KernelConfig{}).status();
  }

  std::vector<std::string> tactics(const Node& /*node*/, int64_t /*opset*/) const override {
    return {"default"};
  }

  StatusOr<std::unique_ptr<Kernel>> make_kernel(const Node& node, int64_t /*opset*/,
                                                const std::string& /*tactic*/) const override {
    return unsupported("{}: the CUDA backend has only device kernels", node.describe());
  }

  StatusOr<std::unique_ptr<DeviceKernel>> make_device_kernel(
      const Node& node, int64_t opset, const std::string& tactic,
      const KernelConfig& base_config) const override {
    KernelConfig config = base_config;
    if (!tactic.empty() && tactic != "default") config.tactic = tactic;
    if (!is_onnx_domain(node.domain) && !is_internal_node(node))
      return unsupported("{}: domain '{}' is not supported", node.describe(), node.domain);
    const cuda::KernelFactory f = cuda::kernel_registry().find(node.op_type);
    if (!f) return unsupported("{}: no CUDA kernel for {} yet", node.describe(), node.op_type);
    for (const Value* v : node.inputs)
      if (v && (!v->type.has_shape || !shape_is_static(v->type.shape)))
        return unsupported("{}: input '{}' has no static shape ({})", node.describe(), v->name,
                           v->type.to_string());
    for (const Value* v : node.outputs)
      if (v && (!v->type.has_shape || !shape_is_static(v->type.shape)))
        return unsupported("{}: output '{}' has a data-dependent or symbolic shape ({})",
                           node.describe(), v->name, v->type.to_string());
    return f(cuda::KernelArgs{node, opset, config});
  }
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

}  // namespace tarmac
