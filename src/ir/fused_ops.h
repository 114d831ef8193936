// IR-internal fused nodes. The passes create them; backends run them; the exporter refuses them.
//
// Domain "tarmac", op type one of:
//   Conv, ConvTranspose, Gemm, MatMul  — the ONNX op at the model's opset, then
//       MatMul only: optional input 2 `bias`, added with numpy broadcasting (the broadcast
//       result has the product's shape);
//       Conv only: optional input 3 `residual` (input 2 `B` may then be absent), a tensor with
//       exactly the Conv output's shape and dtype, added after the bias and before the
//       activation: y = act(conv(x, W) + B + residual) (ResNet's Conv -> Add(shortcut) -> Relu);
//       attribute `activation` (string, see Activation) applied to the result, with
//       `activation_alpha` / `activation_beta` (floats): Clip min/max (absent: -inf/+inf),
//       LeakyRelu alpha (0.01), HardSigmoid alpha/beta (0.2/0.5).
//   LayerNormalization (opset-17 semantics), Gelu (opset-20 semantics, attribute
//       `approximate`) — recognized decompositions in models whose opset predates the op.
//   Conv / ConvTranspose with attribute `layout` = "NHWC" (builder/layout.h): 2-D only; X, Y
//       and the residual are channels-last [N, H, W, C], and the weight is stored [M, kH, kW,
//       C/group] (Conv) or [C, kH, kW, M/group] (ConvTranspose): the ONNX weight permuted by
//       (0, 2, 3, 1). Absent or "NCHW": the ONNX layout.
//   Transpose — a reformat layer the layout assignment inserted between an NCHW and an NHWC
//       region (perm (0, 2, 3, 1) or (0, 3, 1, 2)); the ONNX Transpose's semantics.
//   FusedElementwise — a chain of elementwise ops (elementwise_fusion) as one node: inputs 0..N-1
//       (N <= 8) of one dtype, float32, float16 or bfloat16, numpy-broadcast to the output;
//       attributes `program` (ints), `constants` (floats) and `ops` (string) encode a register
//       program (ir/elementwise_program.h) evaluated in float32 and rounded once to the dtype.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

inline constexpr std::string_view kInternalDomain = "tarmac";

enum class Activation {
  kNone,
  kRelu,
  kClip,
  kLeakyRelu,
  kSigmoid,
  kHardSigmoid,
  kHardSwish,
  kSilu,
  kGelu,
  kGeluTanh,
  kMish,
  kTanh,
};

/// "Relu", "Clip", ... as written in the `activation` attribute.
std::string_view activation_name(Activation a);
/// Parses the node's `activation` attribute (kNone when absent); error names the node.
StatusOr<Activation> activation_of(const Node& node);
/// Internal-domain node?
inline bool is_internal_node(const Node& n) { return n.domain == kInternalDomain; }
/// Is this node an internal channels-last Conv / ConvTranspose (`layout` = "NHWC")?
inline bool is_nhwc_node(const Node& n) {
  return is_internal_node(n) && n.attr_string("layout", "NCHW") == "NHWC";
}
/// Op types that may appear in the internal domain.
bool is_internal_op_type(std::string_view op_type);
/// A layer's type as layer tables print it: the op plus its fused parts ("MatMul+Bias+Gelu").
std::string layer_type(const Node& node);
/// Can `op_type` carry an activation epilogue?
inline bool takes_activation(std::string_view op) {
  return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

/// The activation's value at x (reference formula; alpha/beta as described above), computed
/// in C (float for float/half data, double for double).
template <typename C>
inline C apply_activation(Activation a, C x, C alpha, C beta) {
  switch (a) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > C(0) ? x : C(0);
    case Activation::kClip:
      return x < alpha ? alpha : (x > beta ? beta : x);
    case Activation::kLeakyRelu:
      return x < C(0) ? alpha * x : x;
    case Activation::kSigmoid:
      return C(1) / (C(1) + std::exp(-x));
    case Activation::kHardSigmoid: {
      const C y = alpha * x + beta;
      return y < C(0) ? C(0) : (y > C(1) ? C(1) : y);
    }
    case Activation::kHardSwish: {
      const C y = x / C(6) + C(0.5);
      return x * (y < C(0) ? C(0) : (y > C(1) ? C(1) : y));
    }
    case Activation::kSilu:
      return x / (C(1) + std::exp(-x));
    case Activation::kGelu:
      return C(0.5) * x * (C(1) + std::erf(x * C(M_SQRT1_2)));
    case Activation::kGeluTanh:
      return C(0.5) * x * (C(1) + std::tanh(C(0.7978845608028654) * (x + C(0.044715) * x * x * x)));
    case Activation::kMish:
      return x * std::tanh(x > C(20) ? x : std::log1p(std::exp(x)));
    case Activation::kTanh:
      return std::tanh(x);
  }
  return x;
}

}  // namespace tarmac
