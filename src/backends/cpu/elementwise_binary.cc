// CPU kernels for the binary elementwise ops: arithmetic, Pow, Mod, PRelu, comparisons and
// logic. All use numpy broadcasting; opset < 7 Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less
// use the legacy broadcast/axis attributes instead.
#include <cmath>
#include <limits>

#include "backends/cpu/elementwise_util.h"

namespace tarmac {

using namespace elementwise;  // NOLINT(build/namespaces): private helpers of this family

namespace {

enum class Accepts { kNumeric, kAny, kBool };

Status check_same_dtype(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    return node_error(node, "inputs have different dtypes {} and {}", dtype_name(a.dtype()),
                      dtype_name(b.dtype()));
  }
  return Status::ok();
}

Status check_accepts(const Node& node, DType t, Accepts accepts) {
  const bool ok = accepts == Accepts::kAny       ? t != DType::kUndefined
                  : accepts == Accepts::kNumeric ? is_numeric(t)
                                                 : t == DType::kBool;
  if (!ok) {
    return node_error(node, "inputs have dtype {}, expected {}", dtype_name(t),
                      accepts == Accepts::kBool ? "bool" : "a numeric type");
  }
  return Status::ok();
}

/// z = op(x, y) on same-dtype numeric inputs; `op` takes and returns the compute type
/// (float32 for float16/bfloat16).
template <typename Op>
Status arithmetic(KernelContext& ctx, bool legacy_rule, int64_t grain, Op op) {
  TARMAC_ASSIGN_OR_RETURN(BinaryOperands p, binary_operands(ctx, legacy_rule));
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx.node, p.a, p.b));
  TARMAC_RETURN_IF_ERROR(check_accepts(ctx.node, p.a.dtype(), Accepts::kNumeric));
  TARMAC_ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(0, p.a.dtype(), p.out));
  dispatch_all(p.a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsNumeric<T>) {
      binary_map<T, T, T>(p.a, p.b, z, grain,
                          [&](T x, T y) { return store<T>(op(load(x), load(y))); });
    }
  });
  return Status::ok();
}

/// Bool-valued z = op(x, y) for comparisons and logic.
template <Accepts kAccepts, typename Op>
Status predicate(KernelContext& ctx, bool legacy_rule, Op op) {
  TARMAC_ASSIGN_OR_RETURN(BinaryOperands p, binary_operands(ctx, legacy_rule));
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx.node, p.a, p.b));
  TARMAC_RETURN_IF_ERROR(check_accepts(ctx.node, p.a.dtype(), kAccepts));
  TARMAC_ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(0, DType::kBool, p.out));
  dispatch_all(p.a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kAccepts != Accepts::kBool || std::is_same_v<T, bool>) {
      binary_map<T, T, bool>(p.a, p.b, z, kGrainCheap,
                             [&](T x, T y) { return static_cast<bool>(op(load(x), load(y))); });
    }
  });
  return Status::ok();
}

/// Double to integer for Pow with an integer base: truncation like a C cast, but defined for
/// NaN (0) and out-of-range values (saturated).
template <typename T>
T double_to_int(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

/// Integer power by squaring, wrapping on overflow like repeated multiplication would;
/// a negative exponent truncates 1 / x^|e| toward zero.
template <typename T>
T int_pow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (e % 2 == 0) ? T{1} : T{-1};
    }
    return 0;  // includes 0^negative, which has no integer value
  }
  T result = 1;
  while (e > 0) {
    if (e & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    e >>= 1;
  }
  return result;
}

/// Pow with base type T and exponent storage type E (int64, float or double after promotion).
template <typename T, typename E>
void pow_typed(const Tensor& a, const Tensor& b, Tensor* z) {
  if constexpr (kIsFloat<T>) {
    using C = std::conditional_t<std::is_same_v<E, double>, double, compute_t<T>>;
    if (b.numel() == 1 && static_cast<double>(b.data<E>()[0]) == 2.0) {
      // x^2 is the common case (variance, norms); x*x is exact where pow() may not be fast.
      unary_map<T, T>(a, z, kGrainCheap, [](T x) {
        const C v = static_cast<C>(load(x));
        return store<T>(static_cast<compute_t<T>>(v * v));
      });
      return;
    }
    binary_map<T, E, T>(a, b, z, kGrainCostly, [](T x, E y) {
      return store<T>(
          static_cast<compute_t<T>>(std::pow(static_cast<C>(load(x)), static_cast<C>(y))));
    });
  } else if constexpr (std::is_same_v<E, int64_t>) {
    binary_map<T, E, T>(a, b, z, kGrainCostly, [](T x, E y) { return int_pow<T>(x, y); });
  } else {
    binary_map<T, E, T>(a, b, z, kGrainCostly, [](T x, E y) {
      return double_to_int<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
    });
  }
}

}  // namespace

Status cpu_Add(KernelContext& ctx) {
  return arithmetic(ctx, true, kGrainCheap, [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return wrap_add(x, y);
    } else {
      return x + y;
    }
  });
}

Status cpu_Sub(KernelContext& ctx) {
  return arithmetic(ctx, true, kGrainCheap, [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return wrap_sub(x, y);
    } else {
      return x - y;
    }
  });
}

Status cpu_Mul(KernelContext& ctx) {
  return arithmetic(ctx, true, kGrainCheap, [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return wrap_mul(x, y);
    } else {
      return x * y;
    }
  });
}

Status cpu_Div(KernelContext& ctx) {
  return arithmetic(ctx, true, kGrainCheap, [](auto x, auto y) {
    if constexpr (std::is_integral_v<decltype(x)>) {
      return int_div(x, y);
    } else {
      return x / y;
    }
  });
}

Status cpu_Mod(KernelContext& ctx) {
  const int64_t fmod = ctx.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1)
    return node_error(ctx.node, "attribute fmod is {}, expected 0 or 1", fmod);
  if (fmod == 1) {
    return arithmetic(ctx, false, kGrainCheap, [](auto x, auto y) {
      if constexpr (std::is_integral_v<decltype(x)>) {
        return int_rem(x, y);
      } else {
        return std::fmod(x, y);
      }
    });
  }
  // fmod=0 on floats is outside the spec; numpy's mod (sign of the divisor) is the natural
  // reading, so it is computed rather than refused.
  return arithmetic(ctx, false, kGrainCheap, [](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_integral_v<C>) {
      return int_mod(x, y);
    } else {
      C r = std::fmod(x, y);
      if (r != C(0) && ((r < C(0)) != (y < C(0)))) r += y;
      return r;
    }
  });
}

Status cpu_Pow(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(BinaryOperands p, binary_operands(ctx, true));
  TARMAC_RETURN_IF_ERROR(check_accepts(ctx.node, p.a.dtype(), Accepts::kNumeric));
  TARMAC_RETURN_IF_ERROR(check_accepts(ctx.node, p.b.dtype(), Accepts::kNumeric));
  // Exponents are promoted to one of three types so the base x exponent product stays small:
  // integers to int64 (exact integer powers), float64 stays, other floats become float32.
  const DType bt = p.b.dtype();
  const DType et = is_integer(bt)          ? DType::kInt64
                   : bt == DType::kFloat64 ? DType::kFloat64
                                           : DType::kFloat32;
  if (bt != et) p.b = p.b.cast(et);
  TARMAC_ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(0, p.a.dtype(), p.out));
  dispatch_all(p.a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsNumeric<T>) {
      if (et == DType::kInt64) {
        pow_typed<T, int64_t>(p.a, p.b, z);
      } else if (et == DType::kFloat64) {
        pow_typed<T, double>(p.a, p.b, z);
      } else {
        pow_typed<T, float>(p.a, p.b, z);
      }
    }
  });
  return Status::ok();
}

Status cpu_PRelu(KernelContext& ctx) {
  if (ctx.num_inputs() < 2 || !ctx.has_input(0) || !ctx.has_input(1))
    return node_error(ctx.node, "expects 2 inputs (X, slope)");
  const Tensor& x = ctx.input(0);
  Tensor slope = ctx.input(1);
  TARMAC_RETURN_IF_ERROR(check_same_dtype(ctx.node, x, slope));
  TARMAC_RETURN_IF_ERROR(check_accepts(ctx.node, x.dtype(), Accepts::kNumeric));
  if (ctx.opset < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.numel() > 1 &&
      slope.numel() == x.dim(1)) {
    // Before opset 7 a 1-D slope holds one value per channel (dim 1), not per last dim.
    Dims d(static_cast<size_t>(x.rank() - 1), 1);
    d[0] = slope.numel();
    slope = slope.reshaped(d);
  }
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_dims(ctx.node, {x.dims(), slope.dims()}));
  if (out != x.dims()) {
    return node_error(ctx.node, "slope of shape {} does not broadcast to X of shape {}",
                      dims_to_string(slope.dims()), dims_to_string(x.dims()));
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out));
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      binary_map<T, T, T>(x, slope, y, kGrainCheap, [](T v, T s) {
        const auto c = load(v);
        return c < 0 ? store<T>(load(s) * c) : v;
      });
    } else if constexpr (kIsInt<T> && std::is_signed_v<T>) {
      binary_map<T, T, T>(x, slope, y, kGrainCheap,
                          [](T v, T s) { return v < 0 ? wrap_mul(s, v) : v; });
    } else if constexpr (kIsInt<T>) {
      binary_map<T, T, T>(x, slope, y, kGrainCheap, [](T v, T) { return v; });
    }
  });
  return Status::ok();
}

Status cpu_Equal(KernelContext& ctx) {
  return predicate<Accepts::kAny>(ctx, true, [](auto x, auto y) { return x == y; });
}
Status cpu_Greater(KernelContext& ctx) {
  return predicate<Accepts::kNumeric>(ctx, true, [](auto x, auto y) { return x > y; });
}
Status cpu_GreaterOrEqual(KernelContext& ctx) {
  return predicate<Accepts::kNumeric>(ctx, false, [](auto x, auto y) { return x >= y; });
}
Status cpu_Less(KernelContext& ctx) {
  return predicate<Accepts::kNumeric>(ctx, true, [](auto x, auto y) { return x < y; });
}
Status cpu_LessOrEqual(KernelContext& ctx) {
  return predicate<Accepts::kNumeric>(ctx, false, [](auto x, auto y) { return x <= y; });
}
Status cpu_And(KernelContext& ctx) {
  return predicate<Accepts::kBool>(ctx, true, [](bool x, bool y) { return x && y; });
}
Status cpu_Or(KernelContext& ctx) {
  return predicate<Accepts::kBool>(ctx, true, [](bool x, bool y) { return x || y; });
}
Status cpu_Xor(KernelContext& ctx) {
  return predicate<Accepts::kBool>(ctx, true, [](bool x, bool y) { return x != y; });
}

}  // namespace tarmac
