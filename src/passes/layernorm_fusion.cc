// LayerNormalization fusion: the decomposition exporters emit before opset 17
//   mean = ReduceMean(x, axes, keepdims=1)      d = Sub(x, mean)
//   var  = ReduceMean(Pow(d, 2) or Mul(d, d))   n = Div(d, Sqrt(Add(var, eps)))
//   y    = Add(Mul(n, gamma), beta)             (Mul and Add optional, constant operands)
// over the last axis or the last k axes becomes LayerNormalization(x, gamma, beta). ReduceMean
// takes its axes as an attribute before opset 18 and as an input from 18. LayerNormalization is
// standard from opset 17; older models get the internal-domain node when internal ops are
// allowed.
#include <algorithm>
#include <cmath>
#include <optional>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

constexpr int64_t kLayerNormOpset = 17;

bool is_std(const Node* n, std::string_view op) {
  return n && n->op_type == op && (n->domain.empty() || n->domain == "ai.onnx");
}

Value* other_operand(const Node* n, const Value* v) {
  if (n->inputs.size() != 2) return nullptr;
  if (n->inputs[0] == v) return n->inputs[1];
  if (n->inputs[1] == v) return n->inputs[0];
  return nullptr;
}

template <typename Pred>
Node* find_consumer(const PassContext& ctx, const Value* v, std::string_view op, Pred pred) {
  for (Node* c : v->consumers)
    if (!ctx.is_removed(c) && is_std(c, op) && !c->outputs.empty() && c->outputs[0] && pred(c))
      return c;
  return nullptr;
}

/// The sorted, non-negative axes a keepdims ReduceMean reduces; nullopt when they are unknown
/// or the node keeps no dims.
std::optional<std::vector<int64_t>> reduce_axes(const PassContext& ctx, const Node& r,
                                                int64_t rank) {
  if (r.attr_int("keepdims", 1) != 1) return std::nullopt;
  std::vector<int64_t> axes;
  bool all = false;
  if (ctx.opset() >= 18) {
    if (r.has_input(1)) {
      const Tensor* t = constant_of(r.inputs[1]);
      if (!t) return std::nullopt;
      axes = t->to_int64_vector();
    }
    if (axes.empty()) {
      if (r.attr_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
      all = true;
    }
  } else if (r.has_attr("axes")) {
    axes = r.attr_ints("axes");
  } else {
    all = true;
  }
  if (all) {
    axes.resize(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) axes[static_cast<size_t>(i)] = i;
  }
  for (int64_t& a : axes) {
    if (a < -rank || a >= rank) return std::nullopt;
    if (a < 0) a += rank;
  }
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return axes;
}

/// A constant gamma/beta usable as LayerNormalization's Scale/B: same dtype as x, no larger
/// rank, and after dropping leading 1s covering only the normalized axes, each dim 1 or x's.
/// `dims` receives the shape with the leading 1s dropped.
bool affine_param(const Value* p, const Value* x, int64_t first, Dims* dims) {
  const Tensor* t = constant_of(p);
  if (!t || t->dtype() != x->type.dtype || t->rank() > x->type.rank()) return false;
  *dims = t->dims();
  size_t lead = 0;
  while (lead < dims->size() && (*dims)[lead] == 1) ++lead;
  dims->erase(dims->begin(), dims->begin() + static_cast<int64_t>(lead));
  const int64_t rank = x->type.rank();
  if (static_cast<int64_t>(dims->size()) > rank - first) return false;
  for (size_t k = 0; k < dims->size(); ++k) {
    const Dim& xd = x->type.shape[static_cast<size_t>(rank) - dims->size() + k];
    if ((*dims)[k] != 1 && (!xd.is_static() || xd.value != (*dims)[k])) return false;
  }
  return true;
}

/// `p` itself, or a reshaped copy without the leading 1s (a new tensor object sharing the
/// immutable storage; the original stays untouched).
Value* materialize(Graph& g, Value* p, const Dims& dims) {
  const Tensor* t = constant_of(p);
  if (t->dims() == dims) return p;
  return new_initializer(g, p->name + "_ln", t->reshaped(dims));
}

struct LayerNormMatch {
  Value* x = nullptr;
  int64_t first = 0;  // first normalized axis
  double eps = 0;
  std::vector<Node*> nodes;   // pattern order; the last writes the result
  std::vector<Value*> inner;  // intermediates that must have exactly one use
  Value* d = nullptr;         // x - mean: read by the square and the division
  Value* gamma = nullptr;     // constants as found; reshaped when fused
  Value* beta = nullptr;
  Dims gamma_dims, beta_dims;
};

/// Everything from the first ReduceMean to the division; the affine tail is matched apart.
bool match_core(const PassContext& ctx, Node* mean_node, LayerNormMatch* m) {
  Value* x = mean_node->inputs.empty() ? nullptr : mean_node->inputs[0];
  Value* mean = mean_node->outputs.empty() ? nullptr : mean_node->outputs[0];
  if (!x || !mean || !x->type.has_shape || !is_floating(x->type.dtype)) return false;
  const int64_t rank = x->type.rank();
  const auto axes = reduce_axes(ctx, *mean_node, rank);
  if (!axes || axes->empty()) return false;
  for (size_t k = 0; k < axes->size(); ++k)  // contiguous up to the last axis
    if ((*axes)[k] != rank - static_cast<int64_t>(axes->size() - k)) return false;
  Node* sub = find_consumer(ctx, mean, "Sub", [&](Node* n) {
    return n->inputs.size() == 2 && n->inputs[0] == x && n->inputs[1] == mean;
  });
  if (!sub) return false;
  Value* d = sub->outputs[0];
  Node* sq_node = find_consumer(ctx, d, "Pow", [&](Node* n) {
    return n->inputs.size() == 2 && n->inputs[0] == d && constant_all_equal(n->inputs[1], 2) &&
           constant_of(n->inputs[1])->numel() == 1 && constant_of(n->inputs[1])->rank() <= rank;
  });
  if (!sq_node)
    sq_node = find_consumer(ctx, d, "Mul", [&](Node* n) {
      return n->inputs.size() == 2 && n->inputs[0] == d && n->inputs[1] == d;
    });
  if (!sq_node) return false;
  Value* sq = sq_node->outputs[0];
  Node* var_node = find_consumer(ctx, sq, "ReduceMean", [&](Node* n) {
    return !n->inputs.empty() && n->inputs[0] == sq && reduce_axes(ctx, *n, rank) == axes;
  });
  if (!var_node) return false;
  Value* var = var_node->outputs[0];
  Node* eps_node = find_consumer(ctx, var, "Add", [&](Node* n) {
    const Value* e = other_operand(n, var);
    double v = 0;
    return e && e != var && scalar_constant(e, &v) && constant_of(e)->rank() <= rank;
  });
  if (!eps_node) return false;
  scalar_constant(other_operand(eps_node, var), &m->eps);
  Value* ve = eps_node->outputs[0];
  Node* sqrt_node = find_consumer(ctx, ve, "Sqrt", [&](Node*) { return true; });
  if (!sqrt_node) return false;
  Value* std_dev = sqrt_node->outputs[0];
  Node* div = find_consumer(ctx, std_dev, "Div", [&](Node* n) {
    return n->inputs.size() == 2 && n->inputs[0] == d && n->inputs[1] == std_dev;
  });
  if (!div) return false;
  m->x = x;
  m->first = rank - static_cast<int64_t>(axes->size());
  m->d = d;
  m->nodes = {mean_node, sub, sq_node, var_node, eps_node, sqrt_node, div};
  m->inner = {mean, sq, var, ve, std_dev};
  return true;
}

/// Absorbs Mul(n, gamma) and then Add(., beta) when each is the sole reader of the value before
/// it and its constant fits LayerNormalization's Scale/B.
void match_affine(const PassContext& ctx, LayerNormMatch* m) {
  Value* cur = m->nodes.back()->outputs[0];
  Node* next = sole_consumer(cur);
  if (next && !ctx.is_removed(next) && is_std(next, "Mul") && !next->outputs.empty() &&
      next->outputs[0]) {
    Value* c = other_operand(next, cur);
    if (c && c != cur) {
      if (affine_param(c, m->x, m->first, &m->gamma_dims)) {
        m->gamma = c;
        m->nodes.push_back(next);
        cur = next->outputs[0];
        next = sole_consumer(cur);
      }
    }
  }
  if (next && !ctx.is_removed(next) && is_std(next, "Add") && !next->outputs.empty() &&
      next->outputs[0]) {
    Value* c = other_operand(next, cur);
    if (c && c != cur) {
      if (affine_param(c, m->x, m->first, &m->beta_dims)) {
        m->beta = c;
        m->nodes.push_back(next);
      }
    }
  }
}

std::string describe_all(const std::vector<Node*>& nodes) {
  std::string s;
  for (const Node* n : nodes) s += (s.empty() ? "" : " + ") + n->describe();
  return s;
}

/// Ones of the normalized shape in x's dtype; nullptr when that shape is not static.
Value* ones_scale(Graph& g, const Value* x, int64_t first, const std::string& hint) {
  Dims dims;
  for (size_t k = static_cast<size_t>(first); k < x->type.shape.size(); ++k) {
    if (!x->type.shape[k].is_static()) return nullptr;
    dims.push_back(x->type.shape[k].value);
  }
  const int64_t n = num_elements(dims);
  Tensor ones = Tensor::from_vector<float>(std::vector<float>(static_cast<size_t>(n), 1.f), dims);
  if (x->type.dtype != DType::kFloat32) ones = ones.cast(x->type.dtype);
  return new_initializer(g, hint, std::move(ones));
}

class LayernormFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "layernorm_fusion"; }

  Status run(PassContext& ctx) override {
    for (Node* n : ctx.live_nodes()) {
      if (ctx.is_removed(n) || !is_std(n, "ReduceMean")) continue;
      LayerNormMatch m;
      if (!match_core(ctx, n, &m)) continue;
      fuse(ctx, n, &m);
    }
    return Status::ok();
  }

 private:
  static void fuse(PassContext& ctx, Node* anchor, LayerNormMatch* m) {
    Graph& g = ctx.graph();
    for (const Node* p : m->nodes)
      if (ctx.is_removed(p)) return;
    const std::string where = fmt::format("LayerNorm pattern at '{}'", anchor->name);
    for (const Value* v : m->inner) {
      if (num_uses(v) == 1) continue;
      ctx.skip(fmt::format("{} not fused: intermediate '{}' has {} uses{}", where, v->name,
                           num_uses(v), v->is_graph_output ? " (it is a graph output)" : ""));
      return;
    }
    if (num_uses(m->d) != 2) {
      ctx.skip(
          fmt::format("{} not fused: '{}' (x - mean) has {} uses, expected 2 (the square "
                      "and the division)",
                      where, m->d->name, num_uses(m->d)));
      return;
    }
    const bool standard = ctx.opset() >= kLayerNormOpset;
    if (!standard && !ctx.options().allow_internal_ops) {
      ctx.skip(fmt::format(
          "{}: LayerNormalization needs opset {}, model has {}, and internal ops are off", where,
          kLayerNormOpset, ctx.opset()));
      return;
    }
    match_affine(ctx, m);
    if (m->gamma) {
      m->gamma = materialize(g, m->gamma, m->gamma_dims);
    } else {
      m->gamma = ones_scale(g, m->x, m->first, m->nodes.back()->outputs[0]->name + "_scale");
      if (!m->gamma) {
        ctx.skip(
            fmt::format("{} not fused: no scale to absorb and the normalized dims of {} are "
                        "not static, so no ones scale can be made",
                        where, shape_to_string(m->x->type.shape)));
        return;
      }
    }
    // The last node becomes the LayerNormalization, so it keeps writing the pattern's output.
    Node* last = m->nodes.back();
    const std::string before = describe_all(m->nodes);
    std::vector<Value*> ins = {m->x, m->gamma};
    if (m->beta) ins.push_back(materialize(g, m->beta, m->beta_dims));
    for (size_t i = 0; i < last->inputs.size(); ++i) set_input(last, i, nullptr);
    last->inputs.assign(ins.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i) set_input(last, i, ins[i]);
    last->op_type = "LayerNormalization";
    last->domain = standard ? std::string() : std::string(kInternalDomain);
    last->attrs.clear();
    last->attrs["axis"].kind = Attribute::Kind::kInt;
    last->attrs["axis"].i = m->first;
    last->attrs["epsilon"].kind = Attribute::Kind::kFloat;
    last->attrs["epsilon"].f = static_cast<float>(m->eps);
    last->name = fused_name(m->nodes);
    for (Node* p : m->nodes)
      if (p != last) ctx.remove(p);
    ctx.rewrite(fmt::format("fused {} into {} (axis {}, epsilon {}{}{})", before, last->describe(),
                            m->first, static_cast<float>(m->eps), m->beta ? "" : ", no bias",
                            standard ? "" : ", internal domain"));
  }
};

}  // namespace

std::unique_ptr<Pass> make_layernorm_fusion_pass() {
  return std::make_unique<LayernormFusionPass>();
}

}  // namespace tarmac
