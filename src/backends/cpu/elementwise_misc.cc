// CPU kernels for the remaining elementwise ops: casts, Clip, Dropout, Identity, Where and the
// variadic Sum/Mean/Max/Min.
#include <cmath>
#include <limits>

#include "backends/cpu/elementwise_util.h"

namespace tarmac {

/// Target dtype of a Cast node ('to' as a TensorProto type number, or as a type name before
/// opset 6). Defined with the shape inference in src/ir/infer/elementwise.cc.
StatusOr<DType> cast_target_dtype(const Node& node);

using namespace elementwise;  // NOLINT(build/namespaces): private helpers of this family

namespace {

Status set_output(KernelContext& ctx, size_t i, Tensor t) {
  if (i >= ctx.outputs.size())
    return internal_error("{}: output {} out of range", ctx.node.describe(), i);
  ctx.outputs[i] = std::move(t);
  return Status::ok();
}

Status cast_kernel(KernelContext& ctx, DType to) {
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects an input");
  const Tensor& x = ctx.input(0);
  if (x.dtype() == to) return set_output(ctx, 0, x);
  // Tensor::cast allocates without a size check, so refuse what allocate_output would refuse.
  const unsigned __int128 bytes =
      static_cast<unsigned __int128>(x.numel()) * static_cast<unsigned __int128>(dtype_size(to));
  if (bytes > max_host_allocation_bytes()) {
    return resource_exhausted("{}: casting {} elements to {} exceeds the allocation limit",
                              ctx.node.describe(), x.numel(), dtype_name(to));
  }
  return set_output(ctx, 0, x.cast(to));
}

/// Bound of Clip from an input (opset >= 11); nullopt when absent.
StatusOr<const Tensor*> clip_bound(const KernelContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return static_cast<const Tensor*>(nullptr);
  const Tensor& t = ctx.input(i);
  if (t.dtype() != ctx.input(0).dtype()) {
    return node_error(ctx.node, "{} has dtype {} but input has {}", what, dtype_name(t.dtype()),
                      dtype_name(ctx.input(0).dtype()));
  }
  if (t.numel() != 1) {
    return node_error(ctx.node, "{} must be a scalar, got shape {}", what,
                      dims_to_string(t.dims()));
  }
  return &t;
}

template <typename T>
void clip_typed(const Tensor& x, Tensor* y, bool has_lo, double lo_d, const Tensor* lo_t,
                bool has_hi, double hi_d, const Tensor* hi_t) {
  using C = compute_t<T>;
  C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
  if (lo_t) lo = load(lo_t->data<T>()[0]);
  if (hi_t) hi = load(hi_t->data<T>()[0]);
  if (has_lo && !lo_t) lo = static_cast<C>(lo_d);
  if (has_hi && !hi_t) hi = static_cast<C>(hi_d);
  // Comparisons written so NaN inputs stay NaN; with lo > hi every value becomes hi (spec).
  unary_map<T, T>(x, y, kGrainCheap, [lo, hi](T v) {
    C c = load(v);
    c = c < lo ? lo : c;
    c = c > hi ? hi : c;
    return store<T>(c);
  });
}

enum class Reduce { kSum, kMean, kMax, kMin };

template <typename T>
void variadic_typed(const KernelContext& ctx, Reduce op, Tensor* y, Tensor* scratch) {
  using C = compute_t<T>;
  const Dims& out = y->dims();
  // float16/bfloat16 accumulate in a float32 scratch tensor, other types in the output itself.
  C* acc = scratch ? scratch->data<C>() : reinterpret_cast<C*>(y->data<T>());
  const Tensor& first = ctx.input(0);
  const T* x0 = first.data<T>();
  for_each_broadcast<1>(out, {&first.dims()}, kGrainCheap,
                        [&](int64_t o, const std::array<int64_t, 1>& off,
                            const std::array<int64_t, 1>& st, int64_t n) {
                          for (int64_t i = 0; i < n; ++i) acc[o + i] = load(x0[off[0] + i * st[0]]);
                        });
  for (size_t k = 1; k < ctx.num_inputs(); ++k) {
    const Tensor& in = ctx.input(k);
    const T* xk = in.data<T>();
    for_each_broadcast<2>(out, {&out, &in.dims()}, kGrainCheap,
                          [&](int64_t o, const std::array<int64_t, 2>& off,
                              const std::array<int64_t, 2>& st, int64_t n) {
                            const T* src = xk + off[1];
                            const int64_t s = st[1];
                            C* dst = acc + o;
                            switch (op) {
                              case Reduce::kSum:
                              case Reduce::kMean:
                                for (int64_t i = 0; i < n; ++i) {
                                  if constexpr (std::is_integral_v<C>) {
                                    dst[i] = wrap_add(dst[i], static_cast<C>(load(src[i * s])));
                                  } else {
                                    dst[i] += load(src[i * s]);
                                  }
                                }
                                break;
                              case Reduce::kMax:
                                for (int64_t i = 0; i < n; ++i)
                                  dst[i] = nan_max<C>(dst[i], load(src[i * s]));
                                break;
                              case Reduce::kMin:
                                for (int64_t i = 0; i < n; ++i)
                                  dst[i] = nan_min<C>(dst[i], load(src[i * s]));
                                break;
                            }
                          });
  }
  const int64_t total = num_elements(out);
  if (op == Reduce::kMean) {
    const C count = static_cast<C>(ctx.num_inputs());
    parallel_for(total, kGrainCheap, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) acc[i] = acc[i] / count;
    });
  }
  if (scratch) {
    T* dst = y->data<T>();
    parallel_for(total, kGrainCheap, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = store<T>(acc[i]);
    });
  }
}

Status variadic(KernelContext& ctx, Reduce op) {
  if (ctx.num_inputs() == 0) return node_error(ctx.node, "expects at least 1 input");
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return node_error(ctx.node, "input {} is missing", i);
    ins.push_back(&ctx.input(i));
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
      return node_error(ctx.node, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(ctx.input(i).dtype()), dtype_name(ctx.input(0).dtype()));
    }
  }
  const DType t = ctx.input(0).dtype();
  if (op == Reduce::kMean ? !is_floating(t) : !is_numeric(t)) {
    return node_error(ctx.node, "inputs have dtype {}, expected {}", dtype_name(t),
                      op == Reduce::kMean ? "a floating-point type" : "a numeric type");
  }
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_of(ctx.node, ins));
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, t, out));
  Tensor scratch;
  if (t == DType::kFloat16 || t == DType::kBFloat16) {
    TARMAC_ASSIGN_OR_RETURN(scratch, Tensor::create(DType::kFloat32, out));
  }
  dispatch_all(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsNumeric<T>)
      variadic_typed<T>(ctx, op, y, scratch.defined() ? &scratch : nullptr);
  });
  return Status::ok();
}

}  // namespace

Status cpu_Cast(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(DType to, cast_target_dtype(ctx.node));
  return cast_kernel(ctx, to);
}

Status cpu_CastLike(KernelContext& ctx) {
  if (!ctx.has_input(1)) return node_error(ctx.node, "expects 2 inputs (input, target_type)");
  return cast_kernel(ctx, ctx.input(1).dtype());
}

Status cpu_Identity(KernelContext& ctx) {
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects 1 input");
  return set_output(ctx, 0, ctx.input(0));
}

Status cpu_Clip(KernelContext& ctx) {
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects an input");
  const Tensor& x = ctx.input(0);
  if (!is_numeric(x.dtype()))
    return node_error(ctx.node, "input has dtype {}, expected a numeric type",
                      dtype_name(x.dtype()));
  bool has_lo = false, has_hi = false;
  double lo_d = 0, hi_d = 0;
  const Tensor* lo_t = nullptr;
  const Tensor* hi_t = nullptr;
  if (ctx.opset < 11) {
    if (!is_floating(x.dtype())) {
      return node_error(ctx.node, "input has dtype {}; before opset 11 Clip takes floats only",
                        dtype_name(x.dtype()));
    }
    // Opset 6 gave the bounds defaults of -/+FLT_MAX; opset 1 left them unset (no clamp).
    const float flt_max = std::numeric_limits<float>::max();
    has_lo = ctx.node.has_attr("min") || ctx.opset >= 6;
    has_hi = ctx.node.has_attr("max") || ctx.opset >= 6;
    lo_d = ctx.node.attr_float("min", -flt_max);
    hi_d = ctx.node.attr_float("max", flt_max);
  } else {
    TARMAC_ASSIGN_OR_RETURN(lo_t, clip_bound(ctx, 1, "min"));
    TARMAC_ASSIGN_OR_RETURN(hi_t, clip_bound(ctx, 2, "max"));
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  dispatch_all(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsNumeric<T>) clip_typed<T>(x, y, has_lo, lo_d, lo_t, has_hi, hi_d, hi_t);
  });
  return Status::ok();
}

Status cpu_Dropout(KernelContext& ctx) {
  // Inference only: the output is the input. Before opset 7 the is_test attribute chose the
  // mode; an inference engine always runs the test mode, whatever the attribute says.
  if (!ctx.has_input(0)) return node_error(ctx.node, "expects an input");
  const Tensor& x = ctx.input(0);
  if (ctx.opset >= 12 && ctx.has_input(2)) {
    const Tensor& tm = ctx.input(2);
    if (tm.dtype() != DType::kBool || tm.numel() != 1)
      return node_error(ctx.node, "training_mode must be a bool scalar");
    if (tm.data<bool>()[0]) {
      // Training with ratio 0 keeps every element and is deterministic; other ratios need the
      // reference RNG, which an inference engine does not reproduce.
      double ratio = 0.5;  // the spec's default
      if (ctx.has_input(1)) ratio = ctx.input(1).numel() == 1 ? ctx.input(1).as_double(0) : -1.0;
      if (ratio != 0.0) {
        return node_error(ctx.node, "training mode is not supported (except with ratio 0)");
      }
    }
  }
  if (ctx.outputs.size() > 1) {
    // The mask keeps everything; it is bool from opset 10, the input's type before.
    const DType mt = ctx.opset >= 10 ? DType::kBool : x.dtype();
    TARMAC_ASSIGN_OR_RETURN(Tensor * mask, ctx.allocate_output(1, mt, x.dims()));
    dispatch_all(mt, [&](auto tag) {
      using T = decltype(tag);
      T* m = mask->data<T>();
      const T one = store<T>(static_cast<compute_t<T>>(1));
      parallel_for(mask->numel(), kGrainCheap, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) m[i] = one;
      });
    });
  }
  return set_output(ctx, 0, x);
}

Status cpu_Where(KernelContext& ctx) {
  if (ctx.num_inputs() < 3 || !ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2))
    return node_error(ctx.node, "expects 3 inputs (condition, X, Y)");
  const Tensor& c = ctx.input(0);
  const Tensor& a = ctx.input(1);
  const Tensor& b = ctx.input(2);
  if (c.dtype() != DType::kBool)
    return node_error(ctx.node, "condition has dtype {}, expected bool", dtype_name(c.dtype()));
  if (a.dtype() != b.dtype()) {
    return node_error(ctx.node, "X and Y have different dtypes {} and {}", dtype_name(a.dtype()),
                      dtype_name(b.dtype()));
  }
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_of(ctx.node, {&c, &a, &b}));
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, a.dtype(), out));
  // Selection only moves bytes, so dispatch on the element size rather than the dtype.
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const bool* pc = c.data<bool>();
    const T* pa = static_cast<const T*>(a.raw());
    const T* pb = static_cast<const T*>(b.raw());
    T* py = static_cast<T*>(y->raw());
    for_each_broadcast<3>(out, {&c.dims(), &a.dims(), &b.dims()}, kGrainCheap,
                          [&](int64_t o, const std::array<int64_t, 3>& off,
                              const std::array<int64_t, 3>& st, int64_t n) {
                            const bool* cc = pc + off[0];
                            const T* xa = pa + off[1];
                            const T* xb = pb + off[2];
                            for (int64_t i = 0; i < n; ++i)
                              py[o + i] = cc[i * st[0]] ? xa[i * st[1]] : xb[i * st[2]];
                          });
  };
  switch (dtype_size(a.dtype())) {
    case 1:
      run(uint8_t{});
      break;
    case 2:
      run(uint16_t{});
      break;
    case 4:
      run(uint32_t{});
      break;
    case 8:
      run(uint64_t{});
      break;
    default:
      return node_error(ctx.node, "unsupported dtype {}", dtype_name(a.dtype()));
  }
  return Status::ok();
}

Status cpu_Sum(KernelContext& ctx) { return variadic(ctx, Reduce::kSum); }
Status cpu_Mean(KernelContext& ctx) { return variadic(ctx, Reduce::kMean); }
Status cpu_Max(KernelContext& ctx) { return variadic(ctx, Reduce::kMax); }
Status cpu_Min(KernelContext& ctx) { return variadic(ctx, Reduce::kMin); }

}  // namespace tarmac
