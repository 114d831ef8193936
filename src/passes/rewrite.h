// Graph editing helpers shared by the passes. They keep producer/consumer links current so a
// pass can chain rewrites; the pass manager relinks, sorts and re-infers after every pass.
#pragma once

#include <string>
#include <string_view>

#include "ir/graph.h"
#include "passes/pass.h"

namespace tarmac {

/// The one node reading `v` when `v` has exactly one consumer and is not a graph output
/// (so the producer may be fused with it); nullptr otherwise.
Node* sole_consumer(const Value* v);
/// Number of distinct nodes reading `v`, plus one when it is a graph output.
size_t num_uses(const Value* v);
/// The live producer of `v` when its op type is `op` (any op when empty); nullptr otherwise.
Node* producer_of(const PassContext& ctx, const Value* v, std::string_view op = {});
/// Constant contents of `v` (initializer, Constant output or folded value); nullptr if unknown.
const Tensor* constant_of(const Value* v);
/// True when `v` is a constant with exactly one element; its value goes to `*out`.
bool scalar_constant(const Value* v, double* out);
/// True when `v` is a constant whose elements all equal `x`.
bool constant_all_equal(const Value* v, double x);

/// Makes every reader of `old_value` read `repl` instead. When `old_value` is a graph output
/// its name must survive, so the producer of `repl` is made to write `old_value` instead;
/// returns false (changing nothing) when that is impossible (repl is a graph input,
/// initializer or another graph output).
bool replace_value(Graph& g, Value* old_value, Value* repl);
/// Switches input `i` of `n` to `v`, keeping consumer lists current.
void set_input(Node* n, size_t i, Value* v);
/// A fresh value named after `hint` (made unique).
Value* new_value(Graph& g, const std::string& hint, const ValueType& type);
/// A fresh initializer holding `t`.
Value* new_initializer(Graph& g, const std::string& hint, Tensor t);
/// A new node inserted into the graph (position is fixed by the manager's sort).
Node* new_node(Graph& g, const std::string& name, const std::string& op_type,
               std::vector<Value*> inputs, std::vector<Value*> outputs);
/// A layer name joining the ONNX names of the nodes it came from: "conv3 + bn3".
std::string fused_name(const Node& a, const Node& b);
std::string fused_name(const std::vector<Node*>& nodes);
/// The ONNX node names a fused layer's name joins ("conv1 + relu1" -> {conv1, relu1}).
std::vector<std::string> fused_node_names(const std::string& layer);
/// Attribute equality (for CSE).
bool attributes_equal(const Attribute& a, const Attribute& b);
/// Bitwise equality of two tensors (dtype, dims and bytes).
bool tensors_equal(const Tensor& a, const Tensor& b);

}  // namespace tarmac
