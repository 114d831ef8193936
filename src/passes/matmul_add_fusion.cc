// Fuses MatMul followed by an Add of a constant bias:
//   A [M, K] (rank 2), B constant [K, N], bias broadcasting to [M, N]  ->  Gemm(A, B, bias)
//   anything else, when internal ops are allowed  ->  internal MatMul(A, B, bias) (domain
//   "tarmac"), valid when broadcasting the bias leaves the product's shape unchanged.
// Add is commutative, so the bias may be either Add input.
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

/// True when broadcasting `bias` against `out` (numpy rules) yields exactly `out`: the bias has
/// no more axes and each of its dims is 1 or provably equal to the aligned output dim.
bool broadcast_keeps_shape(const Dims& bias, const Shape& out) {
  if (bias.size() > out.size()) return false;
  const size_t off = out.size() - bias.size();
  for (size_t i = 0; i < bias.size(); ++i) {
    const Dim& o = out[off + i];
    if (bias[i] != 1 && !(o.is_static() && o.value == bias[i])) return false;
  }
  return true;
}

bool gemm_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16;
}

class MatmulAddFusionPass final : public Pass {
 public:
  std::string_view name() const override { return "matmul_add_fusion"; }

  Status run(PassContext& ctx) override {
    for (Node* add : ctx.live_nodes()) {
      if (add->op_type != "Add" || !add->domain.empty() || add->num_inputs() != 2 ||
          !add->has_input(0) || !add->has_input(1) || add->outputs.empty() || !add->outputs[0])
        continue;
      // The MatMul side: prefer the one whose other Add input is constant.
      Node* mm = nullptr;
      size_t bias_index = 0;
      for (size_t i = 0; i < 2; ++i) {
        Node* p = producer_of(ctx, add->inputs[i], "MatMul");
        if (!p || !p->domain.empty()) continue;
        if (!mm || (constant_of(add->inputs[1 - i]) && !constant_of(add->inputs[bias_index]))) {
          mm = p;
          bias_index = 1 - i;
        }
      }
      if (!mm) continue;
      const std::string why = try_fuse(ctx, mm, add, bias_index);
      if (!why.empty())
        ctx.skip(fmt::format("{} + {} not fused: {}", mm->describe(), add->describe(), why));
    }
    return Status::ok();
  }

 private:
  /// Fuses `mm` and `add` (whose input `bias_index` is the bias); returns why not (changing
  /// nothing) or empty on success.
  static std::string try_fuse(PassContext& ctx, Node* mm, Node* add, size_t bias_index) {
    Value* prod = mm->outputs.empty() ? nullptr : mm->outputs[0];
    if (!prod || !mm->has_input(0) || !mm->has_input(1)) return "the MatMul is incomplete";
    if (add->inputs[0] == add->inputs[1]) return "the Add adds the product to itself";
    if (sole_consumer(prod) != add) {
      if (prod->is_graph_output) return fmt::format("{}'s output is a graph output", mm->name);
      return fmt::format("{}'s output has {} consumers", mm->name, num_uses(prod));
    }
    Value* bias = add->inputs[bias_index];
    const Tensor* bt = constant_of(bias);
    if (!bt) return fmt::format("the bias '{}' is not constant", bias->name);
    if (bt->dtype() != prod->type.dtype)
      return fmt::format("the bias has dtype {} but the product has {}", dtype_name(bt->dtype()),
                         dtype_name(prod->type.dtype));
    if (!prod->type.has_shape) return "the product's shape is unknown";
    if (!broadcast_keeps_shape(bt->dims(), prod->type.shape))
      return fmt::format("bias of shape {} does not broadcast to the product's shape {}",
                         dims_to_string(bt->dims()), shape_to_string(prod->type.shape));

    const Value* a = mm->inputs[0];
    const Tensor* b = constant_of(mm->inputs[1]);
    std::string no_gemm;
    if (!a->type.has_shape) {
      no_gemm = "A's rank is unknown";
    } else if (a->type.rank() != 2) {
      no_gemm = fmt::format("A has rank {}", a->type.rank());
    } else if (!b) {
      no_gemm = fmt::format("B '{}' is not constant", mm->inputs[1]->name);
    } else if (b->rank() != 2) {
      no_gemm = fmt::format("B has rank {}", b->rank());
    } else if (!gemm_dtype(prod->type.dtype)) {
      no_gemm = fmt::format("dtype {}", dtype_name(prod->type.dtype));
    } else if (ctx.opset() < 7) {
      no_gemm = "opset < 7";
    }
    if (!no_gemm.empty() && !ctx.options().allow_internal_ops)
      return fmt::format(
          "{}; Gemm needs rank-2 A, constant rank-2 B and a float dtype at opset >= 7, and "
          "internal ops are off (sanitize mode)",
          no_gemm);

    Graph& g = ctx.graph();
    Value* out = add->outputs[0];
    if (!replace_value(g, out, prod))
      return fmt::format("{}'s output cannot take over '{}'", mm->name, out->name);
    const std::string mm_desc = mm->describe(), add_desc = add->describe();
    if (mm->inputs.size() < 3) mm->inputs.resize(3, nullptr);
    set_input(mm, 2, bias);
    std::string what;
    if (no_gemm.empty()) {
      mm->op_type = "Gemm";
      mm->attrs.clear();
      what = "Gemm";
    } else {
      mm->domain = std::string(kInternalDomain);
      what = fmt::format("internal MatMul with bias ({})", no_gemm);
    }
    mm->name = fused_name(*mm, *add);
    ctx.remove(add);
    ctx.rewrite(fmt::format("fused {} + {} into {} '{}'", mm_desc, add_desc, what, mm->name));
    return {};
  }
};

}  // namespace

std::unique_ptr<Pass> make_matmul_add_fusion_pass() {
  return std::make_unique<MatmulAddFusionPass>();
}

}  // namespace tarmac
