// Graph IR: Values (typed edges), Nodes (ONNX-style ops with attributes) and the Graph/Model.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace tarmac {

/// One dimension: static (value >= 0) or symbolic (value < 0, symbol may be empty = unknown).
struct Dim {
  int64_t value = -1;
  std::string symbol;

  Dim() = default;
  Dim(int64_t v) : value(v) {}  // NOLINT(implicit): dims read like numbers
  static Dim sym(std::string s) {
    Dim d;
    d.symbol = std::move(s);
    return d;
  }
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim& o) const {
    return is_static() ? value == o.value
                       : (!o.is_static() && !symbol.empty() && symbol == o.symbol);
  }
  std::string to_string() const {
    return is_static() ? std::to_string(value) : (symbol.empty() ? "?" : symbol);
  }
};
using Shape = std::vector<Dim>;

std::string shape_to_string(const Shape& s);
bool shape_is_static(const Shape& s);
Dims static_dims(const Shape& s);  // caller checks shape_is_static
Shape shape_from_dims(const Dims& d);

/// Element type and (when known) shape of a value.
struct ValueType {
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // false: rank unknown
  Shape shape;
  int rank() const { return static_cast<int>(shape.size()); }
  std::string to_string() const;
};

class Node;

class Value {
 public:
  std::string name;
  ValueType type;
  Node* producer = nullptr;
  std::vector<Node*> consumers;
  /// Known constant contents: initializers, Constant outputs, or values folded by inference.
  std::shared_ptr<const Tensor> constant;
  bool is_initializer = false;
  bool is_graph_input = false;
  bool is_graph_output = false;
};

struct Graph;

struct Attribute {
  enum class Kind { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kGraph, kOther };
  Kind kind = Kind::kOther;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::vector<std::string> strings;
  std::shared_ptr<const Tensor> tensor;
};

class Node {
 public:
  std::string name;
  std::string op_type;
  std::string domain;           // "" for the default ONNX domain
  std::vector<Value*> inputs;   // nullptr = optional input not given
  std::vector<Value*> outputs;  // nullptr = optional output not requested
  std::map<std::string, Attribute> attrs;

  bool has_attr(const std::string& n) const { return attrs.count(n) != 0; }
  int64_t attr_int(const std::string& n, int64_t dflt) const;
  float attr_float(const std::string& n, float dflt) const;
  std::string attr_string(const std::string& n, const std::string& dflt) const;
  std::vector<int64_t> attr_ints(const std::string& n, const std::vector<int64_t>& dflt = {}) const;
  std::vector<float> attr_floats(const std::string& n, const std::vector<float>& dflt = {}) const;
  const Tensor* attr_tensor(const std::string& n) const;

  /// Number of inputs counting trailing absent ones as not given.
  size_t num_inputs() const;
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  /// "Conv 'backbone.0'"
  std::string describe() const;
};

/// "Conv 'backbone.0': <message>" as an invalid-argument Status.
template <typename... Args>
Status node_error(const Node& n, fmt::format_string<Args...> f, Args&&... args) {
  return invalid_argument("{}: {}", n.describe(), fmt::format(f, std::forward<Args>(args)...));
}

struct Graph {
  std::string name;
  std::vector<std::unique_ptr<Node>> nodes;  // topological order after sort()
  std::vector<std::unique_ptr<Value>> values;
  std::map<std::string, Value*> value_by_name;
  std::vector<Value*> inputs;  // runtime inputs only (initializers excluded)
  std::vector<Value*> outputs;
  int64_t symbol_counter = 0;

  Value* find_value(const std::string& n) const;
  /// Creates a value; fails if the name exists.
  StatusOr<Value*> add_value(const std::string& name);
  /// Returns the existing value or creates it.
  Value* get_or_add_value(const std::string& name);
  Node* add_node(std::unique_ptr<Node> node);
  /// Rebuilds producer/consumer links from node inputs/outputs.
  void relink();
  /// Orders nodes topologically; fails naming a node on a cycle.
  Status sort();
  std::string new_symbol(const std::string& hint);
};

/// Replaces the declared shapes of graph inputs by static ones (name -> dims), checking rank
/// and existing static dims; errors name the input.
Status override_input_shapes(Graph& g, const std::map<std::string, Dims>& shapes);

struct Model {
  int64_t ir_version = 0;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::map<std::string, int64_t> opsets;  // domain ("" for ai.onnx) -> version
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string path;            // where it was loaded from
  bool external_data = false;  // some initializers were stored in external data files
  Graph graph;

  int64_t onnx_opset() const {
    auto it = opsets.find("");
    return it == opsets.end() ? 0 : it->second;
  }
};

/// A deep copy of the graph structure; constant tensors are immutable and shared, so a copy
/// costs host memory only for what is later added to it.
Model clone_model(const Model& m);

}  // namespace tarmac
