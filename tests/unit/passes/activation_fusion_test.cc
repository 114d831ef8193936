// Activation fusion: Conv/ConvTranspose/Gemm/MatMul + activation -> one internal node.
#include <gtest/gtest.h>

#include <limits>

#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

const Node* find_op(const Model& m, const std::string& op) {
  for (const auto& n : m.graph.nodes)
    if (n->op_type == op) return n.get();
  return nullptr;
}

Value* scalar(GraphBuilder& b, const std::string& name, float v) {
  return b.initializer(name, Tensor::scalar<float>(v));
}

/// Conv 'conv' [1, 3, 6, 6] -> [1, 4, 6, 6] with bias.
Value* conv(GraphBuilder& b) {
  Value* x = b.input("x", {1, 3, 6, 6});
  Node* c = b.node("Conv", "conv",
                   {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4})});
  set_ints(c, "pads", {1, 1, 1, 1});
  return b.out(c);
}

struct Case {
  std::string label;
  int64_t opset;
  Activation act;
  std::function<Value*(GraphBuilder&, Value*)> build;  // activation chain on y
  std::string name;                                    // expected fused name
};

Value* unary(GraphBuilder& b, Value* y, const std::string& op, const std::string& name) {
  return b.out(b.node(op, name, {y}));
}

std::vector<Case> cases() {
  std::vector<Case> c;
  auto single = [](const std::string& op) {
    return [op](GraphBuilder& b, Value* y) { return unary(b, y, op, "act"); };
  };
  c.push_back({"Relu", 13, Activation::kRelu, single("Relu"), "conv + act"});
  c.push_back({"Sigmoid", 13, Activation::kSigmoid, single("Sigmoid"), "conv + act"});
  c.push_back({"Tanh", 13, Activation::kTanh, single("Tanh"), "conv + act"});
  c.push_back({"HardSwish", 14, Activation::kHardSwish, single("HardSwish"), "conv + act"});
  c.push_back({"Gelu", 20, Activation::kGelu, single("Gelu"), "conv + act"});
  c.push_back({"GeluTanh", 20, Activation::kGeluTanh,
               [](GraphBuilder& b, Value* y) {
                 Node* n = b.node("Gelu", "act", {y});
                 set_string(n, "approximate", "tanh");
                 return b.out(n);
               },
               "conv + act"});
  c.push_back({"LeakyRelu", 13, Activation::kLeakyRelu,
               [](GraphBuilder& b, Value* y) {
                 Node* n = b.node("LeakyRelu", "act", {y});
                 set_float(n, "alpha", 0.3f);
                 return b.out(n);
               },
               "conv + act"});
  c.push_back({"LeakyReluDefault", 13, Activation::kLeakyRelu, single("LeakyRelu"), "conv + act"});
  c.push_back({"HardSigmoid", 13, Activation::kHardSigmoid,
               [](GraphBuilder& b, Value* y) {
                 Node* n = b.node("HardSigmoid", "act", {y});
                 set_float(n, "alpha", 0.3f);
                 return b.out(n);
               },
               "conv + act"});
  c.push_back({"Relu6Inputs", 13, Activation::kClip,
               [](GraphBuilder& b, Value* y) {
                 return b.out(b.node("Clip", "act", {y, scalar(b, "lo", 0), scalar(b, "hi", 6)}));
               },
               "conv + act"});
  c.push_back({"ClipMinOnly", 13, Activation::kClip,
               [](GraphBuilder& b, Value* y) {
                 return b.out(b.node("Clip", "act", {y, scalar(b, "lo", -0.25f)}));
               },
               "conv + act"});
  c.push_back({"ClipMaxOnly", 13, Activation::kClip,
               [](GraphBuilder& b, Value* y) {
                 return b.out(b.node("Clip", "act", {y, nullptr, scalar(b, "hi", 0.2f)}));
               },
               "conv + act"});
  c.push_back({"ClipAttributes", 6, Activation::kClip,
               [](GraphBuilder& b, Value* y) {
                 Node* n = b.node("Clip", "act", {y});
                 set_float(n, "min", -0.1f);
                 set_float(n, "max", 0.4f);
                 return b.out(n);
               },
               "conv + act"});
  c.push_back({"Silu", 13, Activation::kSilu,
               [](GraphBuilder& b, Value* y) {
                 Value* s = unary(b, y, "Sigmoid", "sig");
                 return b.out(b.node("Mul", "mul", {y, s}));
               },
               "conv + sig + mul"});
  c.push_back({"SiluCommuted", 13, Activation::kSilu,
               [](GraphBuilder& b, Value* y) {
                 Value* s = unary(b, y, "Sigmoid", "sig");
                 return b.out(b.node("Mul", "mul", {s, y}));
               },
               "conv + sig + mul"});
  c.push_back({"Mish", 13, Activation::kMish,
               [](GraphBuilder& b, Value* y) {
                 Value* t = unary(b, unary(b, y, "Softplus", "sp"), "Tanh", "tanh");
                 return b.out(b.node("Mul", "mul", {t, y}));
               },
               "conv + sp + tanh + mul"});
  return c;
}

TEST(ActivationFusion, ConvWithEveryActivation) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label);
    auto make = [&c] {
      GraphBuilder b(c.opset);
      Value* y = conv(b);
      b.output(c.build(b, y));
      return b.take();
    };
    Model m = make();
    const std::string out_name = m.graph.outputs[0]->name;
    auto log = run_passes(m, {"activation_fusion"});
    ASSERT_EQ(m.graph.nodes.size(), 1u);
    const Node* f = m.graph.nodes[0].get();
    EXPECT_EQ(f->op_type, "Conv");
    EXPECT_EQ(f->domain, kInternalDomain);
    EXPECT_EQ(f->attr_string("activation", ""), activation_name(c.act));
    EXPECT_EQ(f->name, c.name);
    EXPECT_EQ(f->attr_ints("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(m.graph.outputs[0]->name, out_name);
    EXPECT_EQ(m.graph.outputs[0]->producer, f);
    EXPECT_TRUE(log_contains(log, "[activation_fusion] fused Conv 'conv' + "));
    expect_same_outputs(make, std::move(m));
  }
}

TEST(ActivationFusion, ClipAttributesAndRelu6Note) {
  GraphBuilder b(13);
  Value* y = conv(b);
  b.output(b.out(b.node("Clip", "act", {y, scalar(b, "lo", 0), scalar(b, "hi", 6)})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  const Node* f = find_op(m, "Conv");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->attr_float("activation_alpha", -1), 0.f);
  EXPECT_EQ(f->attr_float("activation_beta", -1), 6.f);
  EXPECT_TRUE(log_contains(log, "Relu6"));

  GraphBuilder b2(13);
  Value* y2 = conv(b2);
  b2.output(b2.out(b2.node("Clip", "act", {y2, scalar(b2, "lo", -1)})));
  Model m2 = b2.take();
  run_passes(m2, {"activation_fusion"});
  f = find_op(m2, "Conv");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->attr_float("activation_beta", 0), std::numeric_limits<float>::infinity());
}

Model producer_then_relu(const std::string& op) {
  GraphBuilder b(13);
  Value* y = nullptr;
  if (op == "Gemm") {
    Value* a = b.input("a", {3, 5});
    Node* g =
        b.node("Gemm", "p", {a, b.random_initializer("w", {4, 5}), b.random_initializer("c", {4})});
    set_int(g, "transB", 1);
    y = b.out(g);
  } else if (op == "MatMul") {
    Value* a = b.input("a", {2, 3, 5});
    y = b.out(b.node("MatMul", "p", {a, b.random_initializer("w", {5, 4})}));
  } else {  // ConvTranspose
    Value* x = b.input("x", {1, 3, 4, 4});
    Node* c = b.node("ConvTranspose", "p", {x, b.random_initializer("w", {3, 2, 3, 3})});
    set_ints(c, "strides", {2, 2});
    y = b.out(c);
  }
  b.output(b.out(b.node("Relu", "relu", {y})));
  return b.take();
}

TEST(ActivationFusion, GemmMatMulConvTranspose) {
  for (const std::string op : {"Gemm", "MatMul", "ConvTranspose"}) {
    SCOPED_TRACE(op);
    auto make = [op] { return producer_then_relu(op); };
    Model m = make();
    run_passes(m, {"activation_fusion"});
    ASSERT_EQ(m.graph.nodes.size(), 1u);
    EXPECT_EQ(m.graph.nodes[0]->op_type, op);
    EXPECT_EQ(m.graph.nodes[0]->domain, kInternalDomain);
    EXPECT_EQ(m.graph.nodes[0]->name, "p + relu");
    expect_same_outputs(make, std::move(m));
  }
}

TEST(ActivationFusion, SecondReaderIsLeftAloneWithReason) {
  GraphBuilder b(13);
  Value* y = conv(b);
  b.output(b.out(b.node("Sigmoid", "s1", {y})));
  b.output(b.out(b.node("Neg", "other", {y})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Sigmoid"), 1);
  EXPECT_EQ(find_op(m, "Conv")->domain, "");
  EXPECT_TRUE(log_contains(log,
                           "Conv 'conv' + Sigmoid 's1' not fused: conv's output has 2 "
                           "consumers"));
}

TEST(ActivationFusion, GraphOutputProducerIsLeftAlone) {
  GraphBuilder b(13);
  Value* y = conv(b);
  b.output(y);
  b.output(b.out(b.node("Relu", "r", {y})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Relu"), 1);
  EXPECT_TRUE(log_contains(log,
                           "Conv 'conv' + Relu 'r' not fused: conv's output is a graph "
                           "output"));
}

TEST(ActivationFusion, NonConstantClipBoundIsLeftAlone) {
  GraphBuilder b(13);
  Value* y = conv(b);
  Value* lo = b.input("lo", {});
  b.output(b.out(b.node("Clip", "clip", {y, lo})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Clip"), 1);
  EXPECT_TRUE(log_contains(log,
                           "Conv 'conv' + Clip 'clip' not fused: its min bound 'lo' is not "
                           "a constant scalar"));
}

TEST(ActivationFusion, SiluWithSharedSigmoidIsLeftAlone) {
  GraphBuilder b(13);
  Value* y = conv(b);
  Value* s = b.out(b.node("Sigmoid", "sig", {y}));
  b.output(b.out(b.node("Mul", "mul", {y, s})));
  b.output(s);
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Sigmoid"), 1);
  EXPECT_EQ(count_ops(m, "Mul"), 1);
  EXPECT_TRUE(log_contains(log,
                           "Conv 'conv' + Sigmoid 'sig' + Mul 'mul' not fused: 'sig' has 2 "
                           "uses"));
}

TEST(ActivationFusion, SiluWithThirdReaderIsLeftAlone) {
  GraphBuilder b(13);
  Value* y = conv(b);
  Value* s = b.out(b.node("Sigmoid", "sig", {y}));
  b.output(b.out(b.node("Mul", "mul", {y, s})));
  b.output(b.out(b.node("Neg", "neg", {y})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Sigmoid"), 1);
  EXPECT_TRUE(log_contains(log, "not fused: the output has 1 readers besides the pattern"));
}

TEST(ActivationFusion, SanitizeModeDoesNothingAndLogsNothing) {
  GraphBuilder b(13);
  Value* y = conv(b);
  Value* s = b.out(b.node("Sigmoid", "sig", {y}));
  b.output(b.out(b.node("Relu", "r", {b.out(b.node("Mul", "mul", {y, s}))})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"}, /*allow_internal_ops=*/false);
  EXPECT_EQ(m.graph.nodes.size(), 4u);
  EXPECT_EQ(find_op(m, "Conv")->domain, "");
  EXPECT_FALSE(log_contains(log, "activation_fusion"));
}

TEST(ActivationFusion, IntegerMatMulIsNotFused) {
  GraphBuilder b(14);
  Value* a = b.input("a", {2, 3}, DType::kInt32);
  Value* w = b.input("w", {3, 2}, DType::kInt32);
  b.output(b.out(b.node("Relu", "r", {b.out(b.node("MatMul", "mm", {a, w}))})));
  Model m = b.take();
  auto log = run_passes(m, {"activation_fusion"});
  EXPECT_EQ(count_ops(m, "Relu"), 1);
  EXPECT_TRUE(log.empty());
}

TEST(ActivationFusion, OneActivationPerNode) {
  auto make = [] {
    GraphBuilder b(13);
    Value* y = conv(b);
    Value* r = unary(b, y, "Relu", "r1");
    b.output(unary(b, r, "Sigmoid", "s2"));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"activation_fusion"});
  EXPECT_EQ(m.graph.nodes.size(), 2u);
  EXPECT_EQ(count_ops(m, "Sigmoid"), 1);
  EXPECT_EQ(find_op(m, "Conv")->attr_string("activation", ""), "Relu");
  expect_same_outputs(make, std::move(m));
}

TEST(ActivationFusion, InternalMatMulWithBiasTakesActivation) {
  auto make = [] {
    GraphBuilder b(13);
    Value* a = b.input("a", {2, 3, 5});
    Node* mm = b.node("MatMul", "mm",
                      {a, b.random_initializer("w", {5, 4}), b.random_initializer("bias", {4})});
    mm->domain = std::string(kInternalDomain);
    b.output(unary(b, b.out(mm), "Tanh", "t"));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"activation_fusion"});
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0]->attr_string("activation", ""), "Tanh");
  expect_same_outputs(make, std::move(m));
}

TEST(ActivationFusion, DecomposedGeluAfterMatMulBecomesOneNode) {
  // gelu_fusion makes an internal Gelu (opset 17), activation_fusion folds it into the MatMul.
  auto make = [] {
    GraphBuilder b(17);
    Value* a = b.input("a", {2, 6});
    Value* x = b.out(b.node("MatMul", "mm", {a, b.random_initializer("w", {6, 8})}));
    Value* d = b.out(b.node("Div", "div", {x, scalar(b, "c", 1.41421356f)}));
    Value* e = unary(b, d, "Erf", "erf");
    Value* p1 = b.out(b.node("Add", "add", {e, scalar(b, "one", 1)}));
    Value* p2 = b.out(b.node("Mul", "mul", {x, p1}));
    b.output(b.out(b.node("Mul", "half", {p2, scalar(b, "h", 0.5f)})));
    return b.take();
  };
  Model m = make();
  auto log = run_passes(m, {"gelu_fusion", "activation_fusion"});
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  const Node* f = m.graph.nodes[0].get();
  EXPECT_EQ(f->op_type, "MatMul");
  EXPECT_EQ(f->attr_string("activation", ""), "Gelu");
  EXPECT_EQ(f->name, "mm + div + erf + add + mul + half");
  EXPECT_EQ(m.graph.outputs[0]->name, "half");
  expect_same_outputs(make, std::move(m));
}

}  // namespace
}  // namespace tarmac::testing
