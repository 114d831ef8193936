// Conv residual fusion: a Conv whose output only feeds an Add with a same-shaped tensor z
// becomes one internal-domain Conv with z as input 3 `residual` (ir/fused_ops.h):
//   y = Conv(x, W, B); s = Add(y, z)   ->   s = tarmac::Conv(x, W, B, z)
// ResNet's Conv -> Add(shortcut) -> Relu then ends as one node once activation fusion (which
// runs next) folds the Relu in. The residual must have exactly y's static shape and dtype (no
// broadcasting), and must not be computed from y: the fused node would read its own output.
// Off when internal ops are not allowed (sanitize writes standard ONNX).
#include <algorithm>
#include <set>
#include <vector>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool is_std(const Node* n, std::string_view op) {
  return n && n->op_type == op && (n->domain.empty() || n->domain == "ai.onnx");
}

bool static_type(const ValueType& t) {
  if (!t.has_shape) return false;
  return std::all_of(t.shape.begin(), t.shape.end(), [](const Dim& d) { return d.is_static(); });
}

/// Whether `target` is among the (transitive) producers of `v`.
bool depends_on(const PassContext& ctx, const Value* v, const Node* target) {
  std::vector<const Value*> stack{v};
  std::set<const Node*> seen;
  while (!stack.empty()) {
    const Value* cur = stack.back();
    stack.pop_back();
    const Node* p = cur ? cur->producer : nullptr;
    if (!p || ctx.is_removed(p) || !seen.insert(p).second) continue;
    if (p == target) return true;
    for (const Value* in : p->inputs)
      if (in) stack.push_back(in);
  }
  return false;
}

/// Why `conv` may not take a residual (empty when it may).
std::string conv_eligible(const Node& conv) {
  if (is_internal_node(conv)) {
    if (conv.has_attr("activation")) return "it already carries an activation";
    if (conv.num_inputs() > 3) return "it already has a residual";
  }
  return {};
}

class ConvResidualFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "conv_residual_fusion"; }

  Status run(PassContext& ctx) override {
    if (!ctx.options().allow_internal_ops) return Status::ok();
    for (Node* conv : ctx.live_nodes()) {
      if (ctx.is_removed(conv) || conv->op_type != "Conv") continue;
      if (!is_std(conv, "Conv") && !is_internal_node(*conv)) continue;
      if (conv->outputs.size() != 1 || !conv->outputs[0]) continue;
      Value* y = conv->outputs[0];
      Node* add = nullptr;
      for (Node* c : y->consumers)
        if (!ctx.is_removed(c) && is_std(c, "Add")) add = c;
      if (!add) continue;
      const std::string pair = fmt::format("{} + {}", conv->describe(), add->describe());
      std::string why = conv_eligible(*conv);
      Value* z = nullptr;
      if (why.empty() && (add->num_inputs() != 2 || add->outputs.size() != 1 || !add->outputs[0]))
        why = "the Add is not binary";
      if (why.empty()) {
        z = add->inputs[0] == y ? add->inputs[1] : add->inputs[0];
        if (!z || z == y)
          why = "the Add adds the output to itself";
        else if (!is_floating(y->type.dtype))
          why = fmt::format("the output is {}, not floating-point", dtype_name(y->type.dtype));
        else if (z->type.dtype != y->type.dtype)
          why = fmt::format("the residual '{}' is {} but the output is {}", z->name,
                            dtype_name(z->type.dtype), dtype_name(y->type.dtype));
        else if (!static_type(y->type) || !static_type(z->type))
          why = "the shapes are not static";
        else if (z->type.shape != y->type.shape)
          why = fmt::format("the Add broadcasts ('{}' {} vs output {})", z->name,
                            shape_to_string(z->type.shape), shape_to_string(y->type.shape));
        else if (depends_on(ctx, z, conv))
          why = fmt::format("the residual '{}' depends on {}'s output (fusing would make a cycle)",
                            z->name, conv->name);
        else if (num_uses(y) != 1)
          why = fmt::format("{}'s output has {} uses", conv->name, num_uses(y));
      }
      if (!why.empty()) {
        ctx.skip(fmt::format("{} not fused: {}", pair, why));
        continue;
      }
      fuse(ctx, conv, add, z);
    }
    return Status::ok();
  }

 private:
  static void fuse(PassContext& ctx, Node* conv, Node* add, Value* z) {
    const std::string before = fmt::format("{} + {}", conv->describe(), add->describe());
    Value* out = add->outputs[0];
    conv->domain = std::string(kInternalDomain);
    if (conv->inputs.size() < 4) conv->inputs.resize(4, nullptr);
    set_input(conv, 3, z);
    conv->name = fused_name(*conv, *add);
    // The fused node writes the Add's output, so its name (and its graph-output role)
    // survives; the old output is left to the Add being removed.
    conv->outputs[0] = out;
    out->producer = conv;
    ctx.remove(add);
    ctx.rewrite(fmt::format("fused {} into internal {} (residual '{}')", before, conv->describe(),
                            z->name));
  }
};

}  // namespace

std::unique_ptr<Pass> make_conv_residual_fusion_pass() {
  return std::make_unique<ConvResidualFusionPass>();
}

}  // namespace tarmac
