// GELU fusion: the decompositions exporters emit for GELU become one Gelu node.
//   exact: x * 0.5 * (1 + erf(x / sqrt(2)))            (Div by sqrt(2) or Mul by 1/sqrt(2))
//   tanh:  0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (x^3 as Pow or Mul chain)
// with the 0.5 applied to x, to (1 + f) or to the product, and either operand order of every
// Add and Mul. Gelu is standard from opset 20; older models get the internal-domain node when
// internal ops are allowed.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

constexpr int64_t kGeluOpset = 20;

bool is_std(const Node* n, std::string_view op) {
  return n && n->op_type == op && (n->domain.empty() || n->domain == "ai.onnx");
}

/// The other operand of a two-input node reading `v`; nullptr when `v` is not an operand.
Value* other_operand(const Node* n, const Value* v) {
  if (n->inputs.size() != 2) return nullptr;
  if (n->inputs[0] == v) return n->inputs[1];
  if (n->inputs[1] == v) return n->inputs[0];
  return nullptr;
}

/// A one-element constant within the dtype's tolerance of `expect` that does not broadcast `x`
/// to a larger rank.
bool near_constant(const Value* c, double expect, const Value* x) {
  double v = 0;
  if (!c || !scalar_constant(c, &v)) return false;
  const Tensor* t = constant_of(c);
  if (x->type.has_shape ? t->rank() > x->type.rank() : t->rank() > 0) return false;
  // 1e-4 relative, widened to the storage precision of half-precision constants.
  double tol = 1e-4;
  if (t->dtype() == DType::kFloat16) tol = 1e-3;
  if (t->dtype() == DType::kBFloat16) tol = 8e-3;
  return std::abs(v - expect) <= tol * std::abs(expect);
}

/// A live standard-domain consumer of `v` with op type `op` for which `pred` holds.
template <typename Pred>
Node* find_consumer(const PassContext& ctx, const Value* v, std::string_view op, Pred pred) {
  for (Node* c : v->consumers)
    if (!ctx.is_removed(c) && is_std(c, op) && !c->outputs.empty() && c->outputs[0] && pred(c))
      return c;
  return nullptr;
}

Node* std_producer(const PassContext& ctx, const Value* v, std::string_view op) {
  Node* p = producer_of(ctx, v, op);
  return is_std(p, op) ? p : nullptr;
}

struct GeluMatch {
  Value* x = nullptr;
  std::vector<Node*> nodes;   // pattern order; the last writes the result
  std::vector<Value*> inner;  // intermediates that must have exactly one use
};

/// x in x / sqrt(2) or x * (1/sqrt(2)) feeding the Erf.
bool match_erf_front(const PassContext& ctx, Node* erf, GeluMatch* m) {
  Value* in = erf->inputs.empty() ? nullptr : erf->inputs[0];
  if (!in) return false;
  if (Node* d = std_producer(ctx, in, "Div"); d && d->inputs.size() == 2) {
    if (!d->inputs[0] || !near_constant(d->inputs[1], M_SQRT2, d->inputs[0])) return false;
    m->x = d->inputs[0];
    m->nodes = {d, erf};
  } else if (Node* s = std_producer(ctx, in, "Mul"); s && s->inputs.size() == 2) {
    for (int k = 0; k < 2 && !m->x; ++k)
      if (s->inputs[k] && near_constant(s->inputs[1 - k], M_SQRT1_2, s->inputs[k]))
        m->x = s->inputs[k];
    if (!m->x) return false;
    m->nodes = {s, erf};
  } else {
    return false;
  }
  m->inner = {in, erf->outputs[0]};
  return true;
}

/// `c` = x^3 as Pow(x, 3) or x * (x * x) in any operand order.
bool match_cube(const PassContext& ctx, Value* c, Value* x, GeluMatch* m) {
  if (Node* p = std_producer(ctx, c, "Pow")) {
    if (p->inputs.size() != 2 || p->inputs[0] != x || !near_constant(p->inputs[1], 3, x))
      return false;
    m->nodes.push_back(p);
    m->inner.push_back(c);
    return true;
  }
  Node* outer = std_producer(ctx, c, "Mul");
  if (!outer) return false;
  Value* sq = other_operand(outer, x);
  Node* inner = sq ? std_producer(ctx, sq, "Mul") : nullptr;
  if (!inner || inner->inputs.size() != 2 || inner->inputs[0] != x || inner->inputs[1] != x)
    return false;
  m->nodes.push_back(inner);
  m->nodes.push_back(outer);
  m->inner.push_back(sq);
  m->inner.push_back(c);
  return true;
}

/// sqrt(2/pi) * (x + 0.044715 * x^3) feeding the Tanh.
bool match_tanh_front(const PassContext& ctx, Node* tanh, GeluMatch* m) {
  Value* in = tanh->inputs.empty() ? nullptr : tanh->inputs[0];
  Node* scale = in ? std_producer(ctx, in, "Mul") : nullptr;
  if (!scale || scale->inputs.size() != 2) return false;
  constexpr double kSqrt2OverPi = 0.7978845608028654;
  Value* s = nullptr;
  for (int k = 0; k < 2 && !s; ++k) {
    Value* cand = scale->inputs[1 - k];
    if (cand && near_constant(scale->inputs[k], kSqrt2OverPi, cand)) s = cand;
  }
  Node* sum = s ? std_producer(ctx, s, "Add") : nullptr;
  if (!sum || sum->inputs.size() != 2) return false;
  for (int k = 0; k < 2; ++k) {
    Value* w = sum->inputs[k];
    Value* x = sum->inputs[1 - k];
    Node* wmul = w ? std_producer(ctx, w, "Mul") : nullptr;
    if (!x || !wmul || wmul->inputs.size() != 2) continue;
    for (int j = 0; j < 2; ++j) {
      Value* cube = wmul->inputs[1 - j];
      if (!cube || !near_constant(wmul->inputs[j], 0.044715, x)) continue;
      GeluMatch trial;
      if (!match_cube(ctx, cube, x, &trial)) continue;
      trial.x = x;
      trial.nodes.insert(trial.nodes.end(), {wmul, sum, scale, tanh});
      trial.inner.insert(trial.inner.end(), {w, s, in, tanh->outputs[0]});
      *m = std::move(trial);
      return true;
    }
  }
  return false;
}

/// (1 + f) times x times 0.5 in the three groupings exporters use; appends to `m`.
bool match_tail(const PassContext& ctx, Value* f, GeluMatch* m) {
  Value* x = m->x;
  Node* add = find_consumer(ctx, f, "Add",
                            [&](Node* n) { return near_constant(other_operand(n, f), 1.0, x); });
  if (!add) return false;
  Value* a = add->outputs[0];
  for (Node* m1 : a->consumers) {
    if (ctx.is_removed(m1) || !is_std(m1, "Mul") || m1->outputs.empty() || !m1->outputs[0])
      continue;
    Value* o = other_operand(m1, a);
    if (!o) continue;
    Value* p = m1->outputs[0];
    if (o == x) {  // (x * (1 + f)) * 0.5  or  (x * (1 + f)) / 2
      Node* m2 = find_consumer(ctx, p, "Mul",
                               [&](Node* n) { return near_constant(other_operand(n, p), 0.5, x); });
      if (!m2)
        m2 = find_consumer(ctx, p, "Div", [&](Node* n) {
          return n->inputs.size() == 2 && n->inputs[0] == p && near_constant(n->inputs[1], 2, x);
        });
      if (!m2) continue;
      m->nodes.insert(m->nodes.end(), {add, m1, m2});
      m->inner.insert(m->inner.end(), {a, p});
      return true;
    }
    if (near_constant(o, 0.5, x)) {  // x * ((1 + f) * 0.5)
      Node* m2 = find_consumer(ctx, p, "Mul", [&](Node* n) { return other_operand(n, p) == x; });
      if (!m2) continue;
      m->nodes.insert(m->nodes.end(), {add, m1, m2});
      m->inner.insert(m->inner.end(), {a, p});
      return true;
    }
    Node* half = std_producer(ctx, o, "Mul");  // (x * 0.5) * (1 + f)
    if (half && near_constant(other_operand(half, x), 0.5, x)) {
      m->nodes.insert(m->nodes.begin(), half);
      m->nodes.insert(m->nodes.end(), {add, m1});
      m->inner.insert(m->inner.end(), {a, o});
      return true;
    }
  }
  return false;
}

std::string describe_all(const std::vector<Node*>& nodes) {
  std::string s;
  for (const Node* n : nodes) s += (s.empty() ? "" : " + ") + n->describe();
  return s;
}

class GeluFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "gelu_fusion"; }

  Status run(PassContext& ctx) override {
    for (Node* n : ctx.live_nodes()) {
      if (ctx.is_removed(n) || n->outputs.empty() || !n->outputs[0]) continue;
      const bool erf = is_std(n, "Erf");
      if (!erf && !is_std(n, "Tanh")) continue;
      GeluMatch m;
      if (erf ? !match_erf_front(ctx, n, &m) : !match_tanh_front(ctx, n, &m)) continue;
      if (!is_floating(m.x->type.dtype) || !match_tail(ctx, n->outputs[0], &m)) continue;
      fuse(ctx, n, m, erf ? "none" : "tanh");
    }
    return Status::ok();
  }

 private:
  static void fuse(PassContext& ctx, Node* anchor, const GeluMatch& m,
                   const std::string& approximate) {
    for (const Node* p : m.nodes)
      if (ctx.is_removed(p)) return;
    for (const Value* v : m.inner) {
      if (num_uses(v) == 1) continue;
      ctx.skip(fmt::format("GELU pattern at '{}' not fused: intermediate '{}' has {} uses{}",
                           anchor->name, v->name, num_uses(v),
                           v->is_graph_output ? " (it is a graph output)" : ""));
      return;
    }
    const bool standard = ctx.opset() >= kGeluOpset;
    if (!standard && !ctx.options().allow_internal_ops) {
      ctx.skip(fmt::format(
          "GELU pattern at '{}': Gelu needs opset {}, model has {}, and internal ops are off",
          anchor->name, kGeluOpset, ctx.opset()));
      return;
    }
    // The last node becomes the Gelu, so it keeps writing the pattern's output value.
    Node* last = m.nodes.back();
    const std::string before = describe_all(m.nodes);
    for (size_t i = 0; i < last->inputs.size(); ++i) set_input(last, i, nullptr);
    last->inputs.assign(1, nullptr);
    set_input(last, 0, m.x);
    last->op_type = "Gelu";
    last->domain = standard ? std::string() : std::string(kInternalDomain);
    last->attrs.clear();
    Attribute& a = last->attrs["approximate"];
    a.kind = Attribute::Kind::kString;
    a.s = approximate;
    last->name = fused_name(m.nodes);
    for (Node* p : m.nodes)
      if (p != last) ctx.remove(p);
    ctx.rewrite(fmt::format("fused {} into {} (approximate={}{})", before, last->describe(),
                            approximate, standard ? "" : ", internal domain"));
  }
};

}  // namespace

std::unique_ptr<Pass> make_gelu_fusion_pass() { return std::make_unique<GeluFusionPass>(); }

}  // namespace tarmac
