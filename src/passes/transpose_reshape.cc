// Transpose and Reshape chains: Transpose(Transpose(x)) becomes one Transpose (or nothing when
// the permutations cancel), a Transpose with the identity permutation goes, and a chain of
// reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze) collapses into one Reshape when the
// final shape is static.
#include <numeric>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

bool is_reshape_like(const Node& n) {
  return n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" ||
         n.op_type == "Unsqueeze";
}

/// The permutation of a Transpose with known input rank (default: reversed axes).
bool perm_of(const Node& n, std::vector<int64_t>* perm) {
  const Value* in = n.inputs.empty() ? nullptr : n.inputs[0];
  if (!in || !in->type.has_shape) return false;
  const int64_t rank = in->type.rank();
  if (n.has_attr("perm")) {
    *perm = n.attr_ints("perm");
  } else {
    perm->resize(static_cast<size_t>(rank));
    std::iota(perm->rbegin(), perm->rend(), 0);
  }
  return static_cast<int64_t>(perm->size()) == rank;
}

bool is_identity_perm(const std::vector<int64_t>& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

class TransposeReshapePass final : public Pass {
 public:
  std::string_view name() const override { return "transpose_reshape"; }

  Status run(PassContext& ctx) override {
    for (Node* n : ctx.live_nodes()) {
      if (ctx.is_removed(n) || n->inputs.empty() || !n->inputs[0] || n->outputs.empty() ||
          !n->outputs[0])
        continue;
      if (n->op_type == "Transpose") {
        transpose(ctx, n);
      } else if (is_reshape_like(*n)) {
        reshape(ctx, n);
      }
    }
    return Status::ok();
  }

 private:
  void transpose(PassContext& ctx, Node* n) {
    Graph& g = ctx.graph();
    std::vector<int64_t> outer;
    if (!perm_of(*n, &outer)) return;
    if (is_identity_perm(outer)) {
      if (replace_value(g, n->outputs[0], n->inputs[0])) {
        ctx.remove(n);
        ctx.rewrite(fmt::format("removed {} (identity permutation)", n->describe()));
      }
      return;
    }
    Node* inner = producer_of(ctx, n->inputs[0], "Transpose");
    std::vector<int64_t> first;
    if (!inner || !perm_of(*inner, &first)) return;
    // out[i] = mid[outer[i]], mid[j] = x[first[j]]  =>  out[i] = x[first[outer[i]]]
    std::vector<int64_t> composed(outer.size());
    for (size_t i = 0; i < outer.size(); ++i) composed[i] = first[static_cast<size_t>(outer[i])];
    const bool inner_dies = sole_consumer(inner->outputs[0]) == n;
    if (is_identity_perm(composed)) {
      if (!replace_value(g, n->outputs[0], inner->inputs[0])) {
        ctx.skip(fmt::format("{} + {} cancel but join a graph input to a graph output",
                             inner->describe(), n->describe()));
        return;
      }
      ctx.remove(n);
      if (inner_dies) ctx.remove(inner);
      ctx.rewrite(
          fmt::format("removed {} + {} (permutations cancel)", inner->describe(), n->describe()));
      return;
    }
    set_input(n, 0, inner->inputs[0]);
    n->attrs["perm"].kind = Attribute::Kind::kInts;
    n->attrs["perm"].ints = composed;
    const std::string old = n->describe();
    if (inner_dies) {
      n->name = fused_name(*inner, *n);
      ctx.remove(inner);
    }
    ctx.rewrite(fmt::format("merged {} into {} (one Transpose)", inner->describe(), old));
  }

  void reshape(PassContext& ctx, Node* n) {
    if (ctx.opset() < 5) return;  // Reshape takes its shape as an input from opset 5
    Graph& g = ctx.graph();
    Value* out = n->outputs[0];
    if (!out || !out->type.has_shape || !shape_is_static(out->type.shape)) return;
    Node* inner = producer_of(ctx, n->inputs[0]);
    if (!inner || !is_reshape_like(*inner)) return;
    const Dims dims = static_dims(out->type.shape);
    const bool has_zero = std::find(dims.begin(), dims.end(), 0) != dims.end();
    if (has_zero && ctx.opset() < 14) {
      ctx.skip(fmt::format("{} + {}: a zero-sized target needs Reshape's allowzero (opset 14)",
                           inner->describe(), n->describe()));
      return;
    }
    const bool inner_dies = sole_consumer(inner->outputs[0]) == n;
    // One Reshape from the chain's input to the static final shape.
    Value* shape =
        new_initializer(g, out->name + "_shape",
                        Tensor::from_vector<int64_t>(std::vector<int64_t>(dims.begin(), dims.end()),
                                                     {static_cast<int64_t>(dims.size())}));
    const std::string old = n->describe();
    set_input(n, 0, inner->inputs[0]);
    if (n->inputs.size() < 2) n->inputs.resize(2, nullptr);
    for (size_t i = 1; i < n->inputs.size(); ++i) set_input(n, i, nullptr);
    n->inputs.resize(2);
    set_input(n, 1, shape);
    n->op_type = "Reshape";
    n->attrs.clear();
    if (has_zero) {  // a literal 0 must mean "size 0", not "copy the input's dim"
      n->attrs["allowzero"].kind = Attribute::Kind::kInt;
      n->attrs["allowzero"].i = 1;
    }
    if (inner_dies) {
      n->name = fused_name(*inner, *n);
      ctx.remove(inner);
    }
    ctx.rewrite(fmt::format("collapsed {} + {} into one Reshape to {}", inner->describe(), old,
                            dims_to_string(dims)));
  }
};

}  // namespace

std::unique_ptr<Pass> make_transpose_reshape_pass() {
  return std::make_unique<TransposeReshapePass>();
}

}  // namespace tarmac
