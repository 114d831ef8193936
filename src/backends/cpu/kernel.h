// CPU reference kernels: the signature every op implements (cpu_<OpType> from ops.def).
#pragma once

#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "ir/op_registry.h"

namespace tarmac {

/// What a CPU kernel sees of one node at run time. The kernel computes its output shapes
/// from the concrete inputs, allocates outputs (Tensor::create) and fills them.
struct KernelContext {
  const Node& node;
  int64_t opset = 0;
  std::vector<const Tensor*> inputs;  // nullptr: optional input absent
  std::vector<Tensor> outputs;        // sized to the node's outputs; kernel assigns each

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& input(size_t i) const { return *inputs[i]; }
  /// Allocates output i (validated size) and returns it.
  StatusOr<Tensor*> allocate_output(size_t i, DType dtype, Dims dims) {
    auto t = Tensor::create(dtype, std::move(dims));
    if (!t.is_ok()) return t.status().with_context(node.describe());
    if (i >= outputs.size())
      return internal_error("{}: output {} out of range", node.describe(), i);
    outputs[i] = std::move(t).value();
    return &outputs[i];
  }
};

using CpuKernelFn = Status (*)(KernelContext&);

/// nullptr when no CPU kernel exists for the op.
CpuKernelFn find_cpu_kernel(std::string_view op_type);

}  // namespace tarmac
