// CUDA elementwise family, host side: node validation and launch parameters for the unary and
// binary ops (the rest lives in elementwise_misc.cc). Each factory accepts exactly what the CPU
// reference kernel (src/backends/cpu/elementwise_*.cc) computes and refuses the rest.
#include <cuda_runtime.h>

#include <string>
#include <utility>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/activation.cuh"
#include "backends/cuda/kernels/elementwise.cuh"
#include "backends/cuda/kernels/elementwise_host.cuh"
#include "ir/fused_ops.h"
#include "ir/op_registry.h"

namespace tarmac::cuda {

// The device code takes Activation as an int; these must mirror ir/fused_ops.h.
static_assert(static_cast<int>(Activation::kNone) == kActNone);
static_assert(static_cast<int>(Activation::kRelu) == kActRelu);
static_assert(static_cast<int>(Activation::kClip) == kActClip);
static_assert(static_cast<int>(Activation::kLeakyRelu) == kActLeakyRelu);
static_assert(static_cast<int>(Activation::kSigmoid) == kActSigmoid);
static_assert(static_cast<int>(Activation::kHardSigmoid) == kActHardSigmoid);
static_assert(static_cast<int>(Activation::kHardSwish) == kActHardSwish);
static_assert(static_cast<int>(Activation::kSilu) == kActSilu);
static_assert(static_cast<int>(Activation::kGelu) == kActGelu);
static_assert(static_cast<int>(Activation::kGeluTanh) == kActGeluTanh);
static_assert(static_cast<int>(Activation::kMish) == kActMish);
static_assert(static_cast<int>(Activation::kTanh) == kActTanh);
static_assert(kActCount == kActTanh + 1);

Status launch_activation_inplace(DType dtype, void* data, int64_t n, Activation act, float alpha,
                                 float beta, cudaStream_t stream) {
  if (dtype != DType::kFloat32 && dtype != DType::kFloat16 && dtype != DType::kBFloat16) {
    return unsupported("activation {} on {}: float32, float16 and bfloat16 only",
                       activation_name(act), dtype_name(dtype));
  }
  TARMAC_CUDA_CHECK(
      ew::launch_activation_raw(dtype, data, n, static_cast<int>(act), alpha, beta, stream));
  return Status::ok();
}

}  // namespace tarmac::cuda

namespace tarmac::cuda::ew {

// ---- shared host pieces (elementwise_host.cuh) ---------------------------------------------

LaunchKernel::LaunchKernel(const KernelArgs& a, Fn fn, size_t workspace)
    : what_(a.node.describe()),
      num_inputs_(a.node.inputs.size()),
      num_outputs_(a.node.outputs.size()),
      fn_(std::move(fn)),
      workspace_(workspace) {}

Status LaunchKernel::enqueue(const std::vector<TensorView>& inputs,
                             const std::vector<TensorView>& outputs, const LaunchContext& ctx) {
  if (inputs.size() < num_inputs_ || outputs.size() < num_outputs_) {
    return internal_error("{}: enqueue got {} inputs and {} outputs, expected {} and {}", what_,
                          inputs.size(), outputs.size(), num_inputs_, num_outputs_);
  }
  if (workspace_ > 0 && (ctx.workspace == nullptr || ctx.workspace_bytes < workspace_)) {
    return internal_error("{}: needs {} workspace bytes, got {}", what_, workspace_,
                          ctx.workspace_bytes);
  }
  const cudaError_t e = fn_(inputs, outputs, ctx.workspace, stream_of(ctx));
  if (e != cudaSuccess) return cuda_error(e, what_.c_str(), __FILE__, __LINE__);
  return Status::ok();
}

StatusOr<std::unique_ptr<DeviceKernel>> launch_kernel(const KernelArgs& a, LaunchKernel::Fn fn,
                                                      size_t workspace) {
  return std::unique_ptr<DeviceKernel>(std::make_unique<LaunchKernel>(a, std::move(fn), workspace));
}

Dims in_dims(const KernelArgs& a, size_t i) { return static_dims(a.in(i).shape); }
Dims out_dims(const KernelArgs& a, size_t i) { return static_dims(a.out(i).shape); }

template <int N>
StatusOr<BroadcastLayout<N>> broadcast_layout(const KernelArgs& a, const Dims& out,
                                              const std::vector<Dims>& ins) {
  for (size_t k = 0; k < ins.size(); ++k) {
    const Dims& d = ins[k];
    bool ok = d.size() <= out.size();
    for (size_t j = 0; ok && j < d.size(); ++j) {
      const int64_t o = out[out.size() - d.size() + j];
      ok = d[j] == o || d[j] == 1;
    }
    if (!ok) {
      return node_error(a.node, "operand {} of shape {} does not broadcast to the output {}", k,
                        dims_to_string(d), dims_to_string(out));
    }
  }
  BroadcastLayout<N> l;
  if (!make_broadcast_layout<N>(out, ins, &l)) {
    return unsupported("{}: broadcasting {} needs more than {} dims after merging",
                       a.node.describe(), dims_to_string(out), kMaxRank);
  }
  return l;
}
template StatusOr<BroadcastLayout<2>> broadcast_layout<2>(const KernelArgs&, const Dims&,
                                                          const std::vector<Dims>&);
template StatusOr<BroadcastLayout<3>> broadcast_layout<3>(const KernelArgs&, const Dims&,
                                                          const std::vector<Dims>&);

namespace {

// ---- unary --------------------------------------------------------------------------------

enum class Allowed { kFloat, kSignedNumeric, kNumeric, kBool };

bool is_signed_numeric(DType t) {
  return is_floating(t) || t == DType::kInt8 || t == DType::kInt32 || t == DType::kInt64;
}

bool allowed(DType t, Allowed what) {
  switch (what) {
    case Allowed::kFloat:
      return is_floating(t);
    case Allowed::kSignedNumeric:
      return is_signed_numeric(t);
    case Allowed::kNumeric:
      return is_floating(t) || is_integer(t);
    case Allowed::kBool:
      return t == DType::kBool;
  }
  return false;
}

const char* allowed_name(Allowed what) {
  switch (what) {
    case Allowed::kFloat:
      return "floating-point types";
    case Allowed::kSignedNumeric:
      return "floating-point and signed integer types";
    case Allowed::kNumeric:
      return "numeric types";
    case Allowed::kBool:
      return "bool";
  }
  return "";
}

StatusOr<std::unique_ptr<DeviceKernel>> make_unary(const KernelArgs& a, UnaryOp op, Allowed what,
                                                   float alpha = 0.f, float beta = 0.f) {
  if (!a.has_input(0) || a.node.outputs.empty() || !a.node.outputs[0])
    return node_error(a.node, "expects 1 input and 1 output");
  const DType t = a.in(0).dtype;
  if (!allowed(t, what)) {
    return unsupported("{}: input dtype {} is not supported ({} only)", a.node.describe(),
                       dtype_name(t), allowed_name(what));
  }
  if (a.out(0).dtype != t || out_dims(a, 0) != in_dims(a, 0))
    return node_error(a.node, "output type {} does not match the input", a.out(0).to_string());
  const int64_t n = num_elements(in_dims(a, 0));
  // x, y: [n]
  return launch_kernel(a, [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                              void*, cudaStream_t s) {
    return launch_unary(op, t, in[0].data, out[0].data, n, alpha, beta, s);
  });
}

template <UnaryOp kOp, Allowed kWhat>
StatusOr<std::unique_ptr<DeviceKernel>> make_simple_unary(const KernelArgs& a) {
  return make_unary(a, kOp, kWhat);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_elu(const KernelArgs& a) {
  return make_unary(a, UnaryOp::kElu, Allowed::kFloat, a.node.attr_float("alpha", 1.0f));
}
StatusOr<std::unique_ptr<DeviceKernel>> make_selu(const KernelArgs& a) {
  return make_unary(a, UnaryOp::kSelu, Allowed::kFloat,
                    a.node.attr_float("alpha", 1.67326319217681884765625f),
                    a.node.attr_float("gamma", 1.05070102214813232421875f));
}
StatusOr<std::unique_ptr<DeviceKernel>> make_leaky_relu(const KernelArgs& a) {
  return make_unary(a, UnaryOp::kLeakyRelu, Allowed::kFloat, a.node.attr_float("alpha", 0.01f));
}
StatusOr<std::unique_ptr<DeviceKernel>> make_hard_sigmoid(const KernelArgs& a) {
  return make_unary(a, UnaryOp::kHardSigmoid, Allowed::kFloat, a.node.attr_float("alpha", 0.2f),
                    a.node.attr_float("beta", 0.5f));
}
StatusOr<std::unique_ptr<DeviceKernel>> make_gelu(const KernelArgs& a) {
  const std::string approximate = a.node.attr_string("approximate", "none");
  if (approximate == "none") return make_unary(a, UnaryOp::kGelu, Allowed::kFloat);
  if (approximate == "tanh") return make_unary(a, UnaryOp::kGeluTanh, Allowed::kFloat);
  return node_error(a.node, "attribute approximate is '{}', expected 'none' or 'tanh'",
                    approximate);
}

// ---- binary -------------------------------------------------------------------------------

enum class Accepts { kNumeric, kAny, kBool };

/// Opset < 7 binary ops broadcast B onto A only, with attribute broadcast=1, aligning B at
/// `axis` (default: trailing dims). B's dims padded to A's rank (CPU legacy_broadcast_dims).
StatusOr<Dims> legacy_broadcast_dims(const Node& node, const Dims& a, const Dims& b) {
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b) {
      return node_error(node,
                        "inputs have shapes {} and {}, which differ, and attribute broadcast is 0",
                        dims_to_string(a), dims_to_string(b));
    }
    return b;
  }
  const int64_t ra = static_cast<int64_t>(a.size());
  const int64_t rb = static_cast<int64_t>(b.size());
  if (num_elements(b) == 1 && rb <= ra) return Dims(a.size(), 1);
  if (rb > ra) {
    return node_error(node, "input B of shape {} has more dims than input A of shape {}",
                      dims_to_string(b), dims_to_string(a));
  }
  int64_t axis = node.has_attr("axis") ? node.attr_int("axis", 0) : ra - rb;
  if (axis < 0) axis += ra;
  if (axis < 0 || axis + rb > ra) {
    return node_error(node, "axis {} does not fit B of shape {} into A of shape {}",
                      node.attr_int("axis", 0), dims_to_string(b), dims_to_string(a));
  }
  Dims out(a.size(), 1);
  for (int64_t i = 0; i < rb; ++i) {
    const int64_t d = b[static_cast<size_t>(i)];
    if (d != 1 && d != a[static_cast<size_t>(axis + i)]) {
      return node_error(node, "input B of shape {} does not match A of shape {} at axis {}",
                        dims_to_string(b), dims_to_string(a), axis);
    }
    out[static_cast<size_t>(axis + i)] = d;
  }
  return out;
}

/// Dims of A and B ready for numpy broadcasting (legacy rule applied) and the output dims.
struct BinaryDims {
  Dims a, b, out;
};
StatusOr<BinaryDims> binary_dims(const KernelArgs& a, bool legacy_rule) {
  if (!a.has_input(0) || !a.has_input(1) || a.node.outputs.empty() || !a.node.outputs[0])
    return node_error(a.node, "expects 2 inputs and 1 output");
  BinaryDims d{in_dims(a, 0), in_dims(a, 1), {}};
  if (legacy_rule && a.opset < 7) {
    TARMAC_ASSIGN_OR_RETURN(d.b, legacy_broadcast_dims(a.node, d.a, d.b));
    d.out = d.a;
  } else {
    TARMAC_ASSIGN_OR_RETURN(d.out, broadcast_dims(a.node, {d.a, d.b}));
  }
  if (out_dims(a, 0) != d.out) {
    return node_error(a.node, "output shape {} differs from the broadcast shape {}",
                      dims_to_string(out_dims(a, 0)), dims_to_string(d.out));
  }
  return d;
}

Status check_accepts(const KernelArgs& a, DType t, Accepts what) {
  const bool ok = what == Accepts::kAny       ? t != DType::kUndefined
                  : what == Accepts::kNumeric ? is_floating(t) || is_integer(t)
                                              : t == DType::kBool;
  if (!ok) {
    return unsupported("{}: inputs have dtype {}, expected {}", a.node.describe(), dtype_name(t),
                       what == Accepts::kBool ? "bool" : "a numeric type");
  }
  return Status::ok();
}

StatusOr<std::unique_ptr<DeviceKernel>> make_binary(const KernelArgs& a, BinaryOp op,
                                                    bool legacy_rule, Accepts what) {
  TARMAC_ASSIGN_OR_RETURN(BinaryDims d, binary_dims(a, legacy_rule));
  const DType t = a.in(0).dtype;
  if (a.in(1).dtype != t) {
    return node_error(a.node, "inputs have different dtypes {} and {}", dtype_name(t),
                      dtype_name(a.in(1).dtype));
  }
  TARMAC_RETURN_IF_ERROR(check_accepts(a, t, what));
  const DType want = binary_outputs_bool(op) ? DType::kBool : t;
  if (a.out(0).dtype != want)
    return node_error(a.node, "output dtype {}, expected {}", dtype_name(a.out(0).dtype),
                      dtype_name(want));
  TARMAC_ASSIGN_OR_RETURN(BroadcastLayout<2> l, broadcast_layout<2>(a, d.out, {d.a, d.b}));
  // a, b: broadcast to out; y: out
  return launch_kernel(a, [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                              void*, cudaStream_t s) {
    return launch_binary(op, t, in[0].data, in[1].data, out[0].data, l, s);
  });
}

template <BinaryOp kOp, bool kLegacy, Accepts kWhat>
StatusOr<std::unique_ptr<DeviceKernel>> make_simple_binary(const KernelArgs& a) {
  return make_binary(a, kOp, kLegacy, kWhat);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_mod(const KernelArgs& a) {
  const int64_t fmod = a.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1)
    return node_error(a.node, "attribute fmod is {}, expected 0 or 1", fmod);
  return make_binary(a, fmod == 1 ? BinaryOp::kModFmod : BinaryOp::kModPy, false,
                     Accepts::kNumeric);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_pow(const KernelArgs& a) {
  TARMAC_ASSIGN_OR_RETURN(BinaryDims d, binary_dims(a, true));
  const DType base = a.in(0).dtype, exponent = a.in(1).dtype;
  TARMAC_RETURN_IF_ERROR(check_accepts(a, base, Accepts::kNumeric));
  TARMAC_RETURN_IF_ERROR(check_accepts(a, exponent, Accepts::kNumeric));
  if (a.out(0).dtype != base)
    return node_error(a.node, "output dtype {}, expected {}", dtype_name(a.out(0).dtype),
                      dtype_name(base));
  TARMAC_ASSIGN_OR_RETURN(BroadcastLayout<2> l, broadcast_layout<2>(a, d.out, {d.a, d.b}));
  // a (base), b (exponent): broadcast to out; y: out
  return launch_kernel(a, [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                              void*, cudaStream_t s) {
    return launch_pow(base, exponent, in[0].data, in[1].data, out[0].data, l, s);
  });
}

StatusOr<std::unique_ptr<DeviceKernel>> make_prelu(const KernelArgs& a) {
  if (!a.has_input(0) || !a.has_input(1) || a.node.outputs.empty() || !a.node.outputs[0])
    return node_error(a.node, "expects 2 inputs (X, slope)");
  const DType t = a.in(0).dtype;
  if (a.in(1).dtype != t) {
    return node_error(a.node, "inputs have different dtypes {} and {}", dtype_name(t),
                      dtype_name(a.in(1).dtype));
  }
  TARMAC_RETURN_IF_ERROR(check_accepts(a, t, Accepts::kNumeric));
  const Dims x = in_dims(a, 0);
  Dims slope = in_dims(a, 1);
  const int64_t slope_n = num_elements(slope);
  if (a.opset < 7 && slope.size() == 1 && x.size() >= 2 && slope_n > 1 && slope_n == x[1]) {
    // Before opset 7 a 1-D slope holds one value per channel (dim 1), not per last dim.
    slope = Dims(x.size() - 1, 1);
    slope[0] = slope_n;
  }
  TARMAC_ASSIGN_OR_RETURN(Dims out, broadcast_dims(a.node, {x, slope}));
  if (out != x || out_dims(a, 0) != x || a.out(0).dtype != t) {
    return node_error(a.node, "slope of shape {} does not broadcast to X of shape {}",
                      dims_to_string(slope), dims_to_string(x));
  }
  TARMAC_ASSIGN_OR_RETURN(BroadcastLayout<2> l, broadcast_layout<2>(a, x, {x, slope}));
  // x: [...]; slope: broadcast to x; y: like x
  return launch_kernel(a, [=](const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                              void*, cudaStream_t s) {
    return launch_binary(BinaryOp::kPRelu, t, in[0].data, in[1].data, out[0].data, l, s);
  });
}

}  // namespace
}  // namespace tarmac::cuda::ew

namespace tarmac::cuda {

void register_elementwise_kernels(KernelRegistry& r) {
  using namespace ew;  // NOLINT(build/namespaces): this family's factories
  using enum UnaryOp;
  r.add("Abs", &make_simple_unary<kAbs, Allowed::kNumeric>);
  r.add("Neg", &make_simple_unary<kNeg, Allowed::kSignedNumeric>);
  r.add("Sign", &make_simple_unary<kSign, Allowed::kNumeric>);
  r.add("Relu", &make_simple_unary<kRelu, Allowed::kSignedNumeric>);
  r.add("Ceil", &make_simple_unary<kCeil, Allowed::kFloat>);
  r.add("Floor", &make_simple_unary<kFloor, Allowed::kFloat>);
  r.add("Round", &make_simple_unary<kRound, Allowed::kFloat>);
  r.add("Reciprocal", &make_simple_unary<kReciprocal, Allowed::kFloat>);
  r.add("Sqrt", &make_simple_unary<kSqrt, Allowed::kFloat>);
  r.add("Exp", &make_simple_unary<kExp, Allowed::kFloat>);
  r.add("Log", &make_simple_unary<kLog, Allowed::kFloat>);
  r.add("Cos", &make_simple_unary<kCos, Allowed::kFloat>);
  r.add("Sin", &make_simple_unary<kSin, Allowed::kFloat>);
  r.add("Tanh", &make_simple_unary<kTanh, Allowed::kFloat>);
  r.add("Erf", &make_simple_unary<kErf, Allowed::kFloat>);
  r.add("Sigmoid", &make_simple_unary<kSigmoid, Allowed::kFloat>);
  r.add("Softplus", &make_simple_unary<kSoftplus, Allowed::kFloat>);
  r.add("HardSwish", &make_simple_unary<kHardSwish, Allowed::kFloat>);
  r.add("Not", &make_simple_unary<kNot, Allowed::kBool>);
  r.add("Elu", &make_elu);
  r.add("Selu", &make_selu);
  r.add("LeakyRelu", &make_leaky_relu);
  r.add("HardSigmoid", &make_hard_sigmoid);
  r.add("Gelu", &make_gelu);

  using enum BinaryOp;
  r.add("Add", &make_simple_binary<kAdd, true, Accepts::kNumeric>);
  r.add("Sub", &make_simple_binary<kSub, true, Accepts::kNumeric>);
  r.add("Mul", &make_simple_binary<kMul, true, Accepts::kNumeric>);
  r.add("Div", &make_simple_binary<kDiv, true, Accepts::kNumeric>);
  r.add("Equal", &make_simple_binary<kEqual, true, Accepts::kAny>);
  r.add("Greater", &make_simple_binary<kGreater, true, Accepts::kNumeric>);
  r.add("Less", &make_simple_binary<kLess, true, Accepts::kNumeric>);
  r.add("GreaterOrEqual", &make_simple_binary<kGreaterOrEqual, false, Accepts::kNumeric>);
  r.add("LessOrEqual", &make_simple_binary<kLessOrEqual, false, Accepts::kNumeric>);
  r.add("And", &make_simple_binary<kAnd, true, Accepts::kBool>);
  r.add("Or", &make_simple_binary<kOr, true, Accepts::kBool>);
  r.add("Xor", &make_simple_binary<kXor, true, Accepts::kBool>);
  r.add("Mod", &make_mod);
  r.add("Pow", &make_pow);
  r.add("PRelu", &make_prelu);

  register_elementwise_misc_kernels(r);
}

}  // namespace tarmac::cuda
