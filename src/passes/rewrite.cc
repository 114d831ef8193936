#include "passes/rewrite.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace tarmac {

namespace {

std::vector<Node*> distinct(const std::vector<Node*>& nodes) {
  std::vector<Node*> out;
  for (Node* n : nodes)
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  return out;
}

std::string unique_value_name(Graph& g, const std::string& hint) {
  if (!g.find_value(hint)) return hint;
  for (int64_t i = 1;; ++i) {
    std::string n = hint + "_" + std::to_string(i);
    if (!g.find_value(n)) return n;
  }
}

}  // namespace

Node* sole_consumer(const Value* v) {
  if (!v || v->is_graph_output) return nullptr;
  std::vector<Node*> c = distinct(v->consumers);
  return c.size() == 1 ? c[0] : nullptr;
}

size_t num_uses(const Value* v) {
  return distinct(v->consumers).size() + (v->is_graph_output ? 1 : 0);
}

Node* producer_of(const PassContext& ctx, const Value* v, std::string_view op) {
  if (!v || !v->producer || ctx.is_removed(v->producer)) return nullptr;
  if (!op.empty() && v->producer->op_type != op) return nullptr;
  return v->producer;
}

const Tensor* constant_of(const Value* v) { return v && v->constant ? v->constant.get() : nullptr; }

bool scalar_constant(const Value* v, double* out) {
  const Tensor* t = constant_of(v);
  if (!t || t->numel() != 1) return false;
  *out = t->as_double(0);
  return true;
}

bool constant_all_equal(const Value* v, double x) {
  const Tensor* t = constant_of(v);
  if (!t || t->numel() == 0) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (t->as_double(i) != x) return false;
  return true;
}

void set_input(Node* n, size_t i, Value* v) {
  Value* old = n->inputs[i];
  n->inputs[i] = v;
  if (old && std::count(n->inputs.begin(), n->inputs.end(), old) == 0) {
    old->consumers.erase(std::remove(old->consumers.begin(), old->consumers.end(), n),
                         old->consumers.end());
  }
  if (v && std::find(v->consumers.begin(), v->consumers.end(), n) == v->consumers.end())
    v->consumers.push_back(n);
}

bool replace_value(Graph& g, Value* old_value, Value* repl) {
  if (old_value == repl) return true;
  (void)g;
  if (old_value->is_graph_output) {
    if (repl->is_graph_input || repl->is_graph_output || repl->is_initializer || !repl->producer)
      return false;
    // Keep the graph output's name: repl's producer writes old_value, repl's readers follow.
    Node* p = repl->producer;
    for (Value*& o : p->outputs)
      if (o == repl) o = old_value;
    old_value->producer = p;
    if (repl->constant && !old_value->constant) old_value->constant = repl->constant;
    std::swap(old_value, repl);  // now: move readers of old (=repl) to repl (=old_value)
  }
  for (Node* c : distinct(old_value->consumers)) {
    for (Value*& in : c->inputs)
      if (in == old_value) in = repl;
    if (std::find(repl->consumers.begin(), repl->consumers.end(), c) == repl->consumers.end())
      repl->consumers.push_back(c);
  }
  old_value->consumers.clear();
  return true;
}

Value* new_value(Graph& g, const std::string& hint, const ValueType& type) {
  Value* v = g.get_or_add_value(unique_value_name(g, hint));
  v->type = type;
  return v;
}

Value* new_initializer(Graph& g, const std::string& hint, Tensor t) {
  ValueType type;
  type.dtype = t.dtype();
  type.has_shape = true;
  type.shape = shape_from_dims(t.dims());
  Value* v = new_value(g, hint, type);
  v->is_initializer = true;
  v->constant = std::make_shared<const Tensor>(std::move(t));
  return v;
}

Node* new_node(Graph& g, const std::string& name, const std::string& op_type,
               std::vector<Value*> inputs, std::vector<Value*> outputs) {
  auto n = std::make_unique<Node>();
  n->name = name;
  n->op_type = op_type;
  n->inputs = std::move(inputs);
  n->outputs = std::move(outputs);
  Node* p = g.add_node(std::move(n));
  for (Value* in : p->inputs)
    if (in && std::find(in->consumers.begin(), in->consumers.end(), p) == in->consumers.end())
      in->consumers.push_back(p);
  for (Value* out : p->outputs)
    if (out) out->producer = p;
  return p;
}

std::string fused_name(const Node& a, const Node& b) { return a.name + " + " + b.name; }

std::string fused_name(const std::vector<Node*>& nodes) {
  std::string s;
  for (const Node* n : nodes) s += (s.empty() ? "" : " + ") + n->name;
  return s;
}

std::vector<std::string> fused_node_names(const std::string& layer) {
  static constexpr std::string_view kJoin = " + ";
  std::vector<std::string> names;
  for (size_t b = 0; b <= layer.size();) {
    size_t e = layer.find(kJoin, b);
    if (e == std::string::npos) e = layer.size();
    if (e > b) names.push_back(layer.substr(b, e - b));
    b = e + kJoin.size();
  }
  return names;
}

bool tensors_equal(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.dims() != b.dims()) return false;
  return a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

bool attributes_equal(const Attribute& a, const Attribute& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Attribute::Kind::kInt:
      return a.i == b.i;
    case Attribute::Kind::kFloat:
      return std::memcmp(&a.f, &b.f, sizeof(float)) == 0;
    case Attribute::Kind::kString:
      return a.s == b.s;
    case Attribute::Kind::kInts:
      return a.ints == b.ints;
    case Attribute::Kind::kFloats:
      return a.floats.size() == b.floats.size() &&
             (a.floats.empty() ||
              std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) == 0);
    case Attribute::Kind::kStrings:
      return a.strings == b.strings;
    case Attribute::Kind::kTensor:
      return a.tensor && b.tensor && tensors_equal(*a.tensor, *b.tensor);
    default:
      return false;
  }
}

}  // namespace tarmac
