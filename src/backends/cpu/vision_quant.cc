// CPU reference kernels for QuantizeLinear and DequantizeLinear: per-tensor (opset 10+),
// per-axis (13+) and blocked (21+) scales, int8/uint8 quantized values (and int32 input for
// DequantizeLinear). Float8/int4/int16 types have no tarmac dtype and are rejected.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac {
namespace {

/// Maps an element of x to the scale (and zero point) that applies to it.
struct QuantLayout {
  enum class Kind { kTensor, kAxis, kBlocked } kind = Kind::kTensor;
  int64_t axis_len = 1, inner = 1;   // x's dims split around the axis
  int64_t block = 1, scale_len = 1;  // blocked: block size and scale's length on the axis

  int64_t scale_index(int64_t i) const {
    switch (kind) {
      case Kind::kTensor:
        return 0;
      case Kind::kAxis:
        return (i / inner) % axis_len;
      case Kind::kBlocked: {
        const int64_t o = i / (axis_len * inner);
        const int64_t a = (i / inner) % axis_len;
        return (o * scale_len + a / block) * inner + i % inner;
      }
    }
    return 0;
  }
};

StatusOr<QuantLayout> quant_layout(const KernelContext& ctx, const Tensor& x, const Tensor& scale,
                                   const Tensor* zp) {
  const Node& n = ctx.node;
  if (!is_floating(scale.dtype()))
    return node_error(n, "scale must be a float tensor, got {}", dtype_name(scale.dtype()));
  if (zp && zp->dims() != scale.dims() && !(zp->numel() == 1 && scale.numel() == 1)) {
    return node_error(n, "zero point shape {} differs from scale shape {}",
                      dims_to_string(zp->dims()), dims_to_string(scale.dims()));
  }
  QuantLayout l;
  const int64_t block = ctx.opset >= 21 ? ctx.node.attr_int("block_size", 0) : 0;
  if (block < 0) return node_error(n, "block_size is {}, expected >= 0", block);
  if (scale.numel() == 1 && block == 0) return l;
  if (ctx.opset < 13) {
    return node_error(n, "scale has shape {}; opset {} supports only a per-tensor scale",
                      dims_to_string(scale.dims()), ctx.opset);
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis,
                          normalize_axis(n, n.attr_int("axis", 1), std::max(x.rank(), 1)));
  if (x.rank() == 0) return node_error(n, "a scalar input needs a scalar scale");
  l.axis_len = x.dim(static_cast<int>(axis));
  for (int d = static_cast<int>(axis) + 1; d < x.rank(); ++d) l.inner *= x.dim(d);
  if (block == 0) {
    if (scale.rank() != 1 || scale.numel() != l.axis_len) {
      return node_error(n, "scale has shape {}, expected a scalar or [{}] for axis {} of {}",
                        dims_to_string(scale.dims()), l.axis_len, axis, dims_to_string(x.dims()));
    }
    l.kind = QuantLayout::Kind::kAxis;
    return l;
  }
  // Blocked: scale matches x except on the axis, where it holds ceil(len / block) values.
  bool ok = scale.rank() == x.rank();
  for (int d = 0; ok && d < x.rank(); ++d)
    if (d != axis) ok = scale.dim(d) == x.dim(d);
  const int64_t want = ok ? (l.axis_len + block - 1) / block : 0;
  if (!ok || scale.dim(static_cast<int>(axis)) != want) {
    return node_error(n,
                      "scale shape {} does not fit blocked quantization of {} (axis {}, "
                      "block_size {})",
                      dims_to_string(scale.dims()), dims_to_string(x.dims()), axis, block);
  }
  l.kind = QuantLayout::Kind::kBlocked;
  l.block = block;
  l.scale_len = want;
  return l;
}

template <typename Q, typename X, typename C>
void quantize(const Tensor& x, const Tensor& scale, const Tensor* zp, const QuantLayout& l,
              Tensor* y) {
  std::vector<C> sc(static_cast<size_t>(scale.numel()));
  std::vector<C> zpv(sc.size(), C{0});
  for (size_t i = 0; i < sc.size(); ++i) {
    sc[i] = static_cast<C>(scale.as_double(static_cast<int64_t>(i)));
    if (zp) zpv[i] = static_cast<C>(zp->as_double(zp->numel() == 1 ? 0 : static_cast<int64_t>(i)));
  }
  const X* src = x.data<X>();
  Q* dst = y->data<Q>();
  constexpr C lo = static_cast<C>(std::numeric_limits<Q>::lowest());
  constexpr C hi = static_cast<C>(std::numeric_limits<Q>::max());
  parallel_for(x.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const size_t s = static_cast<size_t>(l.scale_index(i));
      // nearbyint under the default rounding mode rounds halfway cases to even.
      C q = std::nearbyint(static_cast<C>(load(src[i])) / sc[s]);
      if (std::isnan(q)) q = 0;  // NaN maps to the zero point
      dst[i] = static_cast<Q>(std::clamp(q + zpv[s], lo, hi));
    }
  });
}

template <typename X, typename Y, typename C>
void dequantize(const Tensor& x, const Tensor& scale, const Tensor* zp, const QuantLayout& l,
                Tensor* y) {
  std::vector<C> sc(static_cast<size_t>(scale.numel()));
  std::vector<int64_t> zpv(sc.size(), 0);
  for (size_t i = 0; i < sc.size(); ++i) {
    sc[i] = static_cast<C>(scale.as_double(static_cast<int64_t>(i)));
    if (zp) zpv[i] = zp->as_int64(zp->numel() == 1 ? 0 : static_cast<int64_t>(i));
  }
  const X* src = x.data<X>();
  Y* dst = y->data<Y>();
  parallel_for(x.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const size_t s = static_cast<size_t>(l.scale_index(i));
      const C v = static_cast<C>(static_cast<int64_t>(src[i]) - zpv[s]) * sc[s];
      dst[i] = store<Y>(v);
    }
  });
}

}  // namespace

Status cpu_QuantizeLinear(KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs x and y_scale");
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType xt = x.dtype();
  if (!is_floating(xt) && xt != DType::kInt32)
    return node_error(n, "x dtype {} is not supported (float or int32)", dtype_name(xt));
  DType out = DType::kUint8;
  if (ctx.opset >= 21 && n.has_attr("output_dtype") && n.attr_int("output_dtype", 0) != 0) {
    const int64_t code = n.attr_int("output_dtype", 0);
    out = dtype_from_onnx(static_cast<int32_t>(code));
    if (out != DType::kUint8 && out != DType::kInt8)
      return unsupported(
          "{}: output_dtype {} (ONNX type {}) is not supported; tarmac quantizes "
          "to uint8 or int8",
          n.describe(), dtype_name(out), code);
    if (zp && zp->dtype() != out) {
      return node_error(n, "output_dtype {} differs from the zero point dtype {}", dtype_name(out),
                        dtype_name(zp->dtype()));
    }
  }
  if (zp) out = zp->dtype();
  if (out != DType::kUint8 && out != DType::kInt8)
    return node_error(n, "zero point dtype {} is not supported (uint8 or int8)", dtype_name(out));
  TARMAC_ASSIGN_OR_RETURN(QuantLayout l, quant_layout(ctx, x, scale, zp));
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, x.dims()));
  const bool wide = xt == DType::kFloat64 || scale.dtype() == DType::kFloat64;
  dispatch_all(xt, [&](auto xtag) {
    using X = decltype(xtag);
    if constexpr (std::is_same_v<X, bool>) {
      return;
    } else if (out == DType::kUint8) {
      wide ? quantize<uint8_t, X, double>(x, scale, zp, l, y)
           : quantize<uint8_t, X, float>(x, scale, zp, l, y);
    } else {
      wide ? quantize<int8_t, X, double>(x, scale, zp, l, y)
           : quantize<int8_t, X, float>(x, scale, zp, l, y);
    }
  });
  return Status::ok();
}

Status cpu_DequantizeLinear(KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs x and x_scale");
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const DType xt = x.dtype();
  if (xt != DType::kUint8 && xt != DType::kInt8 && xt != DType::kInt32)
    return node_error(n, "x dtype {} is not supported (uint8, int8 or int32)", dtype_name(xt));
  if (zp && zp->dtype() != xt) {
    return node_error(n, "zero point dtype {} differs from x dtype {}", dtype_name(zp->dtype()),
                      dtype_name(xt));
  }
  TARMAC_ASSIGN_OR_RETURN(QuantLayout l, quant_layout(ctx, x, scale, zp));
  // Before opset 19 the output is always float32; from 19 it takes the scale's type.
  const DType out = ctx.opset >= 19 ? scale.dtype() : DType::kFloat32;
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, x.dims()));
  dispatch_all(xt, [&](auto xtag) {
    using X = decltype(xtag);
    if constexpr (std::is_integral_v<X> && !std::is_same_v<X, bool>) {
      dispatch_all(out, [&](auto ytag) {
        using Y = decltype(ytag);
        if constexpr (std::is_same_v<Y, double>) {
          dequantize<X, double, double>(x, scale, zp, l, y);
        } else if constexpr (std::is_same_v<compute_t<Y>, float>) {
          dequantize<X, Y, float>(x, scale, zp, l, y);
        }
      });
    }
  });
  return Status::ok();
}

}  // namespace tarmac
