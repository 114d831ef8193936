// CPU reference kernels for BatchNormalization (inference), InstanceNormalization,
// GroupNormalization and LayerNormalization.
//
// Statistics are gathered in one pass per normalized slice (sum and sum of squares in double,
// which keeps the variance accurate for float32/float16 data), then each element is mapped
// through one multiply-add whose coefficients fold mean, 1/sqrt(var + eps), scale and bias.
#include <cmath>

#include "backends/cpu/reduce_util.h"

namespace tarmac {

namespace {

using reduce_detail::to_double_vector;

struct Moments {
  double mean = 0;
  double inv_std = 0;
};

template <typename T>
Moments moments(const T* x, int64_t n, double eps) {
  double s = 0, ss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(load(x[i]));
    s += v;
    ss += v * v;
  }
  Moments m;
  m.mean = s / static_cast<double>(n);
  const double var = std::max(ss / static_cast<double>(n) - m.mean * m.mean, 0.0);
  m.inv_std = 1.0 / std::sqrt(var + eps);
  return m;
}

template <typename T>
inline void affine(const T* x, T* y, int64_t n, double a, double b) {
  using C = compute_t<T>;
  const C ca = static_cast<C>(a), cb = static_cast<C>(b);
  for (int64_t i = 0; i < n; ++i) y[i] = store<T>(static_cast<C>(load(x[i]) * ca + cb));
}

/// y = (x - mean) * a + b. Centering first keeps b when the variance is ~0 and a is huge
/// (x * a + (b - mean * a) cancels catastrophically in float there).
template <typename T>
inline void normalize(const T* x, T* y, int64_t n, double mean, double a, double b) {
  using C = compute_t<T>;
  const C cm = static_cast<C>(mean), ca = static_cast<C>(a), cb = static_cast<C>(b);
  for (int64_t i = 0; i < n; ++i) y[i] = store<T>(static_cast<C>((load(x[i]) - cm) * ca + cb));
}

Status check_floating(const Node& node, const Tensor& t, const char* what) {
  if (!is_floating(t.dtype()))
    return node_error(node, "{} has dtype {}, expected a floating type", what,
                      dtype_name(t.dtype()));
  return Status::ok();
}

/// Writes element i of a floating tensor (nullptr: output not wanted).
void store_stat(Tensor* t, int64_t i, double v) {
  if (!t) return;
  reduce_detail::dispatch_floating(t->dtype(), [&](auto tag) {
    using T = decltype(tag);
    t->data<T>()[i] = store<T>(static_cast<compute_t<T>>(v));
  });
}

/// Normalizes X [N, C, spatial...] over groups of C/G channels (G == C: instance norm).
/// scale/bias hold one value per channel.
Status group_norm(KernelContext& ctx, int64_t groups, const std::vector<double>& scale,
                  const std::vector<double>& bias, double eps) {
  const Tensor& x = ctx.input(0);
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t spatial = x.numel() / std::max<int64_t>(n * c, 1);
  const int64_t cg = c / groups;
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  if (y->numel() == 0) return Status::ok();
  reduce_detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y->data<T>();
    parallel_for(n * groups, reduce_detail::grain_for(cg * spatial * 2), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t g = t % groups;
        const int64_t off = t * cg * spatial;
        const Moments m = moments(in + off, cg * spatial, eps);
        for (int64_t k = 0; k < cg; ++k) {
          const size_t ch = static_cast<size_t>(g * cg + k);
          const double a = scale[ch] * m.inv_std;
          normalize(in + off + k * spatial, out + off + k * spatial, spatial, m.mean, a, bias[ch]);
        }
      }
    });
  });
  return Status::ok();
}

/// LayerNormalization's Scale/B broadcast to X: either to the normalized tail (the usual
/// case, `full` false, size = tail elements) or, when they vary over leading dims, to all of X.
struct BroadcastParam {
  std::vector<double> values;
  bool full = false;
};

StatusOr<BroadcastParam> broadcast_param(const Node& node, const Tensor& p, const Dims& xd,
                                         int64_t axis, const char* what) {
  const size_t xr = xd.size(), pr = static_cast<size_t>(p.rank());
  if (pr > xr)
    return node_error(node, "{} has shape {}, which does not broadcast to X {}", what,
                      dims_to_string(p.dims()), dims_to_string(xd));
  BroadcastParam out;
  for (size_t k = 0; k < pr; ++k) {
    const int64_t pd = p.dims()[k], xdim = xd[xr - pr + k];
    if (pd != 1 && pd != xdim)
      return node_error(node, "{} has shape {}, which does not broadcast to X {}", what,
                        dims_to_string(p.dims()), dims_to_string(xd));
    if (pd != 1 && xr - pr + k < static_cast<size_t>(axis)) out.full = true;
  }
  const size_t first = out.full ? 0 : static_cast<size_t>(axis);
  const Dims target(xd.begin() + static_cast<int64_t>(first), xd.end());
  // Source strides aligned to target dims, 0 where the parameter broadcasts.
  Dims src_stride(target.size(), 0);
  int64_t s = 1;
  for (size_t k = pr; k-- > 0;) {
    const size_t t = xr - pr + k - first;
    if (t < target.size() && p.dims()[k] != 1) src_stride[t] = s;
    s *= p.dims()[k];
  }
  const std::vector<double> src = to_double_vector(p);
  const int64_t total = num_elements(target);
  out.values.resize(static_cast<size_t>(total));
  std::vector<int64_t> idx(target.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < total; ++i) {
    out.values[static_cast<size_t>(i)] = src[static_cast<size_t>(off)];
    for (size_t k = target.size(); k-- > 0;) {
      off += src_stride[k];
      if (++idx[k] < target[k]) break;
      off -= src_stride[k] * target[k];
      idx[k] = 0;
    }
  }
  return out;
}

}  // namespace

Status cpu_BatchNormalization(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (ctx.num_inputs() < 5)
    return node_error(node, "expects 5 inputs (X, scale, B, mean, var), got {}", ctx.num_inputs());
  for (size_t i = 0; i < 5; ++i)
    if (!ctx.has_input(i)) return node_error(node, "input {} is missing", i);
  if (ctx.opset >= 14 && node.attr_int("training_mode", 0) != 0)
    return unsupported("{}: training_mode=1 is not supported (tarmac runs inference only)",
                       node.describe());
  // Before opset 7 the mode is the is_test attribute, and its default (0) means training.
  if (ctx.opset < 7 && node.attr_int("is_test", 0) == 0)
    return unsupported("{}: is_test=0 (training mode) is not supported; tarmac runs inference only",
                       node.describe());
  for (size_t i = 1; i < node.outputs.size(); ++i) {
    if (node.outputs[i] != nullptr)
      return unsupported(
          "{}: output {} holds training statistics, which inference mode does not "
          "produce",
          node.describe(), i);
  }
  const Tensor& x = ctx.input(0);
  TARMAC_RETURN_IF_ERROR(check_floating(node, x, "X"));
  const char* names[] = {"X", "scale", "B", "mean", "var"};
  for (size_t i = 1; i < 5; ++i)
    TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(i), names[i]));
  if (x.rank() < 2) return node_error(node, "X must have rank >= 2, got {}", x.rank());
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t spatial = x.numel() / std::max<int64_t>(n * c, 1);
  // spatial=0 (opsets 1-8) keeps statistics per activation: shape [C, D1, ...].
  const bool per_activation = ctx.opset < 9 && node.attr_int("spatial", 1) == 0;
  const int64_t want = per_activation ? c * spatial : c;
  for (size_t i = 1; i < 5; ++i) {
    if (ctx.input(i).numel() != want)
      return node_error(node, "{} has shape {}, expected {} values ({})", names[i],
                        dims_to_string(ctx.input(i).dims()), want,
                        per_activation ? "C x spatial, spatial=0" : "one per channel");
  }
  const double eps = node.attr_float("epsilon", 1e-5f);
  const auto scale = to_double_vector(ctx.input(1)), bias = to_double_vector(ctx.input(2));
  const auto mean = to_double_vector(ctx.input(3)), var = to_double_vector(ctx.input(4));
  std::vector<double> a(static_cast<size_t>(want)), b(static_cast<size_t>(want));
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = scale[i] / std::sqrt(var[i] + eps);
    b[i] = bias[i] - mean[i] * a[i];
  }
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  if (y->numel() == 0) return Status::ok();
  reduce_detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y->data<T>();
    parallel_for(n * c, reduce_detail::grain_for(spatial), [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        const int64_t ch = t % c, off = t * spatial;
        if (per_activation) {
          for (int64_t s = 0; s < spatial; ++s) {
            const size_t k = static_cast<size_t>(ch * spatial + s);
            affine(in + off + s, out + off + s, 1, a[k], b[k]);
          }
        } else {
          affine(in + off, out + off, spatial, a[static_cast<size_t>(ch)],
                 b[static_cast<size_t>(ch)]);
        }
      }
    });
  });
  return Status::ok();
}

Status cpu_InstanceNormalization(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2))
    return node_error(node, "expects inputs input, scale and B");
  const Tensor& x = ctx.input(0);
  TARMAC_RETURN_IF_ERROR(check_floating(node, x, "input"));
  TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(1), "scale"));
  TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(2), "B"));
  if (x.rank() < 2) return node_error(node, "input must have rank >= 2, got {}", x.rank());
  const int64_t c = x.dim(1);
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).numel() != c)
      return node_error(node, "{} has shape {}, expected {} values (one per channel)",
                        i == 1 ? "scale" : "B", dims_to_string(ctx.input(i).dims()), c);
  }
  return group_norm(ctx, std::max<int64_t>(c, 1), to_double_vector(ctx.input(1)),
                    to_double_vector(ctx.input(2)), node.attr_float("epsilon", 1e-5f));
}

Status cpu_GroupNormalization(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2))
    return node_error(node, "expects inputs X, scale and bias");
  const Tensor& x = ctx.input(0);
  TARMAC_RETURN_IF_ERROR(check_floating(node, x, "X"));
  TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(1), "scale"));
  TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(2), "bias"));
  if (x.rank() < 2) return node_error(node, "X must have rank >= 2, got {}", x.rank());
  if (!node.has_attr("num_groups")) return node_error(node, "attribute 'num_groups' is required");
  const int64_t groups = node.attr_int("num_groups", 0);
  const int64_t c = x.dim(1);
  if (groups <= 0 || c % groups != 0)
    return node_error(node, "num_groups = {} must be positive and divide the {} channels", groups,
                      c);
  // Opset 18 defined scale/bias per group; opset 21 corrected them to per channel.
  const bool per_channel = ctx.opset >= 21;
  const int64_t want = per_channel ? c : groups;
  for (size_t i = 1; i < 3; ++i) {
    if (ctx.input(i).numel() != want)
      return node_error(node, "{} has shape {}, expected {} values (one per {} in opset {})",
                        i == 1 ? "scale" : "bias", dims_to_string(ctx.input(i).dims()), want,
                        per_channel ? "channel" : "group", ctx.opset);
  }
  std::vector<double> scale = to_double_vector(ctx.input(1)), bias = to_double_vector(ctx.input(2));
  if (!per_channel && c > 0) {
    std::vector<double> s(static_cast<size_t>(c)), b(static_cast<size_t>(c));
    for (int64_t k = 0; k < c; ++k) {
      s[static_cast<size_t>(k)] = scale[static_cast<size_t>(k / (c / groups))];
      b[static_cast<size_t>(k)] = bias[static_cast<size_t>(k / (c / groups))];
    }
    scale = std::move(s);
    bias = std::move(b);
  }
  return group_norm(ctx, groups, scale, bias, node.attr_float("epsilon", 1e-5f));
}

Status cpu_LayerNormalization(KernelContext& ctx) {
  const Node& node = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(node, "expects inputs X and Scale");
  const Tensor& x = ctx.input(0);
  TARMAC_RETURN_IF_ERROR(check_floating(node, x, "X"));
  TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(1), "Scale"));
  if (ctx.has_input(2)) TARMAC_RETURN_IF_ERROR(check_floating(node, ctx.input(2), "B"));
  const int64_t rank = x.rank();
  TARMAC_ASSIGN_OR_RETURN(
      int64_t axis, reduce_detail::checked_axis(node, "axis", node.attr_int("axis", -1), rank));
  const DType stash = dtype_from_onnx(static_cast<int32_t>(node.attr_int("stash_type", 1)));
  if (!is_floating(stash))
    return node_error(node, "stash_type {} is not a floating type", node.attr_int("stash_type", 1));
  const double eps = node.attr_float("epsilon", 1e-5f);
  const reduce_detail::AxisView v = reduce_detail::axis_view(x.dims(), axis, rank);
  TARMAC_ASSIGN_OR_RETURN(BroadcastParam scale,
                          broadcast_param(node, ctx.input(1), x.dims(), axis, "Scale"));
  BroadcastParam bias;
  if (ctx.has_input(2)) {
    TARMAC_ASSIGN_OR_RETURN(bias, broadcast_param(node, ctx.input(2), x.dims(), axis, "B"));
  }
  Dims stat_dims = x.dims();
  for (int64_t k = axis; k < rank; ++k) stat_dims[static_cast<size_t>(k)] = 1;
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.dims()));
  Tensor* mean_out = nullptr;
  Tensor* inv_out = nullptr;
  if (ctx.outputs.size() > 1) {
    TARMAC_ASSIGN_OR_RETURN(mean_out, ctx.allocate_output(1, stash, stat_dims));
  }
  if (ctx.outputs.size() > 2) {
    TARMAC_ASSIGN_OR_RETURN(inv_out, ctx.allocate_output(2, stash, stat_dims));
  }
  if (v.outer == 0) return Status::ok();
  reduce_detail::dispatch_floating(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = compute_t<T>;
    const T* in = x.data<T>();
    T* out = y->data<T>();
    parallel_for(v.outer, reduce_detail::grain_for(v.n * 2), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = in + o * v.n;
        T* orow = out + o * v.n;
        const Moments m = moments(row, v.n, eps);
        const double* sc = scale.values.data() + (scale.full ? o * v.n : 0);
        const double* bi =
            bias.values.empty() ? nullptr : bias.values.data() + (bias.full ? o * v.n : 0);
        for (int64_t i = 0; i < v.n; ++i) {
          const double norm = (static_cast<double>(load(row[i])) - m.mean) * m.inv_std;
          orow[i] = store<T>(static_cast<C>(norm * sc[i] + (bi ? bi[i] : 0.0)));
        }
        store_stat(mean_out, o, m.mean);
        store_stat(inv_out, o, m.inv_std);
      }
    });
  });
  return Status::ok();
}

}  // namespace tarmac
