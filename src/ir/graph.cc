#include "ir/graph.h"

#include <functional>
#include <set>

namespace tarmac {

std::string shape_to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += s[i].to_string();
  }
  return out + "]";
}

bool shape_is_static(const Shape& s) {
  for (const Dim& d : s)
    if (!d.is_static()) return false;
  return true;
}

Dims static_dims(const Shape& s) {
  Dims d;
  d.reserve(s.size());
  for (const Dim& x : s) d.push_back(x.value);
  return d;
}

Shape shape_from_dims(const Dims& d) { return Shape(d.begin(), d.end()); }

std::string ValueType::to_string() const {
  return std::string(dtype_name(dtype)) + (has_shape ? shape_to_string(shape) : "[?]");
}

int64_t Node::attr_int(const std::string& n, int64_t dflt) const {
  auto it = attrs.find(n);
  return it == attrs.end() ? dflt : it->second.i;
}
float Node::attr_float(const std::string& n, float dflt) const {
  auto it = attrs.find(n);
  if (it == attrs.end()) return dflt;
  return it->second.kind == Attribute::Kind::kInt ? static_cast<float>(it->second.i) : it->second.f;
}
std::string Node::attr_string(const std::string& n, const std::string& dflt) const {
  auto it = attrs.find(n);
  return it == attrs.end() ? dflt : it->second.s;
}
std::vector<int64_t> Node::attr_ints(const std::string& n, const std::vector<int64_t>& dflt) const {
  auto it = attrs.find(n);
  return it == attrs.end() ? dflt : it->second.ints;
}
std::vector<float> Node::attr_floats(const std::string& n, const std::vector<float>& dflt) const {
  auto it = attrs.find(n);
  return it == attrs.end() ? dflt : it->second.floats;
}
const Tensor* Node::attr_tensor(const std::string& n) const {
  auto it = attrs.find(n);
  return it == attrs.end() || !it->second.tensor ? nullptr : it->second.tensor.get();
}

size_t Node::num_inputs() const {
  size_t n = inputs.size();
  while (n > 0 && inputs[n - 1] == nullptr) --n;
  return n;
}

std::string Node::describe() const { return op_type + " '" + name + "'"; }

Value* Graph::find_value(const std::string& n) const {
  auto it = value_by_name.find(n);
  return it == value_by_name.end() ? nullptr : it->second;
}

StatusOr<Value*> Graph::add_value(const std::string& n) {
  if (value_by_name.count(n)) return invalid_argument("value '{}' is defined more than once", n);
  return get_or_add_value(n);
}

Value* Graph::get_or_add_value(const std::string& n) {
  if (Value* v = find_value(n)) return v;
  values.push_back(std::make_unique<Value>());
  Value* v = values.back().get();
  v->name = n;
  value_by_name[n] = v;
  return v;
}

Node* Graph::add_node(std::unique_ptr<Node> node) {
  nodes.push_back(std::move(node));
  return nodes.back().get();
}

void Graph::relink() {
  for (auto& v : values) {
    v->producer = nullptr;
    v->consumers.clear();
  }
  for (auto& n : nodes) {
    for (Value* in : n->inputs)
      if (in) in->consumers.push_back(n.get());
    for (Value* out : n->outputs)
      if (out) out->producer = n.get();
  }
}

Status Graph::sort() {
  relink();
  std::map<const Node*, size_t> index;
  for (size_t i = 0; i < nodes.size(); ++i) index[nodes[i].get()] = i;
  // Kahn's algorithm, stable with respect to the original order.
  std::vector<int> pending(nodes.size(), 0);
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<const Node*> preds;
    for (Value* in : nodes[i]->inputs)
      if (in && in->producer) preds.insert(in->producer);
    pending[i] = static_cast<int>(preds.size());
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.insert(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    std::set<const Node*> succs;
    for (Value* out : nodes[i]->outputs)
      if (out)
        for (Node* c : out->consumers) succs.insert(c);
    for (const Node* s : succs)
      if (--pending[index[s]] == 0) ready.insert(index[s]);
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (pending[i] > 0) {
        return invalid_argument("graph has a cycle through node {}", nodes[i]->describe());
      }
    }
  }
  std::vector<std::unique_ptr<Node>> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order) sorted.push_back(std::move(nodes[i]));
  nodes = std::move(sorted);
  return Status::ok();
}

Status override_input_shapes(Graph& g, const std::map<std::string, Dims>& shapes) {
  for (const auto& [name, dims] : shapes) {
    Value* v = g.find_value(name);
    if (!v || !v->is_graph_input) {
      return invalid_argument("'{}' is given a shape but is not an input of the model", name);
    }
    for (int64_t d : dims) {
      if (d < 0) {
        return invalid_argument("input '{}': given shape {} has a negative dimension", name,
                                dims_to_string(dims));
      }
    }
    if (v->type.has_shape && v->type.rank() != static_cast<int>(dims.size())) {
      return invalid_argument("input '{}' has rank {} {} but the given shape {} has rank {}", name,
                              v->type.rank(), shape_to_string(v->type.shape), dims_to_string(dims),
                              dims.size());
    }
    for (size_t k = 0; v->type.has_shape && k < dims.size(); ++k) {
      const Dim& d = v->type.shape[k];
      if (d.is_static() && d.value != dims[k]) {
        return invalid_argument("input '{}' has static dimension {} = {} but the given shape is {}",
                                name, k, d.value, dims_to_string(dims));
      }
    }
    v->type.has_shape = true;
    v->type.shape = shape_from_dims(dims);
  }
  return Status::ok();
}

std::string Graph::new_symbol(const std::string& hint) {
  return hint + "_" + std::to_string(symbol_counter++);
}

Model clone_model(const Model& m) {
  Model c;
  c.ir_version = m.ir_version;
  c.producer_name = m.producer_name;
  c.producer_version = m.producer_version;
  c.domain = m.domain;
  c.model_version = m.model_version;
  c.doc_string = m.doc_string;
  c.opsets = m.opsets;
  c.metadata = m.metadata;
  c.path = m.path;
  c.external_data = m.external_data;
  const Graph& from = m.graph;
  Graph& g = c.graph;
  g.name = from.name;
  g.symbol_counter = from.symbol_counter;
  std::map<const Value*, Value*> value_map;
  for (const auto& v : from.values) {
    g.values.push_back(std::make_unique<Value>(*v));  // producer/consumers: relink() below
    value_map[v.get()] = g.values.back().get();
  }
  auto map_value = [&](const Value* v) -> Value* {
    if (!v) return nullptr;
    auto it = value_map.find(v);
    return it == value_map.end() ? nullptr : it->second;
  };
  for (const auto& [name, v] : from.value_by_name)
    if (Value* mapped = map_value(v)) g.value_by_name[name] = mapped;
  for (const auto& n : from.nodes) {
    auto copy = std::make_unique<Node>(*n);
    for (Value*& in : copy->inputs) in = map_value(in);
    for (Value*& out : copy->outputs) out = map_value(out);
    g.nodes.push_back(std::move(copy));
  }
  for (const Value* v : from.inputs) g.inputs.push_back(map_value(v));
  for (const Value* v : from.outputs) g.outputs.push_back(map_value(v));
  g.relink();
  return c;
}

}  // namespace tarmac
