// CUDA elementwise family, host side: variadic Sum/Mean/Max/Min, Where, Clip, Cast, CastLike,
// Identity, Dropout, QuantizeLinear and DequantizeLinear. Each factory accepts exactly what the
// CPU reference (src/backends/cpu/elementwise_misc.cc, vision_quant.cc) computes.
#include <cuda_runtime.h>

#include <algorithm>
#include <utility>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/elementwise_host.cuh"
#include "ir/op_registry.h"

namespace tarmac::cuda::ew {
namespace {

bool has_output(const KernelArgs& a, size_t i) {
  return i < a.node.outputs.size() && a.node.outputs[i] != nullptr;
}

/// Device-to-device copy of one view into another of the same size (no-op when they alias).
cudaError_t copy_view(const TensorView& from, const TensorView& to, cudaStream_t s) {
  const size_t bytes = to.nbytes();
  if (bytes == 0 || from.data == to.data) return cudaSuccess;
  return cudaMemcpyAsync(to.data, from.data, bytes, cudaMemcpyDeviceToDevice, s);
}

// ---- Sum / Mean / Max / Min ---------------------------------------------------------------

StatusOr<std::unique_ptr<DeviceKernel>> make_variadic(const KernelArgs& a, VariadicOp op) {
  const size_t count = a.node.inputs.size();
  if (count == 0 || !has_output(a, 0)) return node_error(a.node, "expects at least 1 input");
  std::vector<Dims> ins;
  for (size_t i = 0; i < count; ++i) {
    if (!a.has_input(i)) return node_error(a.node, "input {} is missing", i);
    if (a.in(i).dtype != a.in(0).dtype) {
      return node_error(a.node, "input {} has dtype {} but input 0 has {}", i,
                        dtype_name(a.in(i).dtype), dtype_name(a.in(0).dtype));
    }
    ins.push_back(in_dims(a, i));
  }
  const DType t = a.in(0).dtype;
  if (op == VariadicOp::kMean ? !is_floating(t) : !(is_floating(t) || is_integer(t))) {
    return unsupported("{}: inputs have dtype {}, expected {}", a.node.describe(), dtype_name(t),
                       op == VariadicOp::kMean ? "a floating-point type" : "a numeric type");
  }
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_dims(a.node, ins));
  if (out != out_dims(a, 0) || a.out(0).dtype != t)
    return node_error(a.node, "output type {} does not match the inputs", a.out(0).to_string());
  const int64_t numel = num_elements(out);
  // Up to kMaxVariadicInputs inputs per launch; later launches continue from the accumulator.
  std::vector<VariadicChunk> chunks;
  std::vector<size_t> first;
  for (size_t b = 0; b < count; b += kMaxVariadicInputs) {
    VariadicChunk c;
    c.count = static_cast<int32_t>(std::min<size_t>(kMaxVariadicInputs, count - b));
    c.numel = numel;
    const std::vector<Dims> part(ins.begin() + static_cast<std::ptrdiff_t>(b),
                                 ins.begin() + static_cast<std::ptrdiff_t>(b) + c.count);
    c.flat = 1;
    for (const Dims& d : part)
      if (num_elements(d) != numel) c.flat = 0;
    if (!collapse_broadcast(out, part, &c.out, c.strides)) {
      return unsupported("{}: broadcasting {} needs more than {} dims after merging",
                         a.node.describe(), dims_to_string(out), kMaxRank);
    }
    chunks.push_back(c);
    first.push_back(b);
  }
  // The accumulator has the compute type: the output itself, except for float16/bfloat16
  // (float32 accumulator in the workspace) when more than one launch is needed.
  const bool half = t == DType::kFloat16 || t == DType::kBFloat16;
  const size_t workspace =
      half && chunks.size() > 1 ? static_cast<size_t>(numel) * sizeof(float) : 0;
  const double mean_count = static_cast<double>(count);
  // inputs: each broadcast to out; y: out
  return launch_kernel(
      a,
      [=](const std::vector<TensorView>& in, const std::vector<TensorView>& outs, void* ws,
          cudaStream_t s) {
        void* acc = half ? ws : outs[0].data;
        for (size_t j = 0; j < chunks.size(); ++j) {
          VariadicChunk c = chunks[j];
          for (int k = 0; k < c.count; ++k) c.in[k] = in[first[j] + static_cast<size_t>(k)].data;
          const bool last = j + 1 == chunks.size();
          const cudaError_t e = launch_variadic(op, t, c, j == 0 ? nullptr : acc,
                                                last ? nullptr : acc, outs[0].data, mean_count, s);
          if (e != cudaSuccess) return e;
        }
        return cudaSuccess;
      },
      workspace);
}

template <VariadicOp kOp>
StatusOr<std::unique_ptr<DeviceKernel>> make_variadic_op(const KernelArgs& a) {
  return make_variadic(a, kOp);
}

// ---- Where --------------------------------------------------------------------------------

StatusOr<std::unique_ptr<DeviceKernel>> make_where(const KernelArgs& a) {
  if (!a.has_input(0) || !a.has_input(1) || !a.has_input(2) || !has_output(a, 0))
    return node_error(a.node, "expects 3 inputs (condition, X, Y)");
  if (a.in(0).dtype != DType::kBool) {
    return node_error(a.node, "condition has dtype {}, expected bool", dtype_name(a.in(0).dtype));
  }
  const DType t = a.in(1).dtype;
  if (a.in(2).dtype != t || a.out(0).dtype != t) {
    return node_error(a.node, "X and Y have different dtypes {} and {}", dtype_name(t),
                      dtype_name(a.in(2).dtype));
  }
  const std::vector<Dims> ins = {in_dims(a, 0), in_dims(a, 1), in_dims(a, 2)};
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_dims(a.node, ins));
  if (out != out_dims(a, 0))
    return node_error(a.node, "output shape differs from the broadcast {}", dims_to_string(out));
  TARMAC_ASSIGN_OR_RETURN(BroadcastLayout<3> l, broadcast_layout<3>(a, out, ins));
  const size_t bytes = dtype_size(t);
  // cond, x, y: broadcast to out; out
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    return launch_where(bytes, static_cast<const bool*>(in[0].data), in[1].data, in[2].data,
                        outs[0].data, l, s);
  });
}

// ---- Clip ---------------------------------------------------------------------------------

StatusOr<std::unique_ptr<DeviceKernel>> make_clip(const KernelArgs& a) {
  if (!a.has_input(0) || !has_output(a, 0)) return node_error(a.node, "expects an input");
  const DType t = a.in(0).dtype;
  if (!(is_floating(t) || is_integer(t))) {
    return unsupported("{}: input has dtype {}, expected a numeric type", a.node.describe(),
                       dtype_name(t));
  }
  ClipBounds b;
  bool bound_input[2] = {false, false};
  if (a.opset < 11) {
    if (!is_floating(t)) {
      return unsupported("{}: input has dtype {}; before opset 11 Clip takes floats only",
                         a.node.describe(), dtype_name(t));
    }
    // Opset 6 gave the bounds defaults of -/+FLT_MAX; opset 1 left them unset (no clamp).
    const float flt_max = std::numeric_limits<float>::max();
    b.has_lo_attr = a.node.has_attr("min") || a.opset >= 6;
    b.has_hi_attr = a.node.has_attr("max") || a.opset >= 6;
    b.lo_attr = a.node.attr_float("min", -flt_max);
    b.hi_attr = a.node.attr_float("max", flt_max);
  } else {
    for (size_t i = 1; i <= 2; ++i) {
      if (!a.has_input(i)) continue;
      const char* what = i == 1 ? "min" : "max";
      if (a.in(i).dtype != t) {
        return node_error(a.node, "{} has dtype {} but input has {}", what,
                          dtype_name(a.in(i).dtype), dtype_name(t));
      }
      if (num_elements(in_dims(a, i)) != 1) {
        return node_error(a.node, "{} must be a scalar, got shape {}", what,
                          dims_to_string(in_dims(a, i)));
      }
      bound_input[i - 1] = true;
    }
  }
  const int64_t n = num_elements(in_dims(a, 0));
  const bool use_lo = bound_input[0], use_hi = bound_input[1];
  // x, y: [n]; min, max: scalars on the device (opset >= 11)
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    ClipBounds bb = b;
    if (use_lo) bb.lo = in[1].data;
    if (use_hi) bb.hi = in[2].data;
    return launch_clip(t, in[0].data, outs[0].data, n, bb, s);
  });
}

// ---- Cast, CastLike, Identity, Dropout -----------------------------------------------------

StatusOr<std::unique_ptr<DeviceKernel>> make_cast_to(const KernelArgs& a, DType to) {
  if (!a.has_input(0) || !has_output(a, 0)) return node_error(a.node, "expects an input");
  const DType from = a.in(0).dtype;
  if (dtype_size(from) == 0 || dtype_size(to) == 0 || a.out(0).dtype != to) {
    return unsupported("{}: cast from {} to {} is not supported", a.node.describe(),
                       dtype_name(from), dtype_name(a.out(0).dtype));
  }
  const int64_t n = num_elements(in_dims(a, 0));
  // x, y: [n]
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    if (from == to) return copy_view(in[0], outs[0], s);
    return launch_cast(from, to, in[0].data, outs[0].data, n, s);
  });
}

StatusOr<std::unique_ptr<DeviceKernel>> make_cast(const KernelArgs& a) {
  if (!has_output(a, 0)) return node_error(a.node, "expects an output");
  return make_cast_to(a, a.out(0).dtype);  // inference resolved the 'to' attribute
}

StatusOr<std::unique_ptr<DeviceKernel>> make_cast_like(const KernelArgs& a) {
  if (!a.has_input(1)) return node_error(a.node, "expects 2 inputs (input, target_type)");
  return make_cast_to(a, a.in(1).dtype);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_identity(const KernelArgs& a) {
  if (!a.has_input(0) || !has_output(a, 0)) return node_error(a.node, "expects 1 input");
  if (a.out(0).dtype != a.in(0).dtype || out_dims(a, 0) != in_dims(a, 0))
    return node_error(a.node, "output type {} differs from the input", a.out(0).to_string());
  return launch_kernel(a, [](const std::vector<TensorView>& in, const std::vector<TensorView>& outs,
                             void*, cudaStream_t s) { return copy_view(in[0], outs[0], s); });
}

StatusOr<std::unique_ptr<DeviceKernel>> make_dropout(const KernelArgs& a) {
  // Inference only: the output is the input, the mask all true (see cpu_Dropout).
  if (!a.has_input(0) || !has_output(a, 0)) return node_error(a.node, "expects an input");
  const DType t = a.in(0).dtype;
  if (a.opset >= 12 && a.has_input(2)) {
    if (a.in(2).dtype != DType::kBool || num_elements(in_dims(a, 2)) != 1)
      return node_error(a.node, "training_mode must be a bool scalar");
    const Tensor* tm = a.constant(2);
    if (!tm) return unsupported("{}: training_mode is computed at run time", a.node.describe());
    if (tm->data<bool>()[0]) {
      double ratio = 0.5;  // the spec's default
      if (a.has_input(1)) {
        const Tensor* r = a.constant(1);
        if (!r) return unsupported("{}: ratio is computed at run time", a.node.describe());
        ratio = r->numel() == 1 ? r->as_double(0) : -1.0;
      }
      if (ratio != 0.0) {
        return unsupported("{}: training mode is not supported (except with ratio 0)",
                           a.node.describe());
      }
    }
  }
  const bool mask = has_output(a, 1);
  const DType mt = a.opset >= 10 ? DType::kBool : t;
  if (mask && a.out(1).dtype != mt) {
    return node_error(a.node, "mask dtype {}, expected {}", dtype_name(a.out(1).dtype),
                      dtype_name(mt));
  }
  const int64_t n = num_elements(in_dims(a, 0));
  // x, y: [n]; mask: [n]
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    const cudaError_t e = copy_view(in[0], outs[0], s);
    if (e != cudaSuccess || !mask) return e;
    return launch_fill_one(mt, outs[1].data, n, s);
  });
}

// ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------

/// Scale layout as the CPU quant_layout; the pointers are filled at enqueue.
StatusOr<QuantParams> quant_params(const KernelArgs& a) {
  const Node& n = a.node;
  const Dims x = in_dims(a, 0);
  const Dims scale = in_dims(a, 1);
  const DType st = a.in(1).dtype;
  if (!is_floating(st))
    return node_error(n, "scale must be a float tensor, got {}", dtype_name(st));
  QuantParams p;
  p.scale_dtype = st;
  if (a.has_input(2)) {
    const Dims zp = in_dims(a, 2);
    if (zp != scale && !(num_elements(zp) == 1 && num_elements(scale) == 1)) {
      return node_error(n, "zero point shape {} differs from scale shape {}", dims_to_string(zp),
                        dims_to_string(scale));
    }
    p.zero_point_dtype = a.in(2).dtype;
    p.zero_point_scalar = num_elements(zp) == 1;
  }
  const int64_t block = a.opset >= 21 ? n.attr_int("block_size", 0) : 0;
  if (block < 0) return node_error(n, "block_size is {}, expected >= 0", block);
  if (num_elements(scale) == 1 && block == 0) return p;
  if (a.opset < 13) {
    return node_error(n, "scale has shape {}; opset {} supports only a per-tensor scale",
                      dims_to_string(scale), a.opset);
  }
  const int64_t rank = static_cast<int64_t>(x.size());
  TARMAC_ASSIGN_OR_RETURN(int64_t axis,
                          normalize_axis(n, n.attr_int("axis", 1), std::max<int64_t>(rank, 1)));
  if (rank == 0) return node_error(n, "a scalar input needs a scalar scale");
  p.axis_len = x[static_cast<size_t>(axis)];
  p.inner = 1;
  for (int64_t d = axis + 1; d < rank; ++d) p.inner *= x[static_cast<size_t>(d)];
  if (block == 0) {
    if (scale.size() != 1 || num_elements(scale) != p.axis_len) {
      return node_error(n, "scale has shape {}, expected a scalar or [{}] for axis {} of {}",
                        dims_to_string(scale), p.axis_len, axis, dims_to_string(x));
    }
    p.kind = 1;
    return p;
  }
  bool ok = scale.size() == x.size();
  for (int64_t d = 0; ok && d < rank; ++d)
    if (d != axis) ok = scale[static_cast<size_t>(d)] == x[static_cast<size_t>(d)];
  const int64_t want = ok ? (p.axis_len + block - 1) / block : 0;
  if (!ok || scale[static_cast<size_t>(axis)] != want) {
    return node_error(
        n, "scale shape {} does not fit blocked quantization of {} (axis {}, block_size {})",
        dims_to_string(scale), dims_to_string(x), axis, block);
  }
  p.kind = 2;
  p.block = block;
  p.scale_len = want;
  return p;
}

StatusOr<std::unique_ptr<DeviceKernel>> make_quantize(const KernelArgs& a) {
  const Node& n = a.node;
  if (!a.has_input(0) || !a.has_input(1) || !has_output(a, 0))
    return node_error(n, "needs inputs x and y_scale");
  const DType xt = a.in(0).dtype;
  if (!is_floating(xt) && xt != DType::kInt32)
    return unsupported("{}: x dtype {} is not supported (float or int32)", n.describe(),
                       dtype_name(xt));
  DType out = DType::kUint8;
  if (a.opset >= 21 && n.has_attr("output_dtype") && n.attr_int("output_dtype", 0) != 0) {
    const int64_t code = n.attr_int("output_dtype", 0);
    out = dtype_from_onnx(static_cast<int32_t>(code));
    if (out != DType::kUint8 && out != DType::kInt8)
      return unsupported("{}: output_dtype {} is not supported; uint8 or int8 only", n.describe(),
                         code);
  }
  if (a.has_input(2)) out = a.in(2).dtype;
  if (out != DType::kUint8 && out != DType::kInt8)
    return unsupported("{}: zero point dtype {} is not supported (uint8 or int8)", n.describe(),
                       dtype_name(out));
  if (a.out(0).dtype != out)
    return node_error(n, "output dtype {}, expected {}", dtype_name(a.out(0).dtype),
                      dtype_name(out));
  TARMAC_ASSIGN_OR_RETURN(QuantParams p, quant_params(a));
  const bool wide = xt == DType::kFloat64 || a.in(1).dtype == DType::kFloat64;
  const int64_t count = num_elements(in_dims(a, 0));
  const bool has_zp = a.has_input(2);
  // x, y: [count]; scale, zero point: scalar, [axis_len] or blocked
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    QuantParams q = p;
    q.scale = in[1].data;
    q.zero_point = has_zp ? in[2].data : nullptr;
    return launch_quantize(xt, out, wide, in[0].data, outs[0].data, count, q, s);
  });
}

StatusOr<std::unique_ptr<DeviceKernel>> make_dequantize(const KernelArgs& a) {
  const Node& n = a.node;
  if (!a.has_input(0) || !a.has_input(1) || !has_output(a, 0))
    return node_error(n, "needs inputs x and x_scale");
  const DType xt = a.in(0).dtype;
  if (xt != DType::kUint8 && xt != DType::kInt8 && xt != DType::kInt32)
    return unsupported("{}: x dtype {} is not supported (uint8, int8 or int32)", n.describe(),
                       dtype_name(xt));
  if (a.has_input(2) && a.in(2).dtype != xt) {
    return node_error(n, "zero point dtype {} differs from x dtype {}", dtype_name(a.in(2).dtype),
                      dtype_name(xt));
  }
  TARMAC_ASSIGN_OR_RETURN(QuantParams p, quant_params(a));
  // Before opset 19 the output is always float32; from 19 it takes the scale's type.
  const DType out = a.opset >= 19 ? a.in(1).dtype : DType::kFloat32;
  if (a.out(0).dtype != out)
    return node_error(n, "output dtype {}, expected {}", dtype_name(a.out(0).dtype),
                      dtype_name(out));
  const int64_t count = num_elements(in_dims(a, 0));
  const bool has_zp = a.has_input(2);
  // x, y: [count]; scale, zero point: scalar, [axis_len] or blocked
  return launch_kernel(a, [=](const std::vector<TensorView>& in,
                              const std::vector<TensorView>& outs, void*, cudaStream_t s) {
    QuantParams q = p;
    q.scale = in[1].data;
    q.zero_point = has_zp ? in[2].data : nullptr;
    return launch_dequantize(xt, out, in[0].data, outs[0].data, count, q, s);
  });
}

}  // namespace

void register_elementwise_misc_kernels(KernelRegistry& r) {
  r.add("Sum", &make_variadic_op<VariadicOp::kSum>);
  r.add("Mean", &make_variadic_op<VariadicOp::kMean>);
  r.add("Max", &make_variadic_op<VariadicOp::kMax>);
  r.add("Min", &make_variadic_op<VariadicOp::kMin>);
  r.add("Where", &make_where);
  r.add("Clip", &make_clip);
  r.add("Cast", &make_cast);
  r.add("CastLike", &make_cast_like);
  r.add("Identity", &make_identity);
  r.add("Dropout", &make_dropout);
  r.add("QuantizeLinear", &make_quantize);
  r.add("DequantizeLinear", &make_dequantize);
}

}  // namespace tarmac::cuda::ew
