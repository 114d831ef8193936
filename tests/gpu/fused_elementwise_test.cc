// CUDA FusedElementwise (ir/elementwise_program.h) against the CPU reference kernel: every
// opcode in every float type over odd and broadcast shapes, long programs that use all
// registers and eight rank-8 inputs, special values, and the programs the fusion pass writes.
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_util.h"
#include "ir/elementwise_program.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

constexpr DType kFloatTypes[] = {DType::kFloat32, DType::kFloat16, DType::kBFloat16};

/// Random floats in [shift - scale, shift + scale] of dtype t (float16/bfloat16 via float32).
Tensor rnd(DType t, const Dims& d, uint64_t seed, float scale = 2.f, float shift = 0.f) {
  Tensor f = random_tensor(DType::kFloat32, d, seed);
  float* p = f.data<float>();
  for (int64_t i = 0; i < f.numel(); ++i) p[i] = p[i] * scale + shift;
  return t == DType::kFloat32 ? f : f.cast(t);
}

/// Both sides compute in float and round once, so half types differ only where float
/// ulps of the two math libraries tip a rounding.
double tol_for(DType t) { return t == DType::kFloat32 ? 1e-5 : 1e-2; }

std::string label(std::string_view a, DType t, const Dims& d) {
  return std::string(a).append(" ").append(dtype_name(t)).append(" ").append(dims_to_string(d));
}

/// The node for `p` with its attributes; inputs are added by the caller.
GpuCase fused_case(const EwProgram& p) {
  GpuCase c{std::string(kFusedElementwiseOp)};
  c.domain = "tarmac";
  Node n;
  set_program_attrs(p, &n);
  c.attrs = n.attrs;
  return c;
}

EwProgram finish(const EwProgramBuilder& b) {
  auto p = b.finish();
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return p.is_ok() ? std::move(p).value() : EwProgram{};
}

/// op(x) * y for unary ops (parameters as the fusion pass would set them), op(x, y) for
/// binary ones.
EwProgram one_op_program(EwOp op) {
  EwProgramBuilder b(2);
  const EwRef x = b.input(0), y = b.input(1);
  if (ew_op_info(op).operands == 2) {
    b.binary(op, x, y);
  } else {
    float p0 = 0.f, p1 = 0.f;
    if (op == EwOp::kHardSigmoid) p0 = 0.3f, p1 = 0.4f;
    if (op == EwOp::kLeakyRelu) p0 = 0.2f;
    if (op == EwOp::kElu) p0 = 0.7f;
    if (op == EwOp::kClip) p0 = -0.5f, p1 = 0.6f;
    b.binary(EwOp::kMul, b.unary(op, x, p0, p1), y);
  }
  return finish(b);
}

TEST(CudaFusedElementwise, EveryOpcodeAllFloatTypesAndShapes) {
  TARMAC_REQUIRE_GPU();
  // Same shape (odd sizes; 1000003 takes the vectorized path and its tail), broadcasts of
  // several kinds, a scalar, an empty tensor.
  const std::vector<std::pair<Dims, Dims>> shapes = {
      {{1}, {1}},          {{17}, {17}}, {{1000003}, {1000003}}, {{2, 3, 5}, {3, 1}},
      {{4, 1, 6}, {5, 1}}, {{}, {2, 3}}, {{0, 3}, {1, 3}},       {{1, 1000}, {257, 1}},
  };
  for (int code = 0; code < kEwOpCount; ++code) {
    const EwOp op = static_cast<EwOp>(code);
    const EwProgram p = one_op_program(op);
    for (DType t : kFloatTypes) {
      for (const auto& [dx, dy] : shapes) {
        SCOPED_TRACE(label(ew_op_info(op).name, t, dx) + " " + dims_to_string(dy));
        GpuCase c = fused_case(p);
        c.input(rnd(t, dx, 1)).input(rnd(t, dy, 2));
        expect_gpu_matches_cpu(c, tol_for(t));
      }
    }
  }
}

TEST(CudaFusedElementwise, SpecialValues) {
  TARMAC_REQUIRE_GPU();
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> xs = {nan,  inf,  -inf,  0.f,    -0.f,  1.f, -1.f, 2.f,
                                 -2.f, 0.5f, 100.f, -100.f, 1e-3f, 3.f, -3.f, 1e30f};
  std::vector<float> ys(xs.rbegin(), xs.rend());
  ys[3] = 2.f;  // an exponent of 2 takes Pow's squaring branch
  const Tensor x = Tensor::from_vector<float>(xs, {16});
  const Tensor y = Tensor::from_vector<float>(ys, {16});
  for (int code = 0; code < kEwOpCount; ++code) {
    const EwOp op = static_cast<EwOp>(code);
    const EwProgram p = one_op_program(op);
    for (DType t : kFloatTypes) {
      SCOPED_TRACE(label(ew_op_info(op).name, t, {16}));
      GpuCase c = fused_case(p);
      c.input(t == DType::kFloat32 ? x : x.cast(t)).input(t == DType::kFloat32 ? y : y.cast(t));
      expect_gpu_matches_cpu(c, tol_for(t));
    }
  }
}

TEST(CudaFusedElementwise, AllRegistersEightRank8Inputs) {
  // sum_k sigmoid(x_k) * x_k with every sigmoid computed before any product: all 8 inputs
  // and 8 temporaries are live at once, so all 16 registers are used.
  EwProgramBuilder b(8);
  std::vector<EwRef> s;
  for (int k = 0; k < 8; ++k) s.push_back(b.unary(EwOp::kSigmoid, b.input(k)));
  EwRef acc = b.binary(EwOp::kMul, s[0], b.input(0));
  for (int k = 1; k < 8; ++k)
    acc = b.binary(EwOp::kAdd, acc, b.binary(EwOp::kMul, s[k], b.input(k)));
  const EwProgram p = finish(b);
  ASSERT_EQ(p.num_registers, kEwMaxRegisters);
  TARMAC_REQUIRE_GPU();  // after the program checks, which need no device
  const std::vector<Dims> shapes = {{2, 1, 3, 1, 2, 1, 3, 2},
                                    {1, 2, 1, 2, 1, 3, 3, 1},
                                    {3, 2},
                                    {2, 1, 1, 1, 1, 1, 1, 1},
                                    {1},
                                    {2, 2, 3, 2, 2, 3, 3, 2},
                                    {3, 1},
                                    {}};
  for (DType t : kFloatTypes) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    GpuCase c = fused_case(p);
    for (size_t k = 0; k < shapes.size(); ++k) c.input(rnd(t, shapes[k], 10 + k));
    expect_gpu_matches_cpu(c, tol_for(t));
    // The same program on same-shape inputs takes the vectorized path.
    GpuCase flat = fused_case(p);
    for (size_t k = 0; k < shapes.size(); ++k) flat.input(rnd(t, {4099}, 20 + k));
    expect_gpu_matches_cpu(flat, tol_for(t));
  }
}

TEST(CudaFusedElementwise, LongProgramWithConstantOperands) {
  // 32 instructions over three inputs; constants as first, second and both operands.
  EwProgramBuilder b(3);
  const EwRef x = b.input(0), y = b.input(1), z = b.input(2);
  EwRef v = b.binary(EwOp::kSub, b.constant(1.f), x);  // 1 - x
  v = b.binary(EwOp::kMul, v, b.binary(EwOp::kAdd, b.constant(0.25f), b.constant(0.5f)));
  v = b.unary(EwOp::kLeakyRelu, v, 0.1f);
  EwRef w = b.unary(EwOp::kSoftplus, y);
  w = b.binary(EwOp::kPow, b.unary(EwOp::kAbs, w), b.constant(1.5f));
  w = b.unary(EwOp::kSqrt, b.binary(EwOp::kAdd, w, b.constant(1.f)));
  w = b.unary(EwOp::kLog, w);
  v = b.binary(EwOp::kDiv, v, b.binary(EwOp::kAdd, w, b.constant(2.f)));
  EwRef u = b.binary(EwOp::kMin, b.unary(EwOp::kErf, z), b.unary(EwOp::kSin, x));
  u = b.unary(EwOp::kHardSwish, b.binary(EwOp::kMul, u, b.constant(3.f)));
  u = b.unary(EwOp::kHardSigmoid, u, 0.2f, 0.5f);
  u = b.unary(EwOp::kElu, b.binary(EwOp::kSub, u, b.constant(0.5f)), 1.3f);
  v = b.binary(EwOp::kAdd, v, u);
  v = b.unary(EwOp::kClip, v, -2.f, 2.f);
  v = b.binary(EwOp::kMul, b.unary(EwOp::kTanh, v), b.unary(EwOp::kExp, b.unary(EwOp::kNeg, y)));
  v = b.binary(EwOp::kAdd, v, b.unary(EwOp::kFloor, b.binary(EwOp::kMul, z, b.constant(4.f))));
  v = b.unary(EwOp::kReciprocal, b.binary(EwOp::kAdd, b.unary(EwOp::kRelu, v), b.constant(1.f)));
  // Max, Cos and Ceil do not fit in the 32 instructions; the one-op tests cover them.
  const EwProgram p = finish(b);
  ASSERT_EQ(p.code.size(), static_cast<size_t>(kEwMaxInstructions));
  TARMAC_REQUIRE_GPU();
  for (DType t : kFloatTypes) {
    for (const auto& d : std::vector<std::vector<Dims>>{
             {{2, 3, 5}, {5}, {3, 1}}, {{1000}, {1000}, {1000}}, {{1, 7}, {9, 1}, {}}}) {
      SCOPED_TRACE(label("long", t, d[0]));
      GpuCase c = fused_case(p);
      c.input(rnd(t, d[0], 31)).input(rnd(t, d[1], 32)).input(rnd(t, d[2], 33));
      expect_gpu_matches_cpu(c, tol_for(t));
    }
  }
}

TEST(CudaFusedElementwise, ProgramsTheFusionPassWrites) {
  TARMAC_REQUIRE_GPU();
  // x * sigmoid(x) * 0.5 + y, and a GELU-like chain with a per-channel weight.
  auto make = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {2, 8, 5, 7});
    Value* y = b.input("y", {1, 8, 1, 1});
    Node* s = b.node("Sigmoid", "s", {x});
    Node* m = b.node("Mul", "m", {x, b.out(s)});
    Node* h = b.node("Mul", "h", {b.out(m), b.initializer("half", Tensor::scalar(0.5f))});
    b.output(b.out(b.node("Add", "o", {b.out(h), y})));
    Node* e =
        b.node("Erf", "e", {b.out(b.node("Div", "d", {x, b.random_initializer("w", {8, 1, 1})}))});
    Node* a = b.node("Add", "a", {b.out(e), b.initializer("one", Tensor::scalar(1.f))});
    b.output(b.out(b.node("Mul", "g", {b.out(a), x})));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"elementwise_fusion"});
  int fused = 0;
  for (const auto& n : m.graph.nodes) {
    if (n->op_type != kFusedElementwiseOp) continue;
    ++fused;
    for (DType t : kFloatTypes) {
      SCOPED_TRACE(std::string(n->name).append(" ").append(dtype_name(t)));
      GpuCase c(n->op_type);
      c.domain = n->domain;
      c.attrs = n->attrs;
      uint64_t seed = 40;
      for (const Value* v : n->inputs) {
        const Dims d = static_dims(v->type.shape);
        c.input(v->constant ? (t == DType::kFloat32 ? *v->constant : v->constant->cast(t))
                            : rnd(t, d, seed++),
                v->constant != nullptr);
      }
      expect_gpu_matches_cpu(c, tol_for(t));
    }
  }
  EXPECT_EQ(fused, 2);
}

}  // namespace
}  // namespace tarmac::testing
