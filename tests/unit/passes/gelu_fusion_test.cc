// GELU fusion: the exact (erf) and tanh decompositions in the orders exporters emit.
#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

Value* scalar(GraphBuilder& b, const std::string& name, float v) {
  return b.initializer(name, Tensor::scalar<float>(v));
}

const Node* find_op(const Model& m, const std::string& op) {
  for (const auto& n : m.graph.nodes)
    if (n->op_type == op) return n.get();
  return nullptr;
}

enum class Tail {
  kXThenHalf,  // (x * (1 + f)) * 0.5
  kHalfFirst,  // (x * 0.5) * (1 + f)
  kHalfOnSum,  // x * ((1 + f) * 0.5)
  kXThenDiv2,  // (x * (1 + f)) / 2
};

struct ExactForm {
  bool mul_inv_sqrt2 = false;  // Mul(x, 0.7071) instead of Div(x, 1.4142)
  Tail tail = Tail::kXThenHalf;
  bool commute = false;  // constants and x as the first operand of every Add/Mul
  float sqrt2 = 1.41421356f;
};

/// 1 + f, then the tail; returns the final node.
Node* gelu_tail(GraphBuilder& b, Value* x, Value* f, Tail tail, bool commute) {
  Value* one = scalar(b, "one", 1.f);
  Value* half = scalar(b, "half", 0.5f);
  Node* add = b.node("Add", "add", commute ? std::vector<Value*>{one, f} : std::vector{f, one});
  Value* a = b.out(add);
  switch (tail) {
    case Tail::kXThenHalf: {
      Node* m1 = b.node("Mul", "mul_x", commute ? std::vector{a, x} : std::vector{x, a});
      return b.node("Mul", "mul_half",
                    commute ? std::vector{half, b.out(m1)} : std::vector{b.out(m1), half});
    }
    case Tail::kHalfFirst: {
      Node* h = b.node("Mul", "mul_half", commute ? std::vector{half, x} : std::vector{x, half});
      return b.node("Mul", "mul_x", commute ? std::vector{a, b.out(h)} : std::vector{b.out(h), a});
    }
    case Tail::kHalfOnSum: {
      Node* q = b.node("Mul", "mul_half", commute ? std::vector{half, a} : std::vector{a, half});
      return b.node("Mul", "mul_x", commute ? std::vector{b.out(q), x} : std::vector{x, b.out(q)});
    }
    case Tail::kXThenDiv2: {
      Node* m1 = b.node("Mul", "mul_x", {x, a});
      return b.node("Div", "div2", {b.out(m1), scalar(b, "two", 2.f)});
    }
  }
  return nullptr;
}

Model exact_gelu(int64_t opset, ExactForm f) {
  GraphBuilder b(opset);
  Value* x = b.input("x", {2, 3, 16});
  Node* pre = f.mul_inv_sqrt2 ? b.node("Mul", "scale",
                                       f.commute ? std::vector{scalar(b, "c", 0.70710678f), x}
                                                 : std::vector{x, scalar(b, "c", 0.70710678f)})
                              : b.node("Div", "scale", {x, scalar(b, "c", f.sqrt2)});
  Node* erf = b.node("Erf", "erf", {b.out(pre)});
  Node* last = gelu_tail(b, x, b.out(erf), f.tail, f.commute);
  b.output(b.out(last));
  return b.take();
}

Model tanh_gelu(int64_t opset, bool pow_cube, bool commute) {
  GraphBuilder b(opset);
  Value* x = b.input("x", {2, 16});
  Value* cube = nullptr;
  if (pow_cube) {
    cube = b.out(b.node("Pow", "cube", {x, scalar(b, "three", 3.f)}));
  } else {
    Value* sq = b.out(b.node("Mul", "sq", {x, x}));
    cube = b.out(b.node("Mul", "cube", commute ? std::vector{sq, x} : std::vector{x, sq}));
  }
  Value* k = scalar(b, "kappa", 0.044715f);
  Value* w = b.out(b.node("Mul", "w", commute ? std::vector{cube, k} : std::vector{k, cube}));
  Value* s = b.out(b.node("Add", "s", commute ? std::vector{w, x} : std::vector{x, w}));
  Value* beta = scalar(b, "beta", 0.7978845608f);
  Value* in = b.out(b.node("Mul", "inner", commute ? std::vector{s, beta} : std::vector{beta, s}));
  Node* t = b.node("Tanh", "tanh", {in});
  Node* last = gelu_tail(b, x, b.out(t), Tail::kXThenHalf, commute);
  b.output(b.out(last));
  return b.take();
}

void expect_fused(const std::function<Model()>& make, const std::string& approximate,
                  const std::string& domain) {
  Model m = make();
  const std::string out_name = m.graph.outputs[0]->name;
  auto log = run_passes(m, {"gelu_fusion"});
  ASSERT_EQ(count_ops(m, "Gelu"), 1);
  EXPECT_EQ(m.graph.nodes.size(), 1u);
  const Node* g = find_op(m, "Gelu");
  EXPECT_EQ(g->attr_string("approximate", ""), approximate);
  EXPECT_EQ(g->domain, domain);
  EXPECT_EQ(g->inputs[0]->name, "x");
  EXPECT_EQ(m.graph.outputs[0]->name, out_name);
  EXPECT_EQ(m.graph.outputs[0]->producer, g);
  EXPECT_TRUE(log_contains(log, "into Gelu")) << (log.empty() ? "" : log[0]);
  expect_same_outputs(make, std::move(m));
}

TEST(GeluFusion, ExactDivThenHalf) {
  auto make = [] { return exact_gelu(17, {}); };
  expect_fused(make, "none", std::string(kInternalDomain));
  Model m = make();
  run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(find_op(m, "Gelu")->name, "scale + erf + add + mul_x + mul_half");
}

TEST(GeluFusion, ExactEveryTailAndOrder) {
  for (Tail tail : {Tail::kXThenHalf, Tail::kHalfFirst, Tail::kHalfOnSum, Tail::kXThenDiv2})
    for (bool mul_inv : {false, true})
      for (bool commute : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "tail " << static_cast<int>(tail) << " mul_inv "
                                          << mul_inv << " commute " << commute);
        ExactForm f;
        f.tail = tail;
        f.mul_inv_sqrt2 = mul_inv;
        f.commute = commute;
        expect_fused([f] { return exact_gelu(17, f); }, "none", std::string(kInternalDomain));
      }
}

TEST(GeluFusion, HalfFirstNamesInGraphOrder) {
  ExactForm f;
  f.tail = Tail::kHalfFirst;
  Model m = exact_gelu(17, f);
  run_passes(m, {"gelu_fusion"});
  ASSERT_NE(find_op(m, "Gelu"), nullptr);
  EXPECT_EQ(find_op(m, "Gelu")->name, "mul_half + scale + erf + add + mul_x");
}

TEST(GeluFusion, TanhForms) {
  for (bool pow_cube : {true, false})
    for (bool commute : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "pow " << pow_cube << " commute " << commute);
      expect_fused([=] { return tanh_gelu(17, pow_cube, commute); }, "tanh",
                   std::string(kInternalDomain));
    }
}

TEST(GeluFusion, StandardDomainFromOpset20) {
  expect_fused([] { return exact_gelu(20, {}); }, "none", "");
  expect_fused([] { return tanh_gelu(20, true, false); }, "tanh", "");
}

TEST(GeluFusion, SanitizeOldOpsetLeavesPatternWithReason) {
  Model m = exact_gelu(17, {});
  auto log = run_passes(m, {"gelu_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
  EXPECT_EQ(count_ops(m, "Erf"), 1);
  EXPECT_TRUE(log_contains(
      log, "GELU pattern at 'erf': Gelu needs opset 20, model has 17, and internal ops are off"));
}

TEST(GeluFusion, SanitizeOpset20WritesStandardGelu) {
  auto make = [] { return tanh_gelu(20, false, true); };
  Model m = make();
  run_passes(m, {"gelu_fusion"}, /*allow_internal_ops=*/false);
  ASSERT_EQ(count_ops(m, "Gelu"), 1);
  EXPECT_EQ(find_op(m, "Gelu")->domain, "");
  expect_same_outputs(make, std::move(m));
}

TEST(GeluFusion, ConstantTolerance) {
  ExactForm close;
  close.sqrt2 = 1.41421f;  // 2.5e-6 relative
  Model a = exact_gelu(17, close);
  run_passes(a, {"gelu_fusion"});
  EXPECT_EQ(count_ops(a, "Gelu"), 1);
  ExactForm off;
  off.sqrt2 = 1.414f;  // 1.5e-4 relative: another function
  Model b = exact_gelu(17, off);
  auto log = run_passes(b, {"gelu_fusion"});
  EXPECT_EQ(count_ops(b, "Gelu"), 0);
  EXPECT_EQ(count_ops(b, "Erf"), 1);
}

TEST(GeluFusion, IntermediateWithOtherReaderIsLeftAlone) {
  auto make = [] {
    Model m = exact_gelu(17, {});
    // erf's output also feeds a second graph output.
    Value* e = m.graph.find_value("erf");
    auto n = std::make_unique<Node>();
    n->op_type = "Relu";
    n->name = "side";
    n->inputs = {e};
    n->outputs = {m.graph.get_or_add_value("side")};
    m.graph.add_node(std::move(n));
    m.graph.find_value("side")->is_graph_output = true;
    m.graph.outputs.push_back(m.graph.find_value("side"));
    return m;
  };
  Model m = make();
  auto log = run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
  EXPECT_EQ(count_ops(m, "Erf"), 1);
  EXPECT_TRUE(log_contains(log, "GELU pattern at 'erf' not fused: intermediate 'erf' has 2 uses"));
  expect_same_outputs(make, std::move(m));
}

TEST(GeluFusion, IntermediateGraphOutputIsLeftAlone) {
  Model m = exact_gelu(17, {});
  Value* a = m.graph.find_value("add");
  a->is_graph_output = true;
  m.graph.outputs.push_back(a);
  auto log = run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
  EXPECT_TRUE(log_contains(log, "intermediate 'add' has 2 uses (it is a graph output)"));
}

TEST(GeluFusion, OtherXInTailIsNotGelu) {
  // x * 0.5 * (1 + erf(z / sqrt2)) with z != x is not GELU.
  GraphBuilder b(17);
  Value* x = b.input("x", {4, 4});
  Value* z = b.input("z", {4, 4});
  Node* pre = b.node("Div", "scale", {z, scalar(b, "c", 1.41421356f)});
  Node* erf = b.node("Erf", "erf", {b.out(pre)});
  b.output(b.out(gelu_tail(b, x, b.out(erf), Tail::kXThenHalf, false)));
  Model m = b.take();
  auto log = run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
  EXPECT_TRUE(log.empty());
}

TEST(GeluFusion, CubeOfAnotherValueIsNotGelu) {
  GraphBuilder b(17);
  Value* x = b.input("x", {8});
  Value* z = b.input("z", {8});
  Value* cube = b.out(b.node("Pow", "cube", {z, scalar(b, "three", 3.f)}));
  Value* w = b.out(b.node("Mul", "w", {scalar(b, "kappa", 0.044715f), cube}));
  Value* s = b.out(b.node("Add", "s", {x, w}));
  Value* in = b.out(b.node("Mul", "inner", {scalar(b, "beta", 0.7978845608f), s}));
  Node* t = b.node("Tanh", "tanh", {in});
  b.output(b.out(gelu_tail(b, x, b.out(t), Tail::kXThenHalf, false)));
  Model m = b.take();
  run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
  EXPECT_EQ(count_ops(m, "Tanh"), 1);
}

TEST(GeluFusion, BroadcastingConstantIsNotGelu) {
  // A [1, 1, 1] "scalar" against x [16] would change the output's rank.
  GraphBuilder b(17);
  Value* x = b.input("x", {16});
  Node* pre = b.node("Div", "scale",
                     {x, b.initializer("c", Tensor::from_vector<float>({1.41421356f}, {1, 1, 1}))});
  Node* erf = b.node("Erf", "erf", {b.out(pre)});
  b.output(b.out(gelu_tail(b, x, b.out(erf), Tail::kXThenHalf, false)));
  Model m = b.take();
  run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 0);
}

TEST(GeluFusion, TwoBlocksShareNothing) {
  auto make = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {3, 5});
    Node* pre = b.node("Div", "scale", {x, scalar(b, "c", 1.41421356f)});
    Node* erf = b.node("Erf", "erf", {b.out(pre)});
    Node* g1 = gelu_tail(b, x, b.out(erf), Tail::kXThenHalf, false);
    Value* y = b.out(g1);
    Node* pre2 = b.node("Mul", "scale2", {y, scalar(b, "c2", 0.70710678f)});
    Node* erf2 = b.node("Erf", "erf2", {b.out(pre2)});
    Node* add2 = b.node("Add", "add2", {b.out(erf2), scalar(b, "one2", 1.f)});
    Node* h2 = b.node("Mul", "h2", {y, scalar(b, "half2", 0.5f)});
    Node* m2 = b.node("Mul", "m2", {b.out(h2), b.out(add2)});
    b.output(b.out(m2));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"gelu_fusion"});
  EXPECT_EQ(count_ops(m, "Gelu"), 2);
  EXPECT_EQ(m.graph.nodes.size(), 2u);
  expect_same_outputs(make, std::move(m));
}

}  // namespace
}  // namespace tarmac::testing
