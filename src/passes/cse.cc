// Common-subexpression elimination: nodes with the same op, attributes and inputs compute the
// same values, so later duplicates read the first one's outputs. Identical initializers and
// Constant nodes (same dtype, shape and bytes) are merged the same way.
#include <map>
#include <tuple>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool same_node(const Node& a, const Node& b) {
  if (a.op_type != b.op_type || a.domain != b.domain || a.inputs != b.inputs ||
      a.outputs.size() != b.outputs.size() || a.attrs.size() != b.attrs.size())
    return false;
  for (size_t i = 0; i < a.outputs.size(); ++i)
    if ((a.outputs[i] == nullptr) != (b.outputs[i] == nullptr)) return false;
  auto ia = a.attrs.begin();
  auto ib = b.attrs.begin();
  for (; ia != a.attrs.end(); ++ia, ++ib)
    if (ia->first != ib->first || !attributes_equal(ia->second, ib->second)) return false;
  return true;
}

using ConstKey = std::tuple<DType, Dims>;

class CsePass final : public Pass {
 public:
  std::string_view name() const override { return "cse"; }

  Status run(PassContext& ctx) override {
    Graph& g = ctx.graph();
    merge_initializers(ctx);
    // Candidates are bucketed by (op, first input) so the comparison stays near-linear.
    std::map<std::tuple<std::string, const Value*, size_t>, std::vector<Node*>> seen;
    for (Node* n : ctx.live_nodes()) {
      if (n->op_type == "Constant" || !is_foldable_op(*n)) continue;
      const Value* first = n->inputs.empty() ? nullptr : n->inputs[0];
      auto& bucket = seen[{n->op_type, first, n->inputs.size()}];
      Node* twin = nullptr;
      for (Node* c : bucket)
        if (same_node(*c, *n)) twin = c;
      if (!twin) {
        bucket.push_back(n);
        continue;
      }
      bool ok = true;
      for (size_t i = 0; i < n->outputs.size() && ok; ++i) {
        if (!n->outputs[i]) continue;
        // Both writing graph outputs: the two names must stay distinct.
        if (n->outputs[i]->is_graph_output && twin->outputs[i]->is_graph_output) ok = false;
      }
      if (!ok) {
        ctx.skip(fmt::format("{} duplicates {} but both write graph outputs", n->describe(),
                             twin->describe()));
        continue;
      }
      for (size_t i = 0; i < n->outputs.size(); ++i)
        if (n->outputs[i]) replace_value(g, n->outputs[i], twin->outputs[i]);
      ctx.remove(n);
      ctx.rewrite(fmt::format("{} duplicates {}; its readers now use the first", n->describe(),
                              twin->describe()));
    }
    return Status::ok();
  }

 private:
  void merge_initializers(PassContext& ctx) {
    Graph& g = ctx.graph();
    std::map<ConstKey, std::vector<Value*>> by_shape;
    for (auto& v : g.values) {
      if (!v->is_initializer || !v->constant || v->consumers.empty() || v->is_graph_output)
        continue;
      Value* self = v.get();
      auto& bucket = by_shape[{v->constant->dtype(), v->constant->dims()}];
      Value* twin = nullptr;
      for (Value* c : bucket)
        if (c->constant == self->constant || tensors_equal(*c->constant, *self->constant)) {
          twin = c;
          break;
        }
      if (!twin) {
        bucket.push_back(self);
        continue;
      }
      replace_value(g, self, twin);
      ctx.rewrite(fmt::format("initializer '{}' equals '{}'; merged", self->name, twin->name));
    }
  }
};

}  // namespace

std::unique_ptr<Pass> make_cse_pass() { return std::make_unique<CsePass>(); }

}  // namespace tarmac
