// CPU kernels of the IR-internal fused nodes (ir/fused_ops.h).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace tarmac {

/// The base op's reference kernel followed by MatMul's bias and the activation epilogue.
StatusOr<std::unique_ptr<Kernel>> make_fused_cpu_kernel(const Node& node, int64_t opset);
/// FusedElementwise (ir/elementwise_program.h): the program over blocks of float32 registers.
StatusOr<std::unique_ptr<Kernel>> make_fused_elementwise_cpu_kernel(const Node& node);

}  // namespace tarmac
