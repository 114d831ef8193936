// Structural verification of an imported graph.
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

/// Checks structure and orders the graph: every node input is defined (graph input,
/// initializer or node output), no cycles, graph outputs are defined, inputs are typed.
/// Sorts the nodes topologically on success.
Status verify_graph(Graph& graph);

/// verify_graph + infer_graph: the checks every loaded model passes before it runs.
struct InferOptions;
Status verify_and_infer(Graph& graph, int64_t opset, const InferOptions& options);

}  // namespace tarmac
