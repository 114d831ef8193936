// conv_bn_folding: BatchNormalization folded into Conv, ConvTranspose and Gemm.
#include <gtest/gtest.h>

#include "passes/pass_test_util.h"
#include "passes/passes.h"
#include "passes/rewrite.h"

namespace tarmac::testing {
namespace {

/// scale, B, mean, var initializers for `c` channels with non-trivial statistics.
std::vector<Value*> bn_stats(GraphBuilder& b, const std::string& p, int64_t c) {
  return {b.random_initializer(p + "_scale", {c}, -1.5f, 1.5f),
          b.random_initializer(p + "_B", {c}, -1, 1), b.random_initializer(p + "_mean", {c}, -1, 1),
          b.random_initializer(p + "_var", {c}, 0.5f, 2)};
}

Node* add_bn(GraphBuilder& b, const std::string& name, Value* x, int64_t c) {
  std::vector<Value*> in{x};
  for (Value* v : bn_stats(b, name, c)) in.push_back(v);
  Node* bn = b.node("BatchNormalization", name, in);
  set_float(bn, "epsilon", 1e-3f);
  return bn;
}

const Node* find_node(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n->name == name) return n.get();
  return nullptr;
}

struct ConvCase {
  bool with_bias = true;
  int64_t group = 1;
  bool bn_is_output = false;
};

// x [1, 4, 8, 8] -> Conv (6 output channels) -> BN -> Relu
Model conv_bn_model(ConvCase c) {
  GraphBuilder b;
  Value* x = b.input("x", {1, 4, 8, 8});
  std::vector<Value*> in{x, b.random_initializer("w", {6, 4 / c.group, 3, 3})};
  if (c.with_bias) in.push_back(b.random_initializer("conv_b", {6}));
  Node* conv = b.node("Conv", "conv", in);
  set_ints(conv, "pads", {1, 1, 1, 1});
  set_int(conv, "group", c.group);
  Node* bn = add_bn(b, "bn", b.out(conv), 6);
  if (c.bn_is_output) {
    b.output(b.out(bn));
  } else {
    b.output(b.out(b.node("Relu", "relu", {b.out(bn)})));
  }
  return b.take();
}

TEST(ConvBnFolding, FoldsConvWithBias) {
  auto make = [] { return conv_bn_model({}); };
  Model m = make();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  EXPECT_EQ(count_ops(m, "Conv"), 1);
  EXPECT_NE(find_node(m, "conv + bn"), nullptr);
  EXPECT_TRUE(log_contains(log, "folded BatchNormalization 'bn' into Conv 'conv'"));
  expect_same_outputs(make, std::move(m));
}

TEST(ConvBnFolding, FoldsGroupedConvWithoutBias) {
  auto make = [] { return conv_bn_model({.with_bias = false, .group = 2}); };
  Model m = make();
  run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  const Node* conv = find_node(m, "conv + bn");
  ASSERT_NE(conv, nullptr);
  EXPECT_TRUE(conv->has_input(2));  // the BN shift became the bias
  expect_same_outputs(make, std::move(m));
}

TEST(ConvBnFolding, KeepsGraphOutputName) {
  auto make = [] { return conv_bn_model({.bn_is_output = true}); };
  Model m = make();
  run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  ASSERT_EQ(m.graph.outputs.size(), 1u);
  EXPECT_EQ(m.graph.outputs[0]->name, "bn");
  ASSERT_NE(m.graph.outputs[0]->producer, nullptr);
  EXPECT_EQ(m.graph.outputs[0]->producer->name, "conv + bn");
  expect_same_outputs(make, std::move(m));
}

TEST(ConvBnFolding, FoldsFloat64Conv) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", {1, 3, 6, 6}, DType::kFloat64);
    auto f64 = [&](const std::string& n, Dims d, float lo, float hi) {
      Value* v = b.random_initializer(n, d, lo, hi);
      v->constant = std::make_shared<const Tensor>(v->constant->cast(DType::kFloat64));
      v->type.dtype = DType::kFloat64;
      return v;
    };
    Node* conv = b.node("Conv", "conv", {x, f64("w", {5, 3, 3, 3}, -1, 1), f64("cb", {5}, -1, 1)});
    Node* bn = b.node("BatchNormalization", "bn",
                      {b.out(conv), f64("s", {5}, -1.5f, 1.5f), f64("o", {5}, -1, 1),
                       f64("mu", {5}, -1, 1), f64("var", {5}, 0.5f, 2)});
    b.output(b.out(bn));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  const Node* conv = find_node(m, "conv + bn");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->inputs[1]->constant->dtype(), DType::kFloat64);
  expect_same_outputs(make, std::move(m), 1e-12);
}

// x [1, 4, 5, 5] -> ConvTranspose (weight [4, 3, 3, 3], group g: 3g output channels) -> BN
Model conv_transpose_bn_model(int64_t group, bool with_bias) {
  GraphBuilder b;
  Value* x = b.input("x", {1, 4, 5, 5});
  std::vector<Value*> in{x, b.random_initializer("w", {4, 3, 3, 3})};
  if (with_bias) in.push_back(b.random_initializer("ct_b", {3 * group}));
  Node* ct = b.node("ConvTranspose", "deconv", in);
  set_int(ct, "group", group);
  set_ints(ct, "strides", {2, 2});
  set_ints(ct, "pads", {1, 1, 0, 0});
  Node* bn = add_bn(b, "bn", b.out(ct), 3 * group);
  b.output(b.out(b.node("Relu", "relu", {b.out(bn)})));
  return b.take();
}

TEST(ConvBnFolding, FoldsConvTranspose) {
  auto make = [] { return conv_transpose_bn_model(1, true); };
  Model m = make();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  EXPECT_NE(find_node(m, "deconv + bn"), nullptr);
  EXPECT_TRUE(log_contains(log, "into ConvTranspose 'deconv'"));
  expect_same_outputs(make, std::move(m));
}

TEST(ConvBnFolding, FoldsGroupedConvTranspose) {
  for (bool with_bias : {true, false}) {
    auto make = [with_bias] { return conv_transpose_bn_model(2, with_bias); };
    Model m = make();
    run_passes(m, {"conv_bn_folding"});
    EXPECT_EQ(count_ops(m, "BatchNormalization"), 0) << with_bias;
    expect_same_outputs(make, std::move(m));
  }
}

struct GemmCase {
  bool trans_b = false;
  Dims c_dims{4};  // empty: no C
  float alpha = 0.5f, beta = 2.0f;
};

// A [3, 5] -> Gemm (N = 4) -> BN -> output
Model gemm_bn_model(GemmCase c) {
  GraphBuilder b(13);
  Value* a = b.input("a", {3, 5});
  std::vector<Value*> in{a, b.random_initializer("B", c.trans_b ? Dims{4, 5} : Dims{5, 4})};
  if (!c.c_dims.empty()) in.push_back(b.random_initializer("C", c.c_dims));
  Node* gemm = b.node("Gemm", "fc", in);
  set_int(gemm, "transB", c.trans_b ? 1 : 0);
  set_float(gemm, "alpha", c.alpha);
  set_float(gemm, "beta", c.beta);
  b.output(b.out(add_bn(b, "bn", b.out(gemm), 4)));
  return b.take();
}

TEST(ConvBnFolding, FoldsGemm) {
  const std::vector<GemmCase> cases = {
      {},
      {.trans_b = true, .c_dims = {1, 4}},
      {.trans_b = true, .c_dims = {}, .alpha = 1.5f},
      {.c_dims = {1}, .beta = 0.0f},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto make = [c = cases[i]] { return gemm_bn_model(c); };
    Model m = make();
    auto log = run_passes(m, {"conv_bn_folding"});
    EXPECT_EQ(count_ops(m, "BatchNormalization"), 0) << "case " << i;
    const Node* gemm = find_node(m, "fc + bn");
    ASSERT_NE(gemm, nullptr) << "case " << i;
    EXPECT_EQ(gemm->attr_float("alpha", 0), 1.0f);
    EXPECT_EQ(gemm->attr_float("beta", 0), 1.0f);
    EXPECT_TRUE(log_contains(log, "into Gemm 'fc'")) << "case " << i;
    expect_same_outputs(make, std::move(m));
  }
}

TEST(ConvBnFolding, SkipsGemmWithPerRowC) {
  Model m = gemm_bn_model({.c_dims = {3, 4}});
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 1);
  EXPECT_TRUE(log_contains(log, "Gemm 'fc' + BatchNormalization 'bn' not folded: C has shape 3x4"));
}

TEST(ConvBnFolding, SkipsGemmWithVariableB) {
  GraphBuilder b(13);
  Node* gemm = b.node("Gemm", "fc", {b.input("a", {3, 5}), b.input("B", {5, 4})});
  b.output(b.out(add_bn(b, "bn", b.out(gemm), 4)));
  Model m = b.take();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 1);
  EXPECT_TRUE(log_contains(log, "weight 'B' is not constant"));
}

TEST(ConvBnFolding, SkipsConvWithTwoConsumers) {
  GraphBuilder b;
  Node* conv = b.node("Conv", "conv3",
                      {b.input("x", {1, 4, 6, 6}), b.random_initializer("w", {6, 4, 1, 1})});
  b.output(b.out(add_bn(b, "bn3", b.out(conv), 6)));
  b.output(b.out(b.node("Relu", "relu", {b.out(conv)})));
  Model m = b.take();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 1);
  EXPECT_NE(find_node(m, "conv3"), nullptr);
  EXPECT_TRUE(log_contains(
      log, "Conv 'conv3' + BatchNormalization 'bn3' not folded: conv3's output has 2 consumers"));
}

TEST(ConvBnFolding, SkipsConvWhoseOutputIsGraphOutput) {
  GraphBuilder b;
  Node* conv =
      b.node("Conv", "conv", {b.input("x", {1, 4, 6, 6}), b.random_initializer("w", {6, 4, 1, 1})});
  b.output(b.out(conv));
  b.output(b.out(add_bn(b, "bn", b.out(conv), 6)));
  Model m = b.take();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 1);
  EXPECT_TRUE(log_contains(log, "conv's output is a graph output"));
}

TEST(ConvBnFolding, SkipsVariableWeightBiasAndStats) {
  enum Which { kWeight, kBias, kMean };
  for (Which which : {kWeight, kBias, kMean}) {
    GraphBuilder b;
    Value* x = b.input("x", {1, 4, 6, 6});
    Value* w =
        which == kWeight ? b.input("w", {6, 4, 1, 1}) : b.random_initializer("w", {6, 4, 1, 1});
    Value* bias = which == kBias ? b.input("bias", {6}) : b.random_initializer("bias", {6});
    Node* conv = b.node("Conv", "conv", {x, w, bias});
    std::vector<Value*> st = bn_stats(b, "bn", 6);
    if (which == kMean) st[2] = b.input("mean", {6});
    Node* bn = b.node("BatchNormalization", "bn", {b.out(conv), st[0], st[1], st[2], st[3]});
    b.output(b.out(bn));
    Model m = b.take();
    auto log = run_passes(m, {"conv_bn_folding"});
    EXPECT_EQ(count_ops(m, "BatchNormalization"), 1) << which;
    const char* reason[] = {"weight 'w' is not constant", "bias 'bias' is not constant",
                            "mean 'mean' is not constant"};
    EXPECT_TRUE(log_contains(log, reason[which])) << which;
  }
}

// The verifier refuses training-mode BatchNormalization before any pass runs, so the pass's own
// guard is exercised directly on a linked (not inferred) graph.
TEST(ConvBnFolding, SkipsTrainingMode) {
  struct Case {
    int64_t opset;
    const char* attr;
    const char* reason;
  };
  const Case cases[] = {
      {15, "training_mode", "training_mode is set"},
      {6, "is_test", "is_test=0 (training mode before opset 7)"},
  };
  for (const Case& c : cases) {
    GraphBuilder b(c.opset);
    Node* conv = b.node("Conv", "conv",
                        {b.input("x", {1, 4, 6, 6}), b.random_initializer("w", {6, 4, 1, 1})});
    Node* bn = add_bn(b, "bn", b.out(conv), 6);
    set_int(bn, c.attr, c.opset < 7 ? 0 : 1);
    b.output(b.out(bn));
    Model m = b.take();
    m.graph.relink();
    std::vector<std::string> log;
    PassOptions o;
    o.log = [&](const std::string& line) { log.push_back(line); };
    PassContext ctx(m, o, "conv_bn_folding");
    ASSERT_TRUE(make_conv_bn_folding_pass()->run(ctx).is_ok());
    EXPECT_EQ(ctx.rewrites(), 0) << c.attr;
    EXPECT_TRUE(log_contains(log, c.reason)) << c.attr;
  }
}

TEST(ConvBnFolding, SkipsNonSpatialOpset8) {
  GraphBuilder b(8);
  Node* conv =
      b.node("Conv", "conv", {b.input("x", {1, 4, 6, 6}), b.random_initializer("w", {6, 4, 1, 1})});
  std::vector<Value*> in{b.out(conv)};
  for (const char* s : {"scale", "B", "mean", "var"})
    in.push_back(b.random_initializer(s, {6, 6, 6}, 0.5f, 2));
  Node* bn = b.node("BatchNormalization", "bn", in);
  set_int(bn, "spatial", 0);
  b.output(b.out(bn));
  Model m = b.take();
  auto log = run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 1);
  EXPECT_TRUE(log_contains(log, "spatial=0"));
}

TEST(ConvBnFolding, FoldsOpset6WithIsTest) {
  auto make = [] {
    GraphBuilder b(6);
    Node* conv = b.node("Conv", "conv",
                        {b.input("x", {1, 4, 6, 6}), b.random_initializer("w", {6, 4, 3, 3})});
    Node* bn = add_bn(b, "bn", b.out(conv), 6);
    set_int(bn, "is_test", 1);
    b.output(b.out(bn));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  expect_same_outputs(make, std::move(m));
}

// Two convs share one weight; folding the BN after the first must leave the second's weight
// (and its result) untouched.
TEST(ConvBnFolding, SharedWeightIsNotMutated) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", {1, 4, 6, 6});
    Value* w = b.random_initializer("w", {6, 4, 3, 3});
    Value* bias = b.random_initializer("bias", {6});
    Node* c1 = b.node("Conv", "conv1", {x, w, bias});
    Node* c2 = b.node("Conv", "conv2", {x, w, bias});
    b.output(b.out(add_bn(b, "bn1", b.out(c1), 6)));
    b.output(b.out(c2));
    return b.take();
  };
  Model m = make();
  const Tensor before = m.graph.find_value("w")->constant->clone();
  run_passes(m, {"conv_bn_folding"});
  EXPECT_EQ(count_ops(m, "BatchNormalization"), 0);
  const Node* c2 = find_node(m, "conv2");
  ASSERT_NE(c2, nullptr);
  EXPECT_EQ(c2->inputs[1]->name, "w");
  EXPECT_EQ(c2->inputs[2]->name, "bias");
  EXPECT_TRUE(tensors_equal(*c2->inputs[1]->constant, before));
  const Node* c1 = find_node(m, "conv1 + bn1");
  ASSERT_NE(c1, nullptr);
  EXPECT_NE(c1->inputs[1]->name, "w");
  expect_same_outputs(make, std::move(m));
}

}  // namespace
}  // namespace tarmac::testing
