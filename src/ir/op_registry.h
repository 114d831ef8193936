// Op schema table built from ops.def: names, families, opset ranges and inference functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/graph.h"

namespace tarmac {

/// Highest ai.onnx opset tarmac understands; newer models are rejected.
inline constexpr int64_t kMaxOnnxOpset = 21;
/// Lowest ai.onnx opset accepted (ops keep each version's semantics).
inline constexpr int64_t kMinOnnxOpset = 1;

/// What shape/type inference sees of one node.
struct InferContext {
  const Node& node;
  int64_t opset = 0;
  Graph* graph = nullptr;                // for fresh symbolic dims
  std::vector<const ValueType*> inputs;  // nullptr: optional input absent
  std::vector<const Tensor*> values;     // constant contents of input i when known
  std::vector<ValueType> outputs;        // sized to the node's outputs; infer fills dtype/shape

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const ValueType& input(size_t i) const { return *inputs[i]; }
  const Tensor* value(size_t i) const { return i < values.size() ? values[i] : nullptr; }
  /// A fresh symbolic dim for data-dependent sizes.
  Dim new_dim(const std::string& hint) { return Dim::sym(graph ? graph->new_symbol(hint) : hint); }
  /// Output i gets dtype and shape.
  void set_output(size_t i, DType dtype, Shape shape) {
    if (i >= outputs.size()) return;
    outputs[i].dtype = dtype;
    outputs[i].has_shape = true;
    outputs[i].shape = std::move(shape);
  }
  /// Output i gets dtype only (rank unknown).
  void set_output_dtype(size_t i, DType dtype) {
    if (i >= outputs.size()) return;
    outputs[i].dtype = dtype;
    outputs[i].has_shape = false;
    outputs[i].shape.clear();
  }
};

using InferFn = Status (*)(InferContext&);

struct OpInfo {
  std::string_view name;
  std::string_view family;
  int64_t since_opset;
  InferFn infer;
};

/// All ops from ops.def, in file order.
const std::vector<OpInfo>& all_ops();
/// nullptr when the op is not in the vocabulary.
const OpInfo* find_op(std::string_view op_type);
/// True for "" and "ai.onnx".
inline bool is_onnx_domain(std::string_view d) { return d.empty() || d == "ai.onnx"; }

// ---- helpers shared by inference functions ----

/// Normalizes a possibly negative axis into [0, rank); error names the node.
StatusOr<int64_t> normalize_axis(const Node& n, int64_t axis, int64_t rank);
/// Numpy-style multidirectional broadcast of shapes; error names the node.
StatusOr<Shape> broadcast_shapes(const Node& n, const std::vector<const ValueType*>& ins);
/// Broadcast of concrete dims (used by kernels).
StatusOr<Dims> broadcast_dims(const Node& n, const std::vector<Dims>& ins);

}  // namespace tarmac
