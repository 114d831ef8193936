// Constant folding: nodes whose outputs inference could compute (all inputs constant, result
// within the size cap) become initializers. Shape computations over static shapes (Shape ->
// Gather -> Unsqueeze -> Concat -> Reshape) fold the same way once input shapes are static.
#include <set>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

class ConstantFoldingPass final : public Pass {
 public:
  std::string_view name() const override { return "constant_folding"; }

  Status run(PassContext& ctx) override {
    if (!ctx.options().fold_constants) return Status::ok();
    std::set<const Value*> shape_derived;  // values computed from Shape/Size
    for (Node* n : ctx.live_nodes()) {
      bool from_shape = n->op_type == "Shape" || n->op_type == "Size";
      for (const Value* in : n->inputs)
        if (in && shape_derived.count(in)) from_shape = true;
      if (from_shape)
        for (const Value* out : n->outputs)
          if (out) shape_derived.insert(out);

      bool all_const = true, any_output = false;
      for (const Value* out : n->outputs) {
        if (!out) continue;
        any_output = true;
        if (!out->constant) all_const = false;
      }
      if (!any_output || !all_const) continue;
      if (!is_foldable_op(*n)) {
        ctx.skip(fmt::format("{} has constant inputs but is data-dependent", n->describe()));
        continue;
      }
      bool output_is_graph_output = false;
      for (const Value* out : n->outputs)
        if (out && out->is_graph_output) output_is_graph_output = true;
      if (output_is_graph_output && n->op_type == "Constant") continue;
      if (output_is_graph_output) {
        // A graph output must stay produced by a node: fold into a Constant node instead.
        if (n->outputs.size() != 1) {
          ctx.skip(fmt::format("{} is constant but writes several outputs, one a graph output",
                               n->describe()));
          continue;
        }
        n->op_type = "Constant";
        n->domain.clear();
        for (Value* in : n->inputs)
          if (in)
            in->consumers.erase(std::remove(in->consumers.begin(), in->consumers.end(), n),
                                in->consumers.end());
        n->inputs.clear();
        n->attrs.clear();
        Attribute a;
        a.kind = Attribute::Kind::kTensor;
        a.tensor = n->outputs[0]->constant;
        n->attrs["value"] = a;
        ctx.rewrite(fmt::format("folded {} into a Constant node (it writes graph output '{}')",
                                n->describe(), n->outputs[0]->name));
        continue;
      }
      for (Value* out : n->outputs)
        if (out) out->is_initializer = true;
      ctx.remove(n);
      ctx.rewrite(fmt::format("folded {}{}", n->describe(),
                              n->op_type == "Constant" ? " into an initializer"
                              : from_shape             ? " (shape computation)"
                                                       : ""));
    }
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Pass> make_constant_folding_pass() {
  return std::make_unique<ConstantFoldingPass>();
}

}  // namespace tarmac
