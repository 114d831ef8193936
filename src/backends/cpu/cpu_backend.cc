// The CPU reference backend: one kernel per op from ops.def, one tactic each, plus the
// IR-internal fused nodes (ir/fused_ops.h) as the base kernel followed by bias and activation.
#include "backends/backend.h"
#include "backends/cpu/fused.h"
#include "backends/cpu/kernel.h"
#include "ir/elementwise_program.h"
#include "ir/fused_ops.h"

namespace tarmac {

namespace {

class CpuKernel final : public Kernel {
 public:
  CpuKernel(const Node& node, int64_t opset, CpuKernelFn fn)
      : node_(node), opset_(opset), fn_(fn) {}

  Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) override {
    KernelContext ctx{node_, opset_, inputs, std::vector<Tensor>(node_.outputs.size())};
    while (!ctx.inputs.empty() && ctx.inputs.back() == nullptr) ctx.inputs.pop_back();
    TARMAC_RETURN_IF_ERROR(fn_(ctx));
    *outputs = std::move(ctx.outputs);
    return Status::ok();
  }

 private:
  const Node& node_;
  int64_t opset_;
  CpuKernelFn fn_;
};

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu"; }

  Status supports(const Node& node, int64_t /*opset*/) const override {
    if (is_internal_node(node)) {
      if (node.op_type == kFusedElementwiseOp) return decode_program(node).status();
      if (!is_internal_op_type(node.op_type) || !find_cpu_kernel(node.op_type))
        return unsupported("{}: not an internal fused op", node.describe());
      return activation_of(node).status();
    }
    if (!is_onnx_domain(node.domain) || !find_cpu_kernel(node.op_type)) {
      return unsupported("{}: no CPU kernel for op '{}' in domain '{}'", node.describe(),
                         node.op_type, node.domain);
    }
    return Status::ok();
  }

  std::vector<std::string> tactics(const Node& /*node*/, int64_t /*opset*/) const override {
    return {"cpu_reference"};
  }

  StatusOr<std::unique_ptr<Kernel>> make_kernel(const Node& node, int64_t opset,
                                                const std::string& /*tactic*/) const override {
    TARMAC_RETURN_IF_ERROR(supports(node, opset));
    if (is_internal_node(node) && node.op_type == kFusedElementwiseOp)
      return make_fused_elementwise_cpu_kernel(node);
    if (is_internal_node(node)) return make_fused_cpu_kernel(node, opset);
    return std::unique_ptr<Kernel>(new CpuKernel(node, opset, find_cpu_kernel(node.op_type)));
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

StatusOr<std::vector<Tensor>> evaluate_node_on_cpu(const Node& node, int64_t opset,
                                                   const std::vector<const Tensor*>& inputs) {
  static const CpuBackend backend;
  TARMAC_ASSIGN_OR_RETURN(auto k, backend.make_kernel(node, opset, "cpu_reference"));
  std::vector<Tensor> out;
  TARMAC_RETURN_IF_ERROR(k->run(inputs, &out));
  return out;
}

}  // namespace tarmac
