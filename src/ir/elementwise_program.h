// FusedElementwise (ir/fused_ops.h): a chain of elementwise ops run as one small register
// program. This header owns the opcode table, the attribute encoding, the builder the fusion
// pass uses, the decoder the kernels use, and the scalar reference evaluator.
//   EwProgramBuilder b(2);                                  // inputs x (0) and y (1)
//   EwRef s = b.unary(EwOp::kSigmoid, b.input(0));
//   EwRef h = b.binary(EwOp::kMul, b.binary(EwOp::kMul, b.input(0), s), b.constant(0.5f));
//   b.binary(EwOp::kAdd, h, b.input(1));                   // the last instruction is the result
//   TARMAC_ASSIGN_OR_RETURN(EwProgram p, b.finish());
//   set_program_attrs(p, node);                            // program, constants, ops
//   TARMAC_ASSIGN_OR_RETURN(EwProgram q, decode_program(*node));  // validated
//
// Attribute encoding:
//   program    ints, 4 per instruction: opcode (EwOp's number), operand a, operand b,
//              destination register. An operand r >= 0 is register r, an operand -1 - j is
//              constants[j]. When the program starts, registers 0 .. num_inputs - 1 hold the
//              node's inputs (broadcast to the output shape); the others are undefined until
//              written. An instruction reads its operands before writing its destination, so
//              it may overwrite one of them. The last instruction's destination is the output.
//              Unary ops ignore b (encoded 0) except the parametric ones, whose b = -1 - j
//              names their first parameter: LeakyRelu and Elu alpha = constants[j]; HardSigmoid
//              alpha, beta and Clip min, max = constants[j], constants[j + 1].
//   constants  floats: folded scalar operands and op parameters.
//   ops        string: the ONNX op types in program order, joined by ',' (layer names only).
// All arithmetic is float32 whatever the storage type; the result is rounded once.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

struct InferContext;

inline constexpr std::string_view kFusedElementwiseOp = "FusedElementwise";

/// The opcode table, once: X(name = ONNX op type, opcode, operands, parameters). The numbers
/// are stored in the `program` attribute and mirrored by the CUDA kernel, so never renumber.
#define TARMAC_EW_OPS(X)   \
  X(Neg, 0, 1, 0)          \
  X(Abs, 1, 1, 0)          \
  X(Exp, 2, 1, 0)          \
  X(Log, 3, 1, 0)          \
  X(Sqrt, 4, 1, 0)         \
  X(Reciprocal, 5, 1, 0)   \
  X(Sigmoid, 6, 1, 0)      \
  X(Tanh, 7, 1, 0)         \
  X(Relu, 8, 1, 0)         \
  X(Erf, 9, 1, 0)          \
  X(Floor, 10, 1, 0)       \
  X(Ceil, 11, 1, 0)        \
  X(Sin, 12, 1, 0)         \
  X(Cos, 13, 1, 0)         \
  X(Softplus, 14, 1, 0)    \
  X(HardSigmoid, 15, 1, 2) \
  X(HardSwish, 16, 1, 0)   \
  X(LeakyRelu, 17, 1, 1)   \
  X(Elu, 18, 1, 1)         \
  X(Clip, 19, 1, 2)        \
  X(Add, 20, 2, 0)         \
  X(Sub, 21, 2, 0)         \
  X(Mul, 22, 2, 0)         \
  X(Div, 23, 2, 0)         \
  X(Pow, 24, 2, 0)         \
  X(Max, 25, 2, 0)         \
  X(Min, 26, 2, 0)

enum class EwOp : int32_t {
#define TARMAC_EW_ENUM(name, code, operands, params) k##name = code,
  TARMAC_EW_OPS(TARMAC_EW_ENUM)
#undef TARMAC_EW_ENUM
};
inline constexpr int kEwOpCount = 27;

/// Limits of one program; the CUDA kernel's parameter block is sized by them.
inline constexpr int kEwMaxInputs = 8;
inline constexpr int kEwMaxInstructions = 32;
inline constexpr int kEwMaxConstants = 64;
inline constexpr int kEwMaxRegisters = 16;

struct EwOpInfo {
  std::string_view name;
  int operands;    // 1 or 2
  int parameters;  // constants a unary op reads through operand b
};
/// Table entry of a valid opcode.
const EwOpInfo& ew_op_info(EwOp op);
/// The opcode of an ONNX op type; false when the op is not fusable.
bool ew_op_from_name(std::string_view op_type, EwOp* op);

struct EwInstruction {
  EwOp op = EwOp::kNeg;
  int32_t a = 0, b = 0, dst = 0;
};

/// A decoded, validated program.
struct EwProgram {
  int num_inputs = 0;
  int num_registers = 0;  // registers used: 1 + the highest register named
  std::vector<EwInstruction> code;
  std::vector<float> constants;

  int result_register() const { return code.back().dst; }
  /// "Sigmoid,Mul,Add"
  std::string ops() const;
};

/// Reads and validates the node's program; errors name the node and say what is wrong.
StatusOr<EwProgram> decode_program(const Node& node);
/// Writes `program`, `constants` and `ops` (replacing them).
void set_program_attrs(const EwProgram& p, Node* node);

/// Shape and type inference: every input float32, float16 or bfloat16 of one dtype, the
/// output their numpy broadcast; the program is validated.
Status infer_fused_elementwise(InferContext& ctx);

/// A value the builder's instructions read: input i, constant i or step i's result.
struct EwRef {
  enum class Kind { kInput, kConstant, kStep };
  Kind kind = Kind::kInput;
  int index = 0;
};

/// Collects instructions in SSA form and allocates registers in finish().
class EwProgramBuilder {
 public:
  explicit EwProgramBuilder(int num_inputs) : num_inputs_(num_inputs) {}
  EwRef input(int i) const { return {EwRef::Kind::kInput, i}; }
  /// A scalar operand (shared with equal constants already added).
  EwRef constant(float v);
  /// A unary op; p0/p1 are its parameters when it has any (see the encoding above).
  EwRef unary(EwOp op, EwRef x, float p0 = 0.f, float p1 = 0.f);
  EwRef binary(EwOp op, EwRef x, EwRef y);
  int num_steps() const { return static_cast<int>(steps_.size()); }
  /// The program whose result is the last step. Registers are reused once a value's last
  /// reader has run; kUnsupported when the limits above are exceeded.
  StatusOr<EwProgram> finish() const;

 private:
  struct Step {
    EwOp op;
    EwRef a, b;
    int param = -1;  // first parameter constant, parametric unary ops
  };
  int add_constants(const std::vector<float>& values);

  int num_inputs_;
  std::vector<Step> steps_;
  std::vector<float> constants_;
};

/// numpy.maximum / numpy.minimum as the CPU Max/Min kernels compute them: NaN in either
/// operand gives NaN.
template <typename C>
inline C ew_nan_max(C a, C b) {
  if (std::isnan(a)) return a;
  return a > b ? a : b;
}
template <typename C>
inline C ew_nan_min(C a, C b) {
  if (std::isnan(a)) return a;
  return a < b ? a : b;
}

/// One instruction's value in the compute type C (float for float32/float16/bfloat16 data):
/// x is operand a; y is operand b for binary ops, else the first parameter; z is the second
/// parameter. The formulas are those of the CPU reference kernels
/// (backends/cpu/elementwise_unary.cc, _binary.cc, _misc.cc), so fused equals unfused up to
/// the rounding of the intermediates.
template <EwOp kOp, typename C>
inline C ew_apply(C x, C y, C z) {
  static_assert(std::is_floating_point_v<C>, "programs compute in float or double");
  if constexpr (kOp == EwOp::kNeg) {
    return -x;
  } else if constexpr (kOp == EwOp::kAbs) {
    return std::abs(x);
  } else if constexpr (kOp == EwOp::kExp) {
    return std::exp(x);
  } else if constexpr (kOp == EwOp::kLog) {
    return std::log(x);
  } else if constexpr (kOp == EwOp::kSqrt) {
    return std::sqrt(x);
  } else if constexpr (kOp == EwOp::kReciprocal) {
    return C(1) / x;
  } else if constexpr (kOp == EwOp::kSigmoid) {
    // Two branches keep exp() from overflowing for large |x|.
    if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
    const C e = std::exp(x);
    return e / (C(1) + e);
  } else if constexpr (kOp == EwOp::kTanh) {
    return std::tanh(x);
  } else if constexpr (kOp == EwOp::kRelu) {
    return x > C(0) ? x : C(0);
  } else if constexpr (kOp == EwOp::kErf) {
    return std::erf(x);
  } else if constexpr (kOp == EwOp::kFloor) {
    return std::floor(x);
  } else if constexpr (kOp == EwOp::kCeil) {
    return std::ceil(x);
  } else if constexpr (kOp == EwOp::kSin) {
    return std::sin(x);
  } else if constexpr (kOp == EwOp::kCos) {
    return std::cos(x);
  } else if constexpr (kOp == EwOp::kSoftplus) {
    return x > C(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
  } else if constexpr (kOp == EwOp::kHardSigmoid) {
    // NaN stays NaN; a select rather than an early return, so loops over it vectorize.
    const C h = std::max(C(0), std::min(C(1), y * x + z));
    return x != x ? x : h;
  } else if constexpr (kOp == EwOp::kHardSwish) {
    return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5)));
  } else if constexpr (kOp == EwOp::kLeakyRelu) {
    return x < C(0) ? y * x : x;
  } else if constexpr (kOp == EwOp::kElu) {
    return x < C(0) ? y * std::expm1(x) : x;
  } else if constexpr (kOp == EwOp::kClip) {
    // Written so NaN stays NaN; with min > max every value becomes max (as the spec says).
    const C c = x < y ? y : x;
    return c > z ? z : c;
  } else if constexpr (kOp == EwOp::kAdd) {
    return x + y;
  } else if constexpr (kOp == EwOp::kSub) {
    return x - y;
  } else if constexpr (kOp == EwOp::kMul) {
    return x * y;
  } else if constexpr (kOp == EwOp::kDiv) {
    return x / y;
  } else if constexpr (kOp == EwOp::kPow) {
    // The CPU Pow squares for an exponent of 2 (exact, and what pow() would round to).
    return y == C(2) ? x * x : std::pow(x, y);
  } else if constexpr (kOp == EwOp::kMax) {
    return ew_nan_max(x, y);
  } else {
    static_assert(kOp == EwOp::kMin, "unhandled opcode");
    return ew_nan_min(x, y);
  }
}

/// Calls f(std::integral_constant<EwOp, op>{}) so loops over elements specialize on the op.
template <typename F>
decltype(auto) ew_dispatch(EwOp op, F&& f) {
  switch (op) {
#define TARMAC_EW_CASE(name, code, operands, params) \
  case EwOp::k##name:                                \
    return f(std::integral_constant<EwOp, EwOp::k##name>{});
    TARMAC_EW_OPS(TARMAC_EW_CASE)
#undef TARMAC_EW_CASE
  }
  return f(std::integral_constant<EwOp, EwOp::kNeg>{});  // not reached for a decoded program
}

/// ew_apply with the opcode known only at run time.
template <typename C>
inline C ew_apply(EwOp op, C x, C y, C z) {
  return ew_dispatch(op, [&](auto k) { return ew_apply<decltype(k)::value, C>(x, y, z); });
}

/// The program's value for one element whose inputs (broadcast) are `inputs[0..num_inputs)`,
/// in float: the scalar reference the block-wise kernels are checked against.
float evaluate_program(const EwProgram& p, const float* inputs);

}  // namespace tarmac
