#include "ir/fused_ops.h"

#include <array>
#include <utility>

#include "ir/elementwise_program.h"

namespace tarmac {

namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 12> kNames = {{
    {Activation::kNone, ""},
    {Activation::kRelu, "Relu"},
    {Activation::kClip, "Clip"},
    {Activation::kLeakyRelu, "LeakyRelu"},
    {Activation::kSigmoid, "Sigmoid"},
    {Activation::kHardSigmoid, "HardSigmoid"},
    {Activation::kHardSwish, "HardSwish"},
    {Activation::kSilu, "Silu"},
    {Activation::kGelu, "Gelu"},
    {Activation::kGeluTanh, "GeluTanh"},
    {Activation::kMish, "Mish"},
    {Activation::kTanh, "Tanh"},
}};

}  // namespace

std::string_view activation_name(Activation a) {
  for (const auto& [act, name] : kNames)
    if (act == a) return name;
  return "";
}

StatusOr<Activation> activation_of(const Node& node) {
  if (!node.has_attr("activation")) return Activation::kNone;
  const std::string s = node.attr_string("activation", "");
  for (const auto& [act, name] : kNames)
    if (!name.empty() && name == s) return act;
  return node_error(node, "unknown fused activation '{}'", s);
}

std::string layer_type(const Node& n) {
  if (is_internal_node(n) && n.op_type == "Transpose")
    return n.attr_ints("perm") == Dims{0, 2, 3, 1} ? "Reformat(NCHW->NHWC)"
                                                   : "Reformat(NHWC->NCHW)";
  if (is_internal_node(n) && n.op_type == kFusedElementwiseOp)
    return std::string(kFusedElementwiseOp)
        .append("(")
        .append(n.attr_string("ops", ""))
        .append(")");
  std::string t = n.op_type;
  if (is_nhwc_node(n)) t.append("(NHWC)");
  if (n.op_type == "MatMul" && n.has_input(2)) t.append("+Bias");
  if (n.has_attr("activation")) t.append("+").append(n.attr_string("activation", ""));
  return t;
}

bool is_internal_op_type(std::string_view op) {
  return takes_activation(op) || op == "LayerNormalization" || op == "Gelu" || op == "Transpose" ||
         op == kFusedElementwiseOp;
}

}  // namespace tarmac
