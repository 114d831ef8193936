// Graph-level shape and type inference with constant propagation for shape arithmetic.
#pragma once

#include <functional>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

/// Evaluates one node on constant inputs (the runtime injects the CPU reference kernels so
/// the IR does not depend on a backend).
using NodeEvaluator = std::function<StatusOr<std::vector<Tensor>>(
    const Node& node, int64_t opset, const std::vector<const Tensor*>& inputs)>;

struct InferOptions {
  /// When set, nodes whose inputs are all constants are evaluated so that shape arithmetic
  /// (Shape -> Gather -> Concat -> Reshape) yields static shapes.
  NodeEvaluator evaluator;
  /// Largest output (bytes) folded during inference; bigger results stay runtime work.
  int64_t fold_limit_bytes = int64_t{1} << 19;
};

/// False for ops inference never evaluates even on constant inputs: data-dependent ones
/// (NonZero, NonMaxSuppression) stay visible as runtime work, and QuantizeLinear /
/// DequantizeLinear keep the quantization parameters a builder needs (Q/DQ pairs stay intact).
bool is_foldable_op(const Node& node);

/// Runs inference over a topologically sorted graph: every value gets a dtype and, where
/// derivable, a shape; declared types (value_info, graph outputs) are checked against what the
/// ops produce. Errors name the node and say why.
Status infer_graph(Graph& graph, int64_t opset, const InferOptions& options = {});

}  // namespace tarmac
