// Folds an inference BatchNormalization into the Conv, ConvTranspose or Gemm feeding it:
//   y = (conv(x) - mean) * scale / sqrt(var + eps) + B  =  conv'(x)
// with every output channel's weights multiplied by s = scale / sqrt(var + eps) and the bias
// replaced by bias * s + (B - mean * s). The folded weights are new initializers: the old ones
// may be shared with other nodes. Arithmetic is done in double and stored in the weight's dtype.
#include <cmath>

#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac {

namespace {

/// Per-channel affine map of an inference BatchNormalization: y = x * scale + shift.
struct ChannelAffine {
  std::vector<double> scale, shift;
};

bool is_float_dtype(DType t) {
  return t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kFloat16 ||
         t == DType::kBFloat16;
}

/// Why the BatchNormalization `bn` cannot be folded as a per-channel affine map over
/// `channels` channels (empty when it can; `out` is then filled).
std::string bn_affine(const PassContext& ctx, const Node& bn, int64_t channels,
                      ChannelAffine* out) {
  if (!bn.domain.empty()) return "it is not a standard ONNX node";
  if (bn.num_inputs() < 5) return "it has fewer than 5 inputs";
  if (ctx.opset() >= 14 && bn.attr_int("training_mode", 0) != 0) return "training_mode is set";
  if (ctx.opset() < 7 && bn.attr_int("is_test", 0) == 0)
    return "is_test=0 (training mode before opset 7)";
  if (ctx.opset() < 9 && bn.attr_int("spatial", 1) == 0)
    return "spatial=0 (statistics per element, not per channel)";
  for (size_t i = 1; i < bn.outputs.size(); ++i)
    if (bn.outputs[i] && num_uses(bn.outputs[i]) > 0)
      return fmt::format("its training output {} '{}' is used", i, bn.outputs[i]->name);
  const char* names[] = {"X", "scale", "B", "mean", "var"};
  const Tensor* t[5] = {};
  for (size_t i = 1; i < 5; ++i) {
    t[i] = constant_of(bn.inputs[i]);
    if (!t[i]) return fmt::format("{} '{}' is not constant", names[i], bn.inputs[i]->name);
    if (!is_float_dtype(t[i]->dtype()))
      return fmt::format("{} has dtype {}", names[i], dtype_name(t[i]->dtype()));
    if (t[i]->numel() != channels || t[i]->rank() != 1)
      return fmt::format("{} has shape {} but the producer has {} output channels", names[i],
                         dims_to_string(t[i]->dims()), channels);
  }
  const double eps = bn.attr_float("epsilon", 1e-5f);
  out->scale.resize(static_cast<size_t>(channels));
  out->shift.resize(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double var = t[4]->as_double(c);
    if (!(var + eps > 0)) return fmt::format("var + epsilon is {} for channel {}", var + eps, c);
    const double s = t[1]->as_double(c) / std::sqrt(var + eps);
    out->scale[static_cast<size_t>(c)] = s;
    out->shift[static_cast<size_t>(c)] = t[2]->as_double(c) - t[3]->as_double(c) * s;
  }
  return {};
}

/// A float64 tensor of `dims`, for results computed before the cast to the weight's dtype.
Tensor f64(const Dims& dims) { return Tensor::zeros(DType::kFloat64, dims); }

/// The folded weights and bias of one producer, as float64; the caller casts them.
struct Folded {
  Tensor weight, bias;
  DType dtype = DType::kUndefined;
};

class ConvBnFoldingPass final : public Pass {
 public:
  std::string_view name() const override { return "conv_bn_folding"; }

  Status run(PassContext& ctx) override {
    for (Node* bn : ctx.live_nodes()) {
      if (bn->op_type != "BatchNormalization" || !bn->has_input(0) || bn->outputs.empty() ||
          !bn->outputs[0])
        continue;
      Node* p = producer_of(ctx, bn->inputs[0]);
      if (!p || (p->op_type != "Conv" && p->op_type != "ConvTranspose" && p->op_type != "Gemm"))
        continue;
      const std::string pair = fmt::format("{} + {} not folded: ", p->describe(), bn->describe());
      const std::string why = try_fold(ctx, p, bn);
      if (!why.empty()) ctx.skip(pair + why);
    }
    return Status::ok();
  }

 private:
  /// Folds `bn` into `p`; returns why not (changing nothing) or empty on success.
  static std::string try_fold(PassContext& ctx, Node* p, Node* bn) {
    if (!p->domain.empty()) return fmt::format("{} is an internal fused node", p->name);
    Value* y = p->outputs.empty() ? nullptr : p->outputs[0];
    if (!y) return fmt::format("{} has no output", p->name);
    if (sole_consumer(y) != bn) {
      if (y->is_graph_output) return fmt::format("{}'s output is a graph output", p->name);
      return fmt::format("{}'s output has {} consumers", p->name, num_uses(y));
    }
    if (!p->has_input(1)) return fmt::format("{} has no weight", p->name);
    const Tensor* w = constant_of(p->inputs[1]);
    if (!w) return fmt::format("weight '{}' is not constant", p->inputs[1]->name);
    if (!is_float_dtype(w->dtype()))
      return fmt::format("weight '{}' has dtype {}", p->inputs[1]->name, dtype_name(w->dtype()));
    const bool is_gemm = p->op_type == "Gemm";
    const size_t bias_index = 2;
    const Tensor* b = nullptr;
    if (p->has_input(bias_index)) {
      b = constant_of(p->inputs[bias_index]);
      if (!b)
        return fmt::format("{} '{}' is not constant", is_gemm ? "C" : "bias",
                           p->inputs[bias_index]->name);
      if (b->dtype() != w->dtype())
        return fmt::format("bias dtype {} differs from the weight's {}", dtype_name(b->dtype()),
                           dtype_name(w->dtype()));
    }
    Folded f;
    std::string why;
    if (p->op_type == "Conv") {
      why = fold_conv(ctx, *bn, *w, b, &f);
    } else if (p->op_type == "ConvTranspose") {
      why = fold_conv_transpose(ctx, *p, *bn, *w, b, &f);
    } else {
      why = fold_gemm(ctx, *p, *bn, *w, b, &f);
    }
    if (!why.empty()) return why;

    Graph& g = ctx.graph();
    Value* bn_out = bn->outputs[0];
    if (!replace_value(g, bn_out, y))
      return fmt::format("{}'s output cannot take over '{}'", p->name, bn_out->name);
    const std::string p_desc = p->describe();
    Value* new_w = new_initializer(g, p->inputs[1]->name + "_bn_folded", f.weight.cast(f.dtype));
    Value* new_b =
        new_initializer(g, (b ? p->inputs[bias_index]->name : p->name + "_bias") + "_bn_folded",
                        f.bias.cast(f.dtype));
    set_input(p, 1, new_w);
    if (p->inputs.size() <= bias_index) p->inputs.resize(bias_index + 1, nullptr);
    set_input(p, bias_index, new_b);
    if (is_gemm) {
      for (const char* a : {"alpha", "beta"}) {
        p->attrs[a].kind = Attribute::Kind::kFloat;
        p->attrs[a].f = 1.0f;
      }
    }
    p->name = fused_name(*p, *bn);
    ctx.remove(bn);
    ctx.rewrite(fmt::format("folded {} into {} (now {})", bn->describe(), p_desc, p->describe()));
    return {};
  }

  /// Bias of `m` channels scaled and shifted, as float64; `bias` may be null (zero).
  static Tensor folded_bias(const Tensor* bias, const ChannelAffine& a, int64_t m) {
    Tensor nb = f64({m});
    for (int64_t c = 0; c < m; ++c) {
      const double b0 = bias ? bias->as_double(c) : 0.0;
      nb.data<double>()[c] = b0 * a.scale[static_cast<size_t>(c)] + a.shift[static_cast<size_t>(c)];
    }
    return nb;
  }

  // Conv weight [M, C/group, k...]: output channel m scales row m.
  static std::string fold_conv(const PassContext& ctx, const Node& bn, const Tensor& w,
                               const Tensor* bias, Folded* f) {
    if (w.rank() < 3) return fmt::format("weight has rank {}, expected >= 3", w.rank());
    const int64_t m = w.dim(0);
    if (bias && bias->numel() != m)
      return fmt::format("bias has {} values for {} output channels", bias->numel(), m);
    ChannelAffine a;
    std::string why = bn_affine(ctx, bn, m, &a);
    if (!why.empty()) return why;
    const int64_t per = m == 0 ? 0 : w.numel() / m;
    f->weight = f64(w.dims());
    double* nw = f->weight.data<double>();
    for (int64_t c = 0; c < m; ++c)
      for (int64_t i = 0; i < per; ++i)
        nw[c * per + i] = w.as_double(c * per + i) * a.scale[static_cast<size_t>(c)];
    f->bias = folded_bias(bias, a, m);
    f->dtype = w.dtype();
    return {};
  }

  // ConvTranspose weight [C, M/group, k...]: input channel c belongs to group c / (C/group), and
  // its column j feeds output channel group * (M/group) + j.
  static std::string fold_conv_transpose(const PassContext& ctx, const Node& p, const Node& bn,
                                         const Tensor& w, const Tensor* bias, Folded* f) {
    if (w.rank() < 3) return fmt::format("weight has rank {}, expected >= 3", w.rank());
    const int64_t group = p.attr_int("group", 1);
    const int64_t cin = w.dim(0), mg = w.dim(1);
    if (group < 1 || cin % group != 0)
      return fmt::format("group {} does not divide {} input channels", group, cin);
    const int64_t m = group * mg;
    if (bias && bias->numel() != m)
      return fmt::format("bias has {} values for {} output channels", bias->numel(), m);
    ChannelAffine a;
    std::string why = bn_affine(ctx, bn, m, &a);
    if (!why.empty()) return why;
    const int64_t cg = cin / group;
    const int64_t kernel = (cin * mg) == 0 ? 0 : w.numel() / (cin * mg);
    f->weight = f64(w.dims());
    double* nw = f->weight.data<double>();
    for (int64_t c = 0; c < cin; ++c) {
      const int64_t gi = c / cg;
      for (int64_t j = 0; j < mg; ++j) {
        const double s = a.scale[static_cast<size_t>(gi * mg + j)];
        const int64_t base = (c * mg + j) * kernel;
        for (int64_t k = 0; k < kernel; ++k) nw[base + k] = w.as_double(base + k) * s;
      }
    }
    f->bias = folded_bias(bias, a, m);
    f->dtype = w.dtype();
    return {};
  }

  // Gemm Y = alpha * A' B' + beta * C with Y [M, N]: BN's channel axis 1 is N. alpha goes into
  // B and beta into C, so the folded node has alpha = beta = 1.
  static std::string fold_gemm(const PassContext& ctx, const Node& p, const Node& bn,
                               const Tensor& w, const Tensor* c, Folded* f) {
    if (ctx.opset() < 7) return "Gemm before opset 7 broadcasts C only with legacy rules";
    if (w.rank() != 2) return fmt::format("B has rank {}, expected 2", w.rank());
    const bool trans_b = p.attr_int("transB", 0) != 0;
    const int64_t n = trans_b ? w.dim(0) : w.dim(1);
    // C must be the same for every row: scalar, [1], [N], [1, 1] or [1, N].
    if (c) {
      const Dims& cd = c->dims();
      const int64_t last = cd.empty() ? 1 : cd.back();
      const bool row = cd.size() <= 1 || (cd.size() == 2 && cd[0] == 1);
      if (!row || (last != 1 && last != n))
        return fmt::format("C has shape {}, which is not one row broadcast over [M, {}]",
                           dims_to_string(cd), n);
    }
    ChannelAffine a;
    std::string why = bn_affine(ctx, bn, n, &a);
    if (!why.empty()) return why;
    const double alpha = p.attr_float("alpha", 1.0f);
    const double beta = p.attr_float("beta", 1.0f);
    f->weight = f64(w.dims());
    double* nw = f->weight.data<double>();
    for (int64_t r = 0; r < w.dim(0); ++r)
      for (int64_t q = 0; q < w.dim(1); ++q) {
        const int64_t col = trans_b ? r : q;  // the N index of B[r, q]
        nw[r * w.dim(1) + q] =
            w.as_double(r * w.dim(1) + q) * alpha * a.scale[static_cast<size_t>(col)];
      }
    f->bias = f64({n});
    for (int64_t j = 0; j < n; ++j) {
      const double c0 = (c && beta != 0) ? beta * c->as_double(c->numel() == 1 ? 0 : j) : 0.0;
      f->bias.data<double>()[j] =
          c0 * a.scale[static_cast<size_t>(j)] + a.shift[static_cast<size_t>(j)];
    }
    f->dtype = w.dtype();
    return {};
  }
};

}  // namespace

std::unique_ptr<Pass> make_conv_bn_folding_pass() { return std::make_unique<ConvBnFoldingPass>(); }

}  // namespace tarmac
