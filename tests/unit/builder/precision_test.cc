#include "builder/precision.h"

#include <gtest/gtest.h>

#include "core/random.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

Model block() {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 3, 9, 11});
  Node* conv = b.node("Conv", "conv",
                      {x, b.random_initializer("w", {8, 3, 3, 3}), b.random_initializer("b", {8})});
  set_ints(conv, "pads", {1, 1, 1, 1});
  Node* bn =
      b.node("BatchNormalization", "bn",
             {b.out(conv), b.random_initializer("scale", {8}), b.random_initializer("bias", {8}),
              b.random_initializer("mean", {8}), b.random_initializer("var", {8}, 0.5f, 2.0f)});
  Node* sig = b.node("Sigmoid", "sig", {b.out(bn)});
  Node* mul = b.node("Mul", "mul", {b.out(bn), b.out(sig)});
  Node* up = b.node("Resize", "up",
                    {b.out(mul), nullptr,
                     b.initializer("scales", Tensor::from_vector<float>({1, 1, 2, 2}, {4}))});
  set_string(up, "mode", "nearest");
  Node* cast = b.node("Cast", "cast", {b.out(up)});
  set_int(cast, "to", 1);
  Node* soft = b.node("Softmax", "soft", {b.out(cast)});
  set_int(soft, "axis", 1);
  b.output(b.out(soft));
  b.output(b.out(sig));
  return b.take();
}

std::vector<Tensor> run(Model m) {
  ExecutorOptions o;
  o.optimize = false;
  auto ex = Executor::create(std::move(m), o);
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  std::vector<Tensor> out;
  if (!ex.is_ok()) return out;
  Status s = (*ex)->run({{"x", random_tensor(DType::kFloat32, {1, 3, 9, 11}, 3)}}, &out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out;
}

const Node* find(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n->name == name) return n.get();
  return nullptr;
}

TEST(Precision, HalfAndBFloat16KeepTheInterfaceAndTheAnswers) {
  const std::vector<Tensor> want = run(block());
  for (DType dt : {DType::kFloat16, DType::kBFloat16}) {
    Model m = block();
    run_passes(m, {});  // verify and infer (dead code elimination only)
    PrecisionOptions p;
    p.dtype = dt;
    Status s = assign_precision(m, p);
    ASSERT_TRUE(s.is_ok()) << s.message();
    // Interface unchanged: float32 in, float32 out, same names.
    EXPECT_EQ(m.graph.inputs[0]->type.dtype, DType::kFloat32);
    EXPECT_EQ(m.graph.outputs[0]->name, "soft");
    EXPECT_EQ(m.graph.outputs[0]->type.dtype, DType::kFloat32);
    EXPECT_EQ(m.graph.outputs[1]->type.dtype, DType::kFloat32);
    // Inside: the conv computes in half; Resize's scales stay float32; Cast targets half.
    const Node* conv = find(m, "conv");
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(conv->outputs[0]->type.dtype, dt);
    EXPECT_EQ(find(m, "up")->inputs[2]->type.dtype, DType::kFloat32);
    EXPECT_EQ(find(m, "cast")->attr_int("to", 0), static_cast<int64_t>(dt));
    const std::vector<Tensor> got = run(std::move(m));
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].dtype(), DType::kFloat32);
      EXPECT_LE(relative_l2_error(got[i], want[i]), dt == DType::kFloat16 ? 2e-3 : 1e-2)
          << dtype_name(dt) << " output " << i;
    }
  }
}

TEST(Precision, KeptLayersStayFloat32WithCastsAtTheBoundary) {
  Model m = block();
  run_passes(m, {});
  PrecisionOptions p;
  p.keep_fp32 = {"sig"};
  Status s = assign_precision(m, p);
  ASSERT_TRUE(s.is_ok()) << s.message();
  const Node* sig = find(m, "sig");
  EXPECT_EQ(sig->inputs[0]->type.dtype, DType::kFloat32);
  EXPECT_EQ(sig->outputs[0]->type.dtype, DType::kFloat32);
  EXPECT_EQ(find(m, "mul")->outputs[0]->type.dtype, DType::kFloat16);
  const std::vector<Tensor> want = run(block());
  const std::vector<Tensor> got = run(std::move(m));
  EXPECT_LE(relative_l2_error(got[0], want[0]), 2e-3);
}

TEST(Precision, RejectsNonHalfTarget) {
  Model m = block();
  run_passes(m, {});
  PrecisionOptions p;
  p.dtype = DType::kInt8;
  EXPECT_FALSE(assign_precision(m, p).is_ok());
}

TEST(Precision, FusedChainsWithGrowingOpsStayFloat32) {
  auto make = [](bool with_exp) {
    GraphBuilder b(17);
    Value* x = b.input("x", {1, 3, 9, 11});
    Node* c = b.node("Conv", "conv", {x, b.random_initializer("w", {4, 3, 1, 1})});
    Node* m =
        b.node("Mul", "m", {b.out(c), b.initializer("k", Tensor::from_vector<float>({3.f}, {}))});
    Node* e = b.node(with_exp ? "Exp" : "Neg", "e", {b.out(m)});
    Node* a = b.node("Add", "a", {b.out(e), b.out(c)});
    b.output(b.out(a));
    return b.take();
  };
  for (bool with_exp : {true, false}) {
    Model m = make(with_exp);
    run_passes(m, {"elementwise_fusion"});
    ASSERT_EQ(count_ops(m, "FusedElementwise"), 1);
    PrecisionOptions p;
    ASSERT_TRUE(assign_precision(m, p).is_ok());
    const Node* chain = nullptr;
    for (const auto& n : m.graph.nodes)
      if (n->op_type == "FusedElementwise") chain = n.get();
    ASSERT_NE(chain, nullptr);
    EXPECT_EQ(chain->outputs[0]->type.dtype, with_exp ? DType::kFloat32 : DType::kFloat16);
  }
}

}  // namespace
}  // namespace tarmac::testing
