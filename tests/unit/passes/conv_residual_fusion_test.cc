// Conv residual fusion: Conv -> Add(shortcut) (-> Relu) becomes one internal Conv with the
// shortcut as input 3 (and the Relu as its activation, by activation fusion).
#include <gtest/gtest.h>

#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

const std::vector<std::string> kPasses = {"conv_bn_folding", "conv_residual_fusion",
                                          "activation_fusion"};

/// Conv [m, c, k, k] (pads k / 2, `stride`) followed by BatchNormalization.
Value* conv_bn(GraphBuilder& b, Value* x, const std::string& name, int64_t c, int64_t m, int64_t k,
               int64_t stride = 1) {
  Node* conv = b.node("Conv", name, {x, b.random_initializer(name + ".w", {m, c, k, k})});
  set_ints(conv, "pads", {k / 2, k / 2, k / 2, k / 2});
  set_ints(conv, "strides", {stride, stride});
  Node* bn =
      b.node("BatchNormalization", name + ".bn",
             {b.out(conv), b.random_initializer(name + ".scale", {m}, 0.5f, 1.5f),
              b.random_initializer(name + ".bias", {m}), b.random_initializer(name + ".mean", {m}),
              b.random_initializer(name + ".var", {m}, 0.5f, 1.5f)});
  return b.out(bn);
}

/// ResNet basic block: Conv-BN-Relu-Conv-BN, + shortcut (identity, or 1x1 stride-2 Conv-BN
/// when `downsample`), Relu (omitted with `final_relu` false: the Add writes the graph output).
Model resnet_block(bool downsample, bool final_relu = true) {
  GraphBuilder b(13);
  const int64_t c = downsample ? 4 : 8;
  Value* x = b.input("x", {2, c, 8, 8});
  Value* h = conv_bn(b, x, "conv1", c, 8, 3, downsample ? 2 : 1);
  h = b.out(b.node("Relu", "relu1", {h}));
  h = conv_bn(b, h, "conv2", 8, 8, 3);
  Value* shortcut = downsample ? conv_bn(b, x, "down", c, 8, 1, 2) : x;
  Value* s = b.out(b.node("Add", "add", {h, shortcut}));
  b.output(final_relu ? b.out(b.node("Relu", "relu2", {s})) : s);
  return b.take();
}

const Node* residual_conv(const Model& m) {
  for (const auto& n : m.graph.nodes)
    if (n->op_type == "Conv" && n->inputs.size() > 3 && n->inputs[3]) return n.get();
  return nullptr;
}

TEST(ConvResidualFusion, IdentityShortcutBlockBecomesTwoConvs) {
  Model m = resnet_block(false);
  auto log = run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 0);
  EXPECT_EQ(count_ops(m, "Relu"), 0);
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  EXPECT_EQ(m.graph.nodes.size(), 2u);
  const Node* c = residual_conv(m);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(is_internal_node(*c));
  EXPECT_EQ(c->inputs[3]->name, "x");
  EXPECT_EQ(c->attr_string("activation", ""), "Relu");
  EXPECT_EQ(c->name, "conv2 + conv2.bn + add + relu2");
  EXPECT_TRUE(
      log_contains(log, "[conv_residual_fusion] fused Conv 'conv2 + conv2.bn' + Add 'add'"));
  expect_same_outputs([] { return resnet_block(false); }, std::move(m));
}

TEST(ConvResidualFusion, DownsampleShortcutBlockBecomesThreeConvs) {
  Model m = resnet_block(true);
  run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 0);
  EXPECT_EQ(count_ops(m, "Relu"), 0);
  EXPECT_EQ(m.graph.nodes.size(), 3u);
  const Node* c = residual_conv(m);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->attr_string("activation", ""), "Relu");
  // The residual is the other Conv's output.
  ASSERT_NE(c->inputs[3]->producer, nullptr);
  EXPECT_EQ(c->inputs[3]->producer->op_type, "Conv");
  expect_same_outputs([] { return resnet_block(true); }, std::move(m));
}

TEST(ConvResidualFusion, AddWritingTheGraphOutputKeepsItsName) {
  Model m = resnet_block(false, false);
  run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 0);
  ASSERT_EQ(m.graph.outputs.size(), 1u);
  EXPECT_EQ(m.graph.outputs[0]->name, "add");
  const Node* c = residual_conv(m);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(m.graph.outputs[0]->producer, c);
  EXPECT_FALSE(c->has_attr("activation"));
  expect_same_outputs([] { return resnet_block(false, false); }, std::move(m));
}

/// Conv 'conv' [1, 3, 6, 6] -> y [1, 4, 6, 6] with bias; `tail` builds the rest on y.
Model conv_then(const std::function<void(GraphBuilder&, Value*)>& tail) {
  GraphBuilder b(13);
  Value* x = b.input("x", {1, 3, 6, 6});
  Node* c = b.node("Conv", "conv",
                   {x, b.random_initializer("w", {4, 3, 3, 3}), b.random_initializer("b", {4})});
  set_ints(c, "pads", {1, 1, 1, 1});
  tail(b, b.out(c));
  return b.take();
}

TEST(ConvResidualFusion, BroadcastingAddIsLeftAlone) {
  auto make = [] {
    return conv_then([](GraphBuilder& b, Value* y) {
      b.output(b.out(b.node("Add", "add", {y, b.input("z", {1, 4, 1, 1})})));
    });
  };
  Model m = make();
  auto log = run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_EQ(residual_conv(m), nullptr);
  EXPECT_TRUE(log_contains(log, "not fused: the Add broadcasts")) << ::testing::PrintToString(log);
  expect_same_outputs(make, std::move(m));
}

TEST(ConvResidualFusion, ResidualComputedFromTheOutputIsLeftAlone) {
  // Add(y, Relu(y)): fusing would make the Conv read its own output.
  auto make = [] {
    return conv_then([](GraphBuilder& b, Value* y) {
      b.output(b.out(b.node("Add", "add", {y, b.out(b.node("Relu", "relu", {y}))})));
    });
  };
  Model m = make();
  auto log = run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_EQ(count_ops(m, "Relu"), 1);
  EXPECT_EQ(residual_conv(m), nullptr);
  EXPECT_TRUE(log_contains(log, "the residual 'relu' depends on conv's output"))
      << ::testing::PrintToString(log);
  expect_same_outputs(make, std::move(m));
}

TEST(ConvResidualFusion, SecondConsumerIsLeftAlone) {
  auto make = [] {
    return conv_then([](GraphBuilder& b, Value* y) {
      b.output(b.out(b.node("Add", "add", {b.input("z", {1, 4, 6, 6}), y})));
      b.output(b.out(b.node("Sigmoid", "sig", {y})));
    });
  };
  Model m = make();
  auto log = run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_EQ(residual_conv(m), nullptr);
  EXPECT_TRUE(log_contains(log, "conv's output has 2 uses")) << ::testing::PrintToString(log);
  expect_same_outputs(make, std::move(m));
}

TEST(ConvResidualFusion, ResidualOnEitherSideAndWithoutBias) {
  auto make = [] {
    GraphBuilder b(13);
    Value* x = b.input("x", {1, 3, 6, 6});
    Node* c = b.node("Conv", "conv", {x, b.random_initializer("w", {4, 3, 3, 3})});
    set_ints(c, "pads", {1, 1, 1, 1});
    b.output(b.out(b.node("Add", "add", {b.input("z", {1, 4, 6, 6}), b.out(c)})));
    return b.take();
  };
  Model m = make();
  run_passes(m, kPasses);
  EXPECT_EQ(count_ops(m, "Add"), 0);
  const Node* c = residual_conv(m);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->inputs[2], nullptr);
  EXPECT_EQ(c->inputs[3]->name, "z");
  expect_same_outputs(make, std::move(m));
}

TEST(ConvResidualFusion, SanitizeModeLeavesItAlone) {
  Model m = resnet_block(false);
  auto log = run_passes(m, kPasses, /*allow_internal_ops=*/false);
  EXPECT_EQ(count_ops(m, "Add"), 1);
  EXPECT_EQ(count_ops(m, "Relu"), 2);
  EXPECT_EQ(residual_conv(m), nullptr);
  for (const auto& n : m.graph.nodes) EXPECT_FALSE(is_internal_node(*n)) << n->describe();
  EXPECT_FALSE(log_contains(log, "conv_residual_fusion"));
}

}  // namespace
}  // namespace tarmac::testing
