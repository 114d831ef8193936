// matmul_add_fusion: MatMul + constant Add becomes Gemm or an internal MatMul with bias.
#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

const Node* find_node(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n->name == name) return n.get();
  return nullptr;
}

struct Case {
  Dims a{3, 5};
  Dims b{5, 4};
  Dims bias{4};
  bool bias_first = false;
  bool b_constant = true;
  bool add_is_output = true;
};

// A -> MatMul(A, B) -> Add(bias) [-> Relu]
Model matmul_add_model(const Case& c) {
  GraphBuilder b;
  Value* a = b.input("a", c.a);
  Value* w = c.b_constant ? b.random_initializer("B", c.b) : b.input("B", c.b);
  Node* mm = b.node("MatMul", "mm", {a, w});
  Value* bias = b.random_initializer("bias", c.bias);
  Node* add = b.node(
      "Add", "add",
      c.bias_first ? std::vector<Value*>{bias, b.out(mm)} : std::vector<Value*>{b.out(mm), bias});
  if (c.add_is_output) {
    b.output(b.out(add));
  } else {
    b.output(b.out(b.node("Relu", "relu", {b.out(add)})));
  }
  return b.take();
}

TEST(MatMulAddFusion, BecomesGemm) {
  const std::vector<Case> cases = {
      {},
      {.bias = {1, 4}},
      {.bias = {3, 4}, .bias_first = true},
      {.bias = {}},
      {.bias = {3, 1}, .add_is_output = false},
  };
  for (bool sanitize : {false, true}) {
    for (size_t i = 0; i < cases.size(); ++i) {
      auto make = [c = cases[i]] { return matmul_add_model(c); };
      Model m = make();
      auto log = run_passes(m, {"matmul_add_fusion"}, /*allow_internal_ops=*/!sanitize);
      EXPECT_EQ(count_ops(m, "MatMul"), 0) << i;
      EXPECT_EQ(count_ops(m, "Add"), 0) << i;
      const Node* gemm = find_node(m, "mm + add");
      ASSERT_NE(gemm, nullptr) << i;
      EXPECT_EQ(gemm->op_type, "Gemm");
      EXPECT_TRUE(gemm->domain.empty());
      EXPECT_EQ(gemm->inputs[2]->name, "bias");
      EXPECT_TRUE(log_contains(log, "fused MatMul 'mm' + Add 'add' into Gemm 'mm + add'")) << i;
      expect_same_outputs(make, std::move(m));
    }
  }
}

TEST(MatMulAddFusion, KeepsGraphOutputName) {
  auto make = [] { return matmul_add_model({}); };
  Model m = make();
  run_passes(m, {"matmul_add_fusion"});
  ASSERT_EQ(m.graph.outputs.size(), 1u);
  EXPECT_EQ(m.graph.outputs[0]->name, "add");
  ASSERT_NE(m.graph.outputs[0]->producer, nullptr);
  EXPECT_EQ(m.graph.outputs[0]->producer->name, "mm + add");
  expect_same_outputs(make, std::move(m));
}

TEST(MatMulAddFusion, BecomesInternalMatMul) {
  const std::vector<Case> cases = {
      {.a = {2, 3, 5}},                                      // A rank 3
      {.a = {2, 3, 5}, .bias = {3, 4}, .bias_first = true},  // bias over the last two axes
      {.a = {2, 3, 5}, .b = {2, 5, 4}, .bias = {2, 1, 4}},   // batched B
      {.b_constant = false, .add_is_output = false},         // rank 2 but B is an input
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto make = [c = cases[i]] { return matmul_add_model(c); };
    Model m = make();
    auto log = run_passes(m, {"matmul_add_fusion"});
    EXPECT_EQ(count_ops(m, "Add"), 0) << i;
    EXPECT_EQ(count_ops(m, "Gemm"), 0) << i;
    const Node* mm = find_node(m, "mm + add");
    ASSERT_NE(mm, nullptr) << i;
    EXPECT_EQ(mm->op_type, "MatMul");
    EXPECT_EQ(mm->domain, kInternalDomain);
    ASSERT_EQ(mm->inputs.size(), 3u);
    EXPECT_EQ(mm->inputs[2]->name, "bias");
    EXPECT_TRUE(log_contains(log, "into internal MatMul with bias")) << i;
    expect_same_outputs(make, std::move(m));
  }
}

TEST(MatMulAddFusion, SymbolicBatchBecomesInternalMatMul) {
  GraphBuilder b;
  Value* a = b.input_shape("a", {Dim::sym("batch"), Dim(3), Dim(5)});
  Node* mm = b.node("MatMul", "mm", {a, b.random_initializer("B", {5, 4})});
  Node* add = b.node("Add", "add", {b.out(mm), b.random_initializer("bias", {1, 4})});
  b.output(b.out(add));
  Model m = b.take();
  run_passes(m, {"matmul_add_fusion"});
  EXPECT_EQ(count_ops(m, "Add"), 0);
  const Node* fused = find_node(m, "mm + add");
  ASSERT_NE(fused, nullptr);
  EXPECT_EQ(fused->domain, kInternalDomain);
}

TEST(MatMulAddFusion, SanitizeModeLeavesRank3Alone) {
  Model m = matmul_add_model({.a = {2, 3, 5}});
  auto log = run_passes(m, {"matmul_add_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_EQ(count_ops(m, "MatMul"), 1);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_TRUE(
      log_contains(log, "MatMul 'mm' + Add 'add' not fused: A has rank 3; Gemm needs rank-2 A"));
  EXPECT_TRUE(log_contains(log, "internal ops are off (sanitize mode)"));
}

TEST(MatMulAddFusion, SanitizeModeLeavesVariableBAlone) {
  Model m = matmul_add_model({.b_constant = false});
  auto log = run_passes(m, {"matmul_add_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_EQ(count_ops(m, "MatMul"), 1);
  EXPECT_TRUE(log_contains(log, "B 'B' is not constant"));
}

TEST(MatMulAddFusion, SkipsVariableBias) {
  GraphBuilder b;
  Node* mm = b.node("MatMul", "mm", {b.input("a", {3, 5}), b.random_initializer("B", {5, 4})});
  Node* add = b.node("Add", "add", {b.out(mm), b.input("bias", {4})});
  b.output(b.out(add));
  Model m = b.take();
  auto log = run_passes(m, {"matmul_add_fusion"});
  EXPECT_EQ(count_ops(m, "MatMul"), 1);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_TRUE(
      log_contains(log, "MatMul 'mm' + Add 'add' not fused: the bias 'bias' is not constant"));
}

TEST(MatMulAddFusion, SkipsBiasThatGrowsTheOutput) {
  // Product [3, 4] + bias [2, 3, 4], and product [1, 4] + bias [3, 4].
  for (const Case& c : {Case{.bias = {2, 3, 4}}, Case{.a = {1, 5}, .bias = {3, 4}}}) {
    Model m = matmul_add_model(c);
    auto log = run_passes(m, {"matmul_add_fusion"});
    EXPECT_EQ(count_ops(m, "Add"), 1) << dims_to_string(c.bias);
    EXPECT_TRUE(log_contains(log, "does not broadcast to the product's shape"))
        << dims_to_string(c.bias);
  }
}

TEST(MatMulAddFusion, SkipsSharedOrOutputProduct) {
  for (bool graph_output : {false, true}) {
    GraphBuilder b;
    Node* mm = b.node("MatMul", "mm", {b.input("a", {3, 5}), b.random_initializer("B", {5, 4})});
    Node* add = b.node("Add", "add", {b.out(mm), b.random_initializer("bias", {4})});
    b.output(b.out(add));
    if (graph_output) {
      b.output(b.out(mm));
    } else {
      b.output(b.out(b.node("Relu", "relu", {b.out(mm)})));
    }
    Model m = b.take();
    auto log = run_passes(m, {"matmul_add_fusion"});
    EXPECT_EQ(count_ops(m, "Add"), 1);
    EXPECT_TRUE(log_contains(
        log, graph_output ? "mm's output is a graph output" : "mm's output has 2 consumers"));
  }
}

// Two MatMuls share B; fusing one leaves the other (and its result) as it was.
TEST(MatMulAddFusion, SharedWeight) {
  auto make = [] {
    GraphBuilder b;
    Value* a = b.input("a", {3, 5});
    Value* w = b.random_initializer("B", {5, 4});
    Node* mm1 = b.node("MatMul", "mm1", {a, w});
    Node* mm2 = b.node("MatMul", "mm2", {a, w});
    b.output(b.out(b.node("Add", "add1", {b.out(mm1), b.random_initializer("bias", {4})})));
    b.output(b.out(mm2));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"matmul_add_fusion"});
  EXPECT_EQ(count_ops(m, "Gemm"), 1);
  const Node* mm2 = find_node(m, "mm2");
  ASSERT_NE(mm2, nullptr);
  EXPECT_EQ(mm2->op_type, "MatMul");
  EXPECT_EQ(mm2->inputs[1]->name, "B");
  expect_same_outputs(make, std::move(m));
}

}  // namespace
}  // namespace tarmac::testing
