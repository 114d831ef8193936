// CPU kernels for the unary elementwise ops: math functions and activations.
// float16/bfloat16 are computed in float32; float32 in float32; float64 in float64.
#include <cmath>

#include <Eigen/Core>

#include "backends/cpu/elementwise_util.h"

namespace tarmac {

using namespace elementwise;  // NOLINT(build/namespaces): private helpers of this family

namespace {

enum class Allowed { kFloat, kSignedNumeric, kNumeric };

Status check_unary(const KernelContext& ctx, Allowed allowed) {
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects 1 input");
  const DType t = ctx.input(0).dtype();
  const bool ok = allowed == Allowed::kFloat           ? is_floating(t)
                  : allowed == Allowed::kSignedNumeric ? is_signed_numeric(t)
                                                       : is_numeric(t);
  if (!ok) {
    return node_error(ctx.node, "input has dtype {}, which this op does not support{}",
                      dtype_name(t),
                      allowed == Allowed::kFloat ? " (floating-point types only)" : "");
  }
  return Status::ok();
}

/// y = op(x) in the compute type; `op` is a generic lambda over float/double (and over the
/// integer types when `allowed` admits them).
template <Allowed kAllowed, typename Op>
Status unary(KernelContext& ctx, int64_t grain, Op op) {
  TARMAC_RETURN_IF_ERROR(check_unary(ctx, kAllowed));
  const Tensor& x = ctx.input(0);
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      using C = compute_t<T>;
      unary_map<T, T>(x, y, grain, [&](T v) { return store<T>(static_cast<C>(op(load(v)))); });
    } else if constexpr (kIsInt<T> && kAllowed != Allowed::kFloat) {
      unary_map<T, T>(x, y, grain, [&](T v) { return static_cast<T>(op(v)); });
    }
  });
  return Status::ok();
}

/// float32 fast path: `op` maps an Eigen array chunk to its result with Eigen's vectorised
/// transcendental functions (scalar libm calls dominated SiLU-heavy detectors). Other dtypes
/// fall back to `scalar`.
template <typename EigenOp, typename ScalarOp>
Status unary_vectorized(KernelContext& ctx, EigenOp op, ScalarOp scalar) {
  if (ctx.has_input(0) && ctx.input(0).dtype() == DType::kFloat32) {
    const Tensor& x = ctx.input(0);
    TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
    const float* src = x.data<float>();
    float* dst = y->data<float>();
    parallel_for(x.numel(), kGrainCostly, [&](int64_t b, int64_t e) {
      Eigen::Map<const Eigen::ArrayXf> in(src + b, e - b);
      Eigen::Map<Eigen::ArrayXf> out(dst + b, e - b);
      out = op(in);
    });
    return Status::ok();
  }
  return unary<Allowed::kFloat>(ctx, kGrainCostly, scalar);
}

template <typename C>
C sigmoid(C x) {
  // Two branches keep exp() from overflowing for large |x|.
  if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
  const C e = std::exp(x);
  return e / (C(1) + e);
}

}  // namespace

Status cpu_Abs(KernelContext& ctx) {
  return unary<Allowed::kNumeric>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      return std::abs(x);
    } else if constexpr (std::is_signed_v<C>) {
      return x < 0 ? wrap_neg(x) : x;
    } else {
      return x;
    }
  });
}

Status cpu_Neg(KernelContext& ctx) {
  return unary<Allowed::kSignedNumeric>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      return -x;
    } else {
      return wrap_neg(x);
    }
  });
}

Status cpu_Sign(KernelContext& ctx) {
  return unary<Allowed::kNumeric>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return x;
      return static_cast<C>((x > C(0)) - (x < C(0)));
    } else if constexpr (std::is_signed_v<C>) {
      return static_cast<C>((x > 0) - (x < 0));
    } else {
      return static_cast<C>(x != 0);
    }
  });
}

Status cpu_Relu(KernelContext& ctx) {
  // Integer inputs are allowed from opset 14; older models only carry float types anyway.
  return unary<Allowed::kSignedNumeric>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    return x > C(0) ? x : C(0);
  });
}

Status cpu_Ceil(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) { return std::ceil(x); });
}
Status cpu_Floor(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) { return std::floor(x); });
}
Status cpu_Round(KernelContext& ctx) {
  // nearbyint rounds half to even under the default rounding mode, as ONNX requires.
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) { return std::nearbyint(x); });
}
Status cpu_Reciprocal(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    return C(1) / x;
  });
}
Status cpu_Sqrt(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) { return std::sqrt(x); });
}
Status cpu_Exp(KernelContext& ctx) {
  return unary_vectorized(
      ctx, [](const auto& x) { return x.exp(); }, [](auto x) { return std::exp(x); });
}
Status cpu_Log(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) { return std::log(x); });
}
Status cpu_Cos(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) { return std::cos(x); });
}
Status cpu_Sin(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) { return std::sin(x); });
}
Status cpu_Tanh(KernelContext& ctx) {
  return unary_vectorized(
      ctx, [](const auto& x) { return x.tanh(); }, [](auto x) { return std::tanh(x); });
}
Status cpu_Erf(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) { return std::erf(x); });
}
Status cpu_Sigmoid(KernelContext& ctx) {
  // exp(-x) overflows to inf for x < -88, giving the correct limit 1 / (1 + inf) = 0.
  return unary_vectorized(
      ctx, [](const auto& x) { return (1.0f + (-x).exp()).inverse(); },
      [](auto x) { return sigmoid(x); });
}

Status cpu_Softplus(KernelContext& ctx) {
  // log(1 + e^x) rewritten so that neither branch overflows.
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) {
    using C = decltype(x);
    return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  });
}

Status cpu_Elu(KernelContext& ctx) {
  const float alpha = ctx.node.attr_float("alpha", 1.0f);
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * std::expm1(x) : x;
  });
}

Status cpu_Selu(KernelContext& ctx) {
  const float alpha = ctx.node.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.node.attr_float("gamma", 1.05070102214813232421875f);
  return unary<Allowed::kFloat>(ctx, kGrainCostly, [alpha, gamma](auto x) {
    using C = decltype(x);
    return x <= C(0) ? C(gamma) * (C(alpha) * std::exp(x) - C(alpha)) : C(gamma) * x;
  });
}

Status cpu_LeakyRelu(KernelContext& ctx) {
  const float alpha = ctx.node.attr_float("alpha", 0.01f);
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [alpha](auto x) {
    using C = decltype(x);
    return x < C(0) ? C(alpha) * x : x;
  });
}

Status cpu_HardSigmoid(KernelContext& ctx) {
  const float alpha = ctx.node.attr_float("alpha", 0.2f);
  const float beta = ctx.node.attr_float("beta", 0.5f);
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [alpha, beta](auto x) {
    using C = decltype(x);
    // NaN stays NaN (numpy's max/min), whatever the compiler's vector min/max do with it.
    if (x != x) return x;
    return std::max(C(0), std::min(C(1), C(alpha) * x + C(beta)));
  });
}

Status cpu_HardSwish(KernelContext& ctx) {
  return unary<Allowed::kFloat>(ctx, kGrainCheap, [](auto x) {
    using C = decltype(x);
    return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5)));
  });
}

Status cpu_Gelu(KernelContext& ctx) {
  const std::string approximate = ctx.node.attr_string("approximate", "none");
  if (approximate == "none") {
    return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) {
      using C = decltype(x);
      return C(0.5) * x * (C(1) + std::erf(x * C(0.70710678118654752440)));
    });
  }
  if (approximate == "tanh") {
    return unary<Allowed::kFloat>(ctx, kGrainCostly, [](auto x) {
      using C = decltype(x);
      const C inner = C(0.79788456080286535588) * (x + C(0.044715) * x * x * x);
      return C(0.5) * x * (C(1) + std::tanh(inner));
    });
  }
  return node_error(ctx.node, "attribute approximate is '{}', expected 'none' or 'tanh'",
                    approximate);
}

Status cpu_Not(KernelContext& ctx) {
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects 1 input");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kBool)
    return node_error(ctx.node, "input has dtype {}, expected bool", dtype_name(x.dtype()));
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kBool, x.dims()));
  unary_map<bool, bool>(x, y, kGrainCheap, [](bool v) { return !v; });
  return Status::ok();
}

}  // namespace tarmac
