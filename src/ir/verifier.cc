#include "ir/verifier.h"

#include "ir/inference.h"

namespace tarmac {

Status verify_graph(Graph& graph) {
  graph.relink();
  for (const auto& node : graph.nodes) {
    // Every op in the vocabulary requires its first output (only trailing ones are optional).
    if (node->outputs.empty() || node->outputs[0] == nullptr) {
      return node_error(*node, "has no first output (every supported op requires it)");
    }
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const Value* v = node->inputs[i];
      if (!v) continue;
      if (!v->producer && !v->is_graph_input && !v->is_initializer) {
        return node_error(*node,
                          "input {} '{}' is not produced by any node and is not a graph input "
                          "or initializer (dangling value)",
                          i, v->name);
      }
    }
  }
  for (const Value* v : graph.outputs) {
    if (!v->producer && !v->is_graph_input && !v->is_initializer) {
      return invalid_argument("graph output '{}' is never produced", v->name);
    }
  }
  for (const Value* v : graph.inputs) {
    if (v->type.dtype == DType::kUndefined) {
      return invalid_argument("graph input '{}' has no element type", v->name);
    }
  }
  return graph.sort();
}

Status verify_and_infer(Graph& graph, int64_t opset, const InferOptions& options) {
  TARMAC_RETURN_IF_ERROR(verify_graph(graph));
  return infer_graph(graph, opset, options);
}

}  // namespace tarmac
