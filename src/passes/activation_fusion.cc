// Activation fusion: a Conv, ConvTranspose, Gemm or MatMul whose output only feeds an
// activation becomes one internal-domain node carrying the activation as an epilogue
// (ir/fused_ops.h). Single-node activations: Relu, Clip (constant bounds; Clip(0, 6) is Relu6),
// LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Gelu (standard or internal). Patterns:
// SiLU = Mul(y, Sigmoid(y)), Mish = Mul(y, Tanh(Softplus(y))). Off when internal ops are not
// allowed (sanitize writes standard ONNX), and then it logs nothing.
#include <algorithm>
#include <limits>
#include <optional>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool is_std(const Node* n, std::string_view op) {
  return n && n->op_type == op && (n->domain.empty() || n->domain == "ai.onnx");
}

bool has_output(const Node* n) { return !n->outputs.empty() && n->outputs[0]; }

/// Ops that are an activation by themselves (first input = the producer's output).
bool is_single_activation(const Node* n) {
  static const char* const kOps[] = {"Relu",        "Clip",      "LeakyRelu", "Sigmoid",
                                     "HardSigmoid", "HardSwish", "Tanh",      "Gelu"};
  for (const char* op : kOps)
    if (is_std(n, op)) return true;
  return n && n->op_type == "Gelu" && is_internal_node(*n);
}

struct Epilogue {
  Activation act = Activation::kNone;
  bool has_alpha = false, has_beta = false;
  float alpha = 0, beta = 0;
  std::vector<Node*> nodes;  // activation nodes in order; the last writes the result
  std::string note;          // extra words for the log
};

/// The reads of `y` (distinct live nodes).
std::vector<Node*> readers(const PassContext& ctx, const Value* y) {
  std::vector<Node*> out;
  for (Node* c : y->consumers)
    if (!ctx.is_removed(c) && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  return out;
}

/// Why the Clip's bounds cannot be fused (empty when they can); fills `e`.
std::string clip_bounds(const PassContext& ctx, const Node& clip, Epilogue* e) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  float lo = -kInf, hi = kInf;
  if (ctx.opset() < 11) {
    // Opset 6 defaulted the bounds to -/+FLT_MAX; opset 1 left them unset.
    const float flt_max = std::numeric_limits<float>::max();
    lo = clip.attr_float("min", ctx.opset() >= 6 ? -flt_max : -kInf);
    hi = clip.attr_float("max", ctx.opset() >= 6 ? flt_max : kInf);
  } else {
    for (size_t i = 1; i < 3; ++i) {
      if (!clip.has_input(i)) continue;
      double v = 0;
      if (!scalar_constant(clip.inputs[i], &v))
        return fmt::format("its {} bound '{}' is not a constant scalar", i == 1 ? "min" : "max",
                           clip.inputs[i]->name);
      (i == 1 ? lo : hi) = static_cast<float>(v);
    }
  }
  e->act = Activation::kClip;
  e->has_alpha = e->has_beta = true;  // always both: absent means unbounded
  e->alpha = lo;
  e->beta = hi;
  e->note = lo == 0 && hi == 6 ? "Clip [0, 6], i.e. Relu6" : fmt::format("Clip [{}, {}]", lo, hi);
  return {};
}

/// Describes a single-node activation reading `y`; returns why it cannot be fused, or empty.
std::string single_epilogue(const PassContext& ctx, Node* a, const Value* y, Epilogue* e) {
  if (a->inputs.empty() || a->inputs[0] != y || !has_output(a))
    return "it does not read the output as its data input";
  e->nodes = {a};
  const std::string& op = a->op_type;
  if (op == "Relu") {
    e->act = Activation::kRelu;
  } else if (op == "Clip") {
    return clip_bounds(ctx, *a, e);
  } else if (op == "LeakyRelu") {
    e->act = Activation::kLeakyRelu;
    e->has_alpha = true;
    e->alpha = a->attr_float("alpha", 0.01f);
  } else if (op == "Sigmoid") {
    e->act = Activation::kSigmoid;
  } else if (op == "HardSigmoid") {
    e->act = Activation::kHardSigmoid;
    e->has_alpha = e->has_beta = true;
    e->alpha = a->attr_float("alpha", 0.2f);
    e->beta = a->attr_float("beta", 0.5f);
  } else if (op == "HardSwish") {
    e->act = Activation::kHardSwish;
  } else if (op == "Tanh") {
    e->act = Activation::kTanh;
  } else if (op == "Gelu") {
    const std::string approx = a->attr_string("approximate", "none");
    if (approx != "none" && approx != "tanh") return "its approximate is '" + approx + "'";
    e->act = approx == "tanh" ? Activation::kGeluTanh : Activation::kGelu;
  } else {
    return "it is not a supported activation";
  }
  return {};
}

/// Mul(y, s) in either order with `s` read only by it.
Node* mul_with(const PassContext& ctx, const std::vector<Node*>& rs, const Value* y,
               const Value* s) {
  for (Node* m : rs)
    if (!ctx.is_removed(m) && is_std(m, "Mul") && m->inputs.size() == 2 && has_output(m) &&
        ((m->inputs[0] == y && m->inputs[1] == s) || (m->inputs[0] == s && m->inputs[1] == y)))
      return m;
  return nullptr;
}

/// SiLU or Mish over the two readers of `y`. nullopt when the readers are not such a pattern;
/// otherwise `*why` is empty (fusable) or says what stops it.
std::optional<Epilogue> pattern_epilogue(const PassContext& ctx, const std::vector<Node*>& rs,
                                         const Value* y, std::string* why) {
  for (Node* first : rs) {
    if (first->inputs.empty() || first->inputs[0] != y || !has_output(first)) continue;
    Epilogue e;
    std::vector<Value*> inner;
    Node* mul = nullptr;
    if (is_std(first, "Sigmoid")) {
      mul = mul_with(ctx, rs, y, first->outputs[0]);
      if (!mul) continue;
      e.act = Activation::kSilu;
      e.nodes = {first, mul};
      inner = {first->outputs[0]};
    } else if (is_std(first, "Softplus")) {
      Node* tanh = sole_consumer(first->outputs[0]);
      if (!is_std(tanh, "Tanh") || ctx.is_removed(tanh) || !has_output(tanh)) continue;
      mul = mul_with(ctx, rs, y, tanh->outputs[0]);
      if (!mul) continue;
      e.act = Activation::kMish;
      e.nodes = {first, tanh, mul};
      inner = {first->outputs[0], tanh->outputs[0]};
    } else {
      continue;
    }
    why->clear();
    for (const Value* v : inner)
      if (num_uses(v) != 1 && why->empty())
        *why = fmt::format("'{}' has {} uses", v->name, num_uses(v));
    if (why->empty() && rs.size() != 2)
      *why = fmt::format("the output has {} readers besides the pattern", rs.size() - 2);
    return e;
  }
  return std::nullopt;
}

std::string join_names(const Node& p, const std::vector<Node*>& nodes, bool describe) {
  std::string s = describe ? p.describe() : p.name;
  for (const Node* n : nodes) s += " + " + (describe ? n->describe() : n->name);
  return s;
}

void set_float_attr(Node* n, const std::string& name, float v) {
  Attribute& a = n->attrs[name];
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
}

class ActivationFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "activation_fusion"; }

  Status run(PassContext& ctx) override {
    if (!ctx.options().allow_internal_ops) return Status::ok();
    for (Node* p : ctx.live_nodes()) {
      if (ctx.is_removed(p) || !takes_activation(p->op_type)) continue;
      const bool standard = p->domain.empty() || p->domain == "ai.onnx";
      if (!standard && !(is_internal_node(*p) && !p->has_attr("activation"))) continue;
      if (p->outputs.size() != 1 || !p->outputs[0]) continue;
      Value* y = p->outputs[0];
      if (!is_floating(y->type.dtype)) continue;
      const std::vector<Node*> rs = readers(ctx, y);
      if (rs.empty()) continue;
      std::string why;
      std::optional<Epilogue> e = pattern_epilogue(ctx, rs, y, &why);
      if (e && why.empty() && y->is_graph_output) why = "its output is a graph output";
      if (!e) {
        Node* act = nullptr;
        for (Node* r : rs)
          if (is_single_activation(r) && !act) act = r;
        if (!act) continue;
        e.emplace();
        if (y->is_graph_output || rs.size() > 1) {
          e->nodes = {act};
          why = y->is_graph_output
                    ? fmt::format("{}'s output is a graph output", p->name)
                    : fmt::format("{}'s output has {} consumers", p->name, num_uses(y));
        } else {
          why = single_epilogue(ctx, act, y, &*e);
          if (!why.empty()) e->nodes = {act};
        }
      }
      if (!why.empty()) {
        ctx.skip(fmt::format("{} not fused: {}", join_names(*p, e->nodes, true), why));
        continue;
      }
      fuse(ctx, p, *e);
    }
    return Status::ok();
  }

 private:
  static void fuse(PassContext& ctx, Node* p, const Epilogue& e) {
    const std::string before = join_names(*p, e.nodes, true);
    Value* out = e.nodes.back()->outputs[0];
    p->domain = std::string(kInternalDomain);
    Attribute& a = p->attrs["activation"];
    a.kind = Attribute::Kind::kString;
    a.s = std::string(activation_name(e.act));
    if (e.has_alpha) set_float_attr(p, "activation_alpha", e.alpha);
    if (e.has_beta) set_float_attr(p, "activation_beta", e.beta);
    p->name = join_names(*p, e.nodes, false);
    // The fused node writes the last activation's output, so its name (and its graph-output
    // role) survives; p's old output is left to the readers being removed.
    p->outputs[0] = out;
    out->producer = p;
    for (Node* n : e.nodes) ctx.remove(n);
    ctx.rewrite(fmt::format("fused {} into internal {} (activation {})", before, p->describe(),
                            e.note.empty() ? a.s : e.note));
  }
};

}  // namespace

std::unique_ptr<Pass> make_activation_fusion_pass() {
  return std::make_unique<ActivationFusionPass>();
}

}  // namespace tarmac
