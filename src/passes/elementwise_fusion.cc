// Elementwise fusion: a tree of float elementwise ops (ir/elementwise_program.h lists them)
// becomes one internal FusedElementwise node, so the chain reads its inputs and writes its
// result once instead of round-tripping every intermediate through memory.
//
// A group is grown bottom-up in topological order: a node absorbs the group of a producer
// whose output it alone reads (one distinct reader, not a graph output), while the group
// stays within kEwMaxInputs tensor inputs and kEwMaxInstructions nodes and its output shape
// is the numpy broadcast of its inputs (static dims, or equal symbols; unknown dims stop it).
// One-element constant operands become program constants. Groups of one node are left as
// they are. The pass runs after the pattern fusions (GELU, LayerNorm, bias, residual and
// activation epilogues), so it only sees the elementwise work those left; off when internal
// ops are not allowed (sanitize writes standard ONNX).
#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "ir/elementwise_program.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool is_std(const Node* n) { return n->domain.empty() || n->domain == "ai.onnx"; }

bool is_program_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat16 || t == DType::kBFloat16;
}

/// One node read as an instruction.
struct Instr {
  Node* node = nullptr;
  EwOp op = EwOp::kNeg;
  float p0 = 0, p1 = 0;             // parameters of parametric unary ops
  std::vector<Value*> operands;     // 1 (unary) or 2 (binary), in op order
  std::vector<bool> folded;         // operand i is a scalar folded into the program
  std::vector<float> folded_value;  // its value
};

/// A one-element constant operand that can become a program constant: its rank does not
/// exceed the other operand's, so dropping it cannot change the broadcast shape. Pow's
/// exponent may be of any numeric dtype (the CPU kernel promotes it); other operands must
/// have the node's dtype.
bool foldable(const Value* v, const Value* other, DType dtype, bool any_dtype, float* out) {
  double d = 0;
  if (!scalar_constant(v, &d)) return false;
  const Tensor* t = constant_of(v);
  if (any_dtype ? !(is_floating(t->dtype()) || is_integer(t->dtype())) : t->dtype() != dtype)
    return false;
  if (!other || !other->type.has_shape || t->rank() > other->type.rank()) return false;
  *out = static_cast<float>(d);
  return true;
}

/// The bounds of a Clip as the CPU kernel reads them; false when they are not constants.
bool clip_bounds(const Node& n, int64_t opset, DType dtype, float* lo, float* hi) {
  // An absent bound is the float type's lowest / max, as in the CPU kernel (also opset 1's
  // unset attributes and opset 6's defaults).
  const float flt_max = std::numeric_limits<float>::max();
  *lo = -flt_max;
  *hi = flt_max;
  if (opset < 11) {
    *lo = n.attr_float("min", -flt_max);
    *hi = n.attr_float("max", flt_max);
    return true;
  }
  for (size_t i = 1; i < 3; ++i) {
    if (!n.has_input(i)) continue;
    double v = 0;
    const Value* b = n.inputs[i];
    if (!scalar_constant(b, &v) || constant_of(b)->dtype() != dtype) return false;
    (i == 1 ? *lo : *hi) = static_cast<float>(v);
  }
  return true;
}

/// The node as an instruction, or nullopt when it is not a fusable float elementwise op.
std::optional<Instr> as_instruction(const PassContext& ctx, Node* n) {
  Instr in;
  in.node = n;
  if (!is_std(n) || !ew_op_from_name(n->op_type, &in.op)) return std::nullopt;
  if (n->outputs.size() != 1 || !n->outputs[0]) return std::nullopt;
  const Value* y = n->outputs[0];
  // Folded outputs are constant folding's business.
  if (!is_program_dtype(y->type.dtype) || !y->type.has_shape || y->constant) return std::nullopt;
  const DType t = y->type.dtype;
  const EwOpInfo& info = ew_op_info(in.op);
  const size_t arity = static_cast<size_t>(info.operands);
  if (in.op == EwOp::kClip) {
    if (!n->has_input(0) || n->inputs.size() > 3) return std::nullopt;
    if (!clip_bounds(*n, ctx.opset(), t, &in.p0, &in.p1)) return std::nullopt;
  } else if (n->num_inputs() != arity) {
    return std::nullopt;
  }
  // Before opset 7 the binary ops broadcast by the legacy axis rule.
  if (arity == 2 && in.op != EwOp::kMax && in.op != EwOp::kMin && ctx.opset() < 7)
    return std::nullopt;
  switch (in.op) {
    case EwOp::kLeakyRelu:
      in.p0 = n->attr_float("alpha", 0.01f);
      break;
    case EwOp::kElu:
      in.p0 = n->attr_float("alpha", 1.0f);
      break;
    case EwOp::kHardSigmoid:
      in.p0 = n->attr_float("alpha", 0.2f);
      in.p1 = n->attr_float("beta", 0.5f);
      break;
    default:
      break;
  }
  for (size_t i = 0; i < arity; ++i) {
    Value* v = n->inputs[i];
    if (!v) return std::nullopt;
    const Value* other = arity == 2 ? n->inputs[1 - i] : nullptr;
    float c = 0;
    const bool fold = arity == 2 && foldable(v, other, t, in.op == EwOp::kPow && i == 1, &c);
    if (!fold && v->type.dtype != t) return std::nullopt;
    in.operands.push_back(v);
    in.folded.push_back(fold);
    in.folded_value.push_back(c);
  }
  return in;
}

/// Numpy broadcast of the values' shapes when every dim is decided at build time (static,
/// or one symbol alongside 1s); nullopt otherwise.
std::optional<Shape> known_broadcast(const std::vector<Value*>& ins) {
  size_t rank = 0;
  for (const Value* v : ins) {
    if (!v->type.has_shape) return std::nullopt;
    rank = std::max(rank, v->type.shape.size());
  }
  Shape out(rank, Dim(1));
  for (size_t k = 0; k < rank; ++k) {
    Dim d(1);
    for (const Value* v : ins) {
      const size_t r = v->type.shape.size();
      if (k + r < rank) continue;
      const Dim& e = v->type.shape[k + r - rank];
      if (e.is_static() && e.value == 1) continue;
      if (!e.is_static() && e.symbol.empty()) return std::nullopt;
      if (d.is_static() && d.value == 1) {
        d = e;
      } else if (!(d == e)) {
        return std::nullopt;
      }
    }
    out[k] = d;
  }
  return out;
}

bool same_shape(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t k = 0; k < a.size(); ++k)
    if (!(a[k] == b[k])) return false;
  return true;
}

struct Group {
  std::vector<Node*> nodes;    // topological order; the last is the root
  std::vector<Value*> inputs;  // distinct tensor inputs, first use first
  bool merged = false;         // absorbed by a consumer's group
};

void add_inputs(std::vector<Value*>* to, const std::vector<Value*>& from) {
  for (Value* v : from)
    if (std::find(to->begin(), to->end(), v) == to->end()) to->push_back(v);
}

std::string describe_all(const std::vector<Node*>& nodes) {
  std::string s;
  for (const Node* n : nodes) {
    if (!s.empty()) s.append(" + ");
    s.append(n->describe());
  }
  return s;
}

class ElementwiseFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "elementwise_fusion"; }

  Status run(PassContext& ctx) override {
    if (!ctx.options().allow_internal_ops) return Status::ok();
    std::map<const Node*, Instr> instrs;
    std::map<const Node*, size_t> group_of;  // root node -> its (open) group
    std::map<const Node*, size_t> pos;       // topological position
    std::vector<Group> groups;
    for (Node* n : ctx.live_nodes()) {
      pos[n] = pos.size();
      std::optional<Instr> in = as_instruction(ctx, n);
      if (!in) continue;
      Group g;
      g.nodes = {n};
      for (size_t i = 0; i < in->operands.size(); ++i)
        if (!in->folded[i]) add_inputs(&g.inputs, {in->operands[i]});
      for (Value* v : std::vector<Value*>(g.inputs)) absorb(ctx, n, v, group_of, groups, &g);
      instrs.emplace(n, std::move(*in));
      group_of[n] = groups.size();
      groups.push_back(std::move(g));
    }
    for (Group& g : groups)
      if (!g.merged && g.nodes.size() >= 2) fuse(ctx, instrs, pos, g);
    return Status::ok();
  }

 private:
  /// Merges the group producing `v` into `g` (rooted at `n`) when `n` is its only reader and
  /// the limits and the shape rule still hold.
  static void absorb(const PassContext& ctx, Node* n, Value* v,
                     const std::map<const Node*, size_t>& group_of, std::vector<Group>& groups,
                     Group* g) {
    Node* p = producer_of(ctx, v);
    auto it = p ? group_of.find(p) : group_of.end();
    if (it == group_of.end() || sole_consumer(v) != n) return;
    Group& pg = groups[it->second];
    std::vector<Value*> inputs;
    for (Value* u : g->inputs)
      if (u != v) inputs.push_back(u);
    add_inputs(&inputs, pg.inputs);
    const size_t steps = g->nodes.size() + pg.nodes.size();
    std::string why;
    if (inputs.size() > static_cast<size_t>(kEwMaxInputs)) {
      why = fmt::format("the group would read {} inputs (at most {})", inputs.size(), kEwMaxInputs);
    } else if (steps > static_cast<size_t>(kEwMaxInstructions)) {
      why = fmt::format("the group would have {} ops (at most {})", steps, kEwMaxInstructions);
    } else {
      const std::optional<Shape> b = known_broadcast(inputs);
      if (!b || !same_shape(*b, n->outputs[0]->type.shape))
        why = fmt::format("output {} is not the known broadcast of the group's inputs",
                          n->outputs[0]->type.to_string());
    }
    if (!why.empty()) {
      ctx.skip(fmt::format("{} not merged into the elementwise group of {}: {}", p->describe(),
                           n->describe(), why));
      return;
    }
    std::vector<Node*> nodes = pg.nodes;
    nodes.insert(nodes.end(), g->nodes.begin(), g->nodes.end());
    g->nodes = std::move(nodes);  // producers before n, so still topological
    g->inputs = std::move(inputs);
    pg.merged = true;
  }

  static void fuse(PassContext& ctx, const std::map<const Node*, Instr>& instrs,
                   const std::map<const Node*, size_t>& pos, Group& g) {
    // Merging keeps producers before consumers, but the subtrees of sibling operands may
    // interleave in the graph; the graph's order makes the program read like the model.
    std::sort(g.nodes.begin(), g.nodes.end(),
              [&](const Node* a, const Node* b) { return pos.at(a) < pos.at(b); });
    Node* root = g.nodes.back();
    // Inputs in order of first use, so the fused node reads like the chain it replaces.
    std::vector<Value*> inputs;
    for (const Node* n : g.nodes)
      for (Value* v : n->inputs)
        if (std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end())
          add_inputs(&inputs, {v});
    g.inputs = std::move(inputs);

    EwProgramBuilder b(static_cast<int>(g.inputs.size()));
    std::map<const Value*, EwRef> refs;
    for (size_t i = 0; i < g.inputs.size(); ++i) refs[g.inputs[i]] = b.input(static_cast<int>(i));
    for (Node* n : g.nodes) {
      const Instr& in = instrs.at(n);
      std::vector<EwRef> ops;
      for (size_t i = 0; i < in.operands.size(); ++i)
        ops.push_back(in.folded[i] ? b.constant(in.folded_value[i]) : refs.at(in.operands[i]));
      refs[n->outputs[0]] =
          ops.size() == 2 ? b.binary(in.op, ops[0], ops[1]) : b.unary(in.op, ops[0], in.p0, in.p1);
    }
    StatusOr<EwProgram> p = b.finish();
    if (!p.is_ok()) {
      ctx.skip(fmt::format("{} not fused: {}", describe_all(g.nodes), p.status().message()));
      return;
    }
    const std::string before = describe_all(g.nodes);
    // The root becomes the fused node, so it keeps writing the group's output value (and its
    // graph-output role).
    for (size_t i = 0; i < root->inputs.size(); ++i) set_input(root, i, nullptr);
    root->inputs.assign(g.inputs.size(), nullptr);
    for (size_t i = 0; i < g.inputs.size(); ++i) set_input(root, i, g.inputs[i]);
    root->op_type = std::string(kFusedElementwiseOp);
    root->domain = std::string(kInternalDomain);
    root->attrs.clear();
    set_program_attrs(*p, root);
    root->name = fused_name(g.nodes);
    for (Node* n : g.nodes)
      if (n != root) ctx.remove(n);
    ctx.rewrite(fmt::format("fused {} into internal {} ({} inputs, {} instructions: {})", before,
                            root->describe(), g.inputs.size(), p->code.size(), p->ops()));
  }
};

}  // namespace

std::unique_ptr<Pass> make_elementwise_fusion_pass() {
  return std::make_unique<ElementwiseFusionPass>();
}

}  // namespace tarmac
