#include "backends/cpu/fused.h"

#include <Eigen/Core>

#include <algorithm>
#include <limits>

#include "backends/cpu/kernel.h"
#include "ir/fused_ops.h"

namespace tarmac {

namespace {

/// Float32 epilogue: Eigen's vectorized exp/logistic/tanh for the common activations (the same
/// math the unfused CPU kernels use), the scalar reference formula in float for the rest.
void activation_f32(Activation act, float* p, int64_t n, float alpha, float beta) {
  parallel_for(n, int64_t{1} << 14, [&](int64_t b, int64_t e) {
    Eigen::Map<Eigen::ArrayXf> a(p + b, e - b);
    switch (act) {
      case Activation::kSigmoid:
        a = a.logistic();
        return;
      case Activation::kSilu:
        a = a * a.logistic();
        return;
      case Activation::kTanh:
        a = a.tanh();
        return;
      default:
        for (int64_t i = b; i < e; ++i) p[i] = apply_activation<float>(act, p[i], alpha, beta);
    }
  });
}

Status apply_activation_inplace(const Node& node, Activation act, float alpha, float beta,
                                Tensor* t) {
  if (act == Activation::kNone) return Status::ok();
  if (!is_floating(t->dtype()))
    return node_error(node, "fused activation needs a floating-point output, got {}",
                      dtype_name(t->dtype()));
  if (t->dtype() == DType::kFloat32) {
    activation_f32(act, t->data<float>(), t->numel(), alpha, beta);
    return Status::ok();
  }
  dispatch_all(t->dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T> || std::is_same_v<T, Half> ||
                  std::is_same_v<T, BFloat16>) {
      using C = compute_t<T>;
      T* p = t->data<T>();
      parallel_for(t->numel(), int64_t{1} << 13, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          p[i] = store<T>(
              apply_activation<C>(act, load(p[i]), static_cast<C>(alpha), static_cast<C>(beta)));
      });
    }
  });
  return Status::ok();
}

class FusedCpuKernel final : public Kernel {
 public:
  FusedCpuKernel(const Node& node, int64_t opset, Activation act)
      : node_(node), opset_(opset), act_(act) {
    base_ = find_cpu_kernel(node.op_type);
    // The recognized ops keep the semantics of the opset that introduced them.
    if (node.op_type == "LayerNormalization") opset_ = std::max<int64_t>(opset, 17);
    if (node.op_type == "Gelu") opset_ = std::max<int64_t>(opset, 20);
    alpha_ = node.attr_float("activation_alpha", act == Activation::kLeakyRelu ? 0.01f : 0.f);
    beta_ = node.attr_float("activation_beta", 0.f);
    if (act == Activation::kClip) {  // absent bounds do not clip
      alpha_ = node.attr_float("activation_alpha", -std::numeric_limits<float>::infinity());
      beta_ = node.attr_float("activation_beta", std::numeric_limits<float>::infinity());
    }
    if (act == Activation::kHardSigmoid && !node.has_attr("activation_alpha")) alpha_ = 0.2f;
    if (act == Activation::kHardSigmoid && !node.has_attr("activation_beta")) beta_ = 0.5f;
    add_.op_type = "Add";
    add_.name = node.name;
    add_.outputs.resize(1);
    nhwc_ = is_nhwc_node(node);
    for (auto [perm, p] : {std::pair{&to_nchw_, Dims{0, 3, 1, 2}}, {&to_nhwc_, Dims{0, 2, 3, 1}}}) {
      perm->op_type = "Transpose";
      perm->name = node.name;
      perm->outputs.resize(1);
      Attribute a;
      a.kind = Attribute::Kind::kInts;
      a.ints = p;
      perm->attrs["perm"] = a;
    }
  }

  Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) override {
    if (nhwc_) return run_nhwc(inputs, outputs);
    return run_nchw(inputs, outputs);
  }

 private:
  /// Channels-last Conv / ConvTranspose (ir/fused_ops.h): the reference permutes X, W and the
  /// residual to the ONNX layout, runs the NCHW path and permutes Y back.
  Status run_nhwc(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) {
    std::vector<Tensor> nchw;
    nchw.reserve(inputs.size());
    std::vector<const Tensor*> ptrs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const bool permute = inputs[i] && (i == 0 || i == 1 || i == 3);
      if (!permute) {
        ptrs.push_back(inputs[i]);
        continue;
      }
      if (inputs[i]->rank() != 4)
        return node_error(node_, "the NHWC layout needs 4-D tensors, input {} is {}", i,
                          dims_to_string(inputs[i]->dims()));
      TARMAC_ASSIGN_OR_RETURN(Tensor t, transpose(*inputs[i], to_nchw_));
      nchw.push_back(std::move(t));
      ptrs.push_back(&nchw.back());
    }
    std::vector<Tensor> outs;
    TARMAC_RETURN_IF_ERROR(run_nchw(ptrs, &outs));
    TARMAC_ASSIGN_OR_RETURN(Tensor y, transpose(outs[0], to_nhwc_));
    outs[0] = std::move(y);
    *outputs = std::move(outs);
    return Status::ok();
  }

  static StatusOr<Tensor> transpose(const Tensor& t, const Node& perm) {
    static const CpuKernelFn fn = find_cpu_kernel("Transpose");
    KernelContext ctx{perm, 13, {&t}, std::vector<Tensor>(1)};
    TARMAC_RETURN_IF_ERROR(fn(ctx));
    return std::move(ctx.outputs[0]);
  }

  Status run_nchw(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) {
    const bool has_bias = node_.op_type == "MatMul" && inputs.size() > 2 && inputs[2];
    KernelContext ctx{node_, opset_, inputs, std::vector<Tensor>(node_.outputs.size())};
    if (node_.op_type == "MatMul") ctx.inputs.resize(std::min<size_t>(inputs.size(), 2));
    // Conv's input 3 is the residual, added after the bias (ir/fused_ops.h).
    const Tensor* residual = node_.op_type == "Conv" && inputs.size() > 3 ? inputs[3] : nullptr;
    if (node_.op_type == "Conv") ctx.inputs.resize(std::min<size_t>(inputs.size(), 3));
    while (!ctx.inputs.empty() && ctx.inputs.back() == nullptr) ctx.inputs.pop_back();
    TARMAC_RETURN_IF_ERROR(base_(ctx));
    if (has_bias) {
      KernelContext add{add_, 14, {&ctx.outputs[0], inputs[2]}, std::vector<Tensor>(1)};
      TARMAC_RETURN_IF_ERROR(cpu_add(add));
      if (add.outputs[0].dims() != ctx.outputs[0].dims())
        return node_error(node_, "bias {} does not broadcast to the product {}",
                          dims_to_string(inputs[2]->dims()), dims_to_string(ctx.outputs[0].dims()));
      ctx.outputs[0] = std::move(add.outputs[0]);
    }
    if (residual) {
      if (residual->dims() != ctx.outputs[0].dims() || residual->dtype() != ctx.outputs[0].dtype())
        return node_error(node_, "residual {} {} does not match the output {} {}",
                          dtype_name(residual->dtype()), dims_to_string(residual->dims()),
                          dtype_name(ctx.outputs[0].dtype()),
                          dims_to_string(ctx.outputs[0].dims()));
      KernelContext add{add_, 14, {&ctx.outputs[0], residual}, std::vector<Tensor>(1)};
      TARMAC_RETURN_IF_ERROR(cpu_add(add));
      ctx.outputs[0] = std::move(add.outputs[0]);
    }
    TARMAC_RETURN_IF_ERROR(apply_activation_inplace(node_, act_, alpha_, beta_, &ctx.outputs[0]));
    *outputs = std::move(ctx.outputs);
    return Status::ok();
  }

  static Status cpu_add(KernelContext& ctx) {
    static const CpuKernelFn fn = find_cpu_kernel("Add");
    return fn(ctx);
  }

  const Node& node_;
  int64_t opset_;
  Activation act_;
  float alpha_ = 0, beta_ = 0;
  CpuKernelFn base_ = nullptr;
  Node add_;
  bool nhwc_ = false;
  Node to_nchw_, to_nhwc_;  // Transpose nodes carrying the permutations
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> make_fused_cpu_kernel(const Node& node, int64_t opset) {
  TARMAC_ASSIGN_OR_RETURN(Activation act, activation_of(node));
  if (act != Activation::kNone && !takes_activation(node.op_type))
    return node_error(node, "{} cannot carry a fused activation", node.op_type);
  if (!find_cpu_kernel(node.op_type)) return node_error(node, "no CPU kernel");
  return std::unique_ptr<Kernel>(new FusedCpuKernel(node, opset, act));
}

}  // namespace tarmac
