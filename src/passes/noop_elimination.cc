// Removes nodes that pass their input through unchanged: Identity, inference Dropout, Cast
// and CastLike to the input's own type, Reshape/Flatten/Squeeze/Unsqueeze/Expand whose output
// shape equals the (static) input shape, and single-input Concat/Sum/Max/Min/Mean.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool same_static_shape(const Value* a, const Value* b) {
  return a && b && a->type.has_shape && b->type.has_shape && shape_is_static(a->type.shape) &&
         shape_is_static(b->type.shape) && a->type.shape == b->type.shape &&
         a->type.dtype == b->type.dtype;
}

/// Why `n` is a no-op, or empty when it is not.
std::string noop_reason(const PassContext& ctx, const Node& n) {
  if (n.inputs.empty() || !n.inputs[0] || n.outputs.empty() || !n.outputs[0]) return {};
  const Value* in = n.inputs[0];
  const Value* out = n.outputs[0];
  const std::string& op = n.op_type;
  if (op == "Identity") return "identity";
  if (op == "Dropout") {
    if (n.outputs.size() > 1 && n.outputs[1] && num_uses(n.outputs[1]) > 0) return {};
    // Inference mode: training_mode absent or constant false (opset 12+); is_test before 7.
    if (n.has_input(2) && !constant_all_equal(n.inputs[2], 0)) return {};
    if (ctx.opset() < 7 && n.attr_int("is_test", 0) == 0) return {};
    return "inference Dropout";
  }
  if ((op == "Cast" || op == "CastLike") && in->type.dtype == out->type.dtype &&
      in->type.dtype != DType::kUndefined)
    return "Cast to the input's own type";
  if (op == "Reshape" || op == "Flatten" || op == "Squeeze" || op == "Unsqueeze" ||
      op == "Expand") {
    if (same_static_shape(in, out)) return op + " to the input's own shape";
    return {};
  }
  if ((op == "Concat" || op == "Sum" || op == "Max" || op == "Min" || op == "Mean") &&
      n.num_inputs() == 1 && in->type.dtype == out->type.dtype)
    return "single-input " + op;
  return {};
}

class NoopEliminationPass final : public Pass {
 public:
  std::string_view name() const override { return "noop_elimination"; }

  Status run(PassContext& ctx) override {
    Graph& g = ctx.graph();
    for (Node* n : ctx.live_nodes()) {
      const std::string reason = noop_reason(ctx, *n);
      if (reason.empty()) continue;
      Value* in = n->inputs[0];
      Value* out = n->outputs[0];
      if (!replace_value(g, out, in)) {
        ctx.skip(
            fmt::format("{} is a no-op ({}) but connects graph input or constant '{}' to "
                        "graph output '{}' and must keep both names",
                        n->describe(), reason, in->name, out->name));
        continue;
      }
      ctx.remove(n);
      ctx.rewrite(fmt::format("removed {} ({})", n->describe(), reason));
    }
    return Status::ok();
  }
};

}  // namespace

std::unique_ptr<Pass> make_noop_elimination_pass() {
  return std::make_unique<NoopEliminationPass>();
}

}  // namespace tarmac
