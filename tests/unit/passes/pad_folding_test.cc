// pad_folding: constant-mode Pad folded into Conv, AveragePool and MaxPool.
#include <gtest/gtest.h>

#include <limits>

#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

Tensor i64(std::vector<int64_t> v) {
  const auto n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(v, {n});
}

/// A Pad of `x` by `pads` (all begins, then all ends) filled with `value`, written the way the
/// builder's opset expects (attributes before 11, inputs from 11).
Node* add_pad(GraphBuilder& b, int64_t opset, Value* x, std::vector<int64_t> pads,
              float value = 0.0f, const std::string& mode = "constant") {
  Node* pad;
  if (opset < 11) {
    pad = b.node("Pad", "pad", {x});
    set_ints(pad, "pads", pads);
    if (value != 0.0f) set_float(pad, "value", value);
  } else {
    std::vector<Value*> in{x, b.initializer("pads", i64(pads))};
    if (value != 0.0f) in.push_back(b.initializer("pad_value", Tensor::scalar<float>(value)));
    pad = b.node("Pad", "pad", in);
  }
  if (mode != "constant") set_string(pad, "mode", mode);
  return pad;
}

const Node* find_node(const Model& m, const std::string& name) {
  for (const auto& n : m.graph.nodes)
    if (n->name == name) return n.get();
  return nullptr;
}

struct ConvCase {
  int64_t opset = 17;
  std::vector<int64_t> pads{0, 0, 1, 2, 0, 0, 2, 1};
  float value = 0.0f;
  std::string mode = "constant";
  std::string auto_pad{};  // empty: not set
  std::vector<int64_t> conv_pads{1, 0, 0, 1};
  int64_t conv_channels = 3;  // channels the Conv's weight expects
};

// x [1, 3, 7, 7] -> Pad -> Conv (weight [4, 3, 3, 3]) -> output
Model pad_conv_model(const ConvCase& c) {
  GraphBuilder b(c.opset);
  Value* x = b.input("x", {1, 3, 7, 7});
  Node* pad = add_pad(b, c.opset, x, c.pads, c.value, c.mode);
  Node* conv = b.node("Conv", "conv",
                      {b.out(pad), b.random_initializer("w", {4, c.conv_channels, 3, 3}),
                       b.random_initializer("cb", {4})});
  if (!c.auto_pad.empty()) {
    set_string(conv, "auto_pad", c.auto_pad);
  } else {
    set_ints(conv, "pads", c.conv_pads);
  }
  set_ints(conv, "strides", {2, 1});
  b.output(b.out(conv));
  return b.take();
}

TEST(PadFolding, FoldsIntoConv) {
  auto make = [] { return pad_conv_model({}); };
  Model m = make();
  auto log = run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* conv = find_node(m, "pad + conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attr_ints("pads"), (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(conv->inputs[0]->name, "x");
  EXPECT_TRUE(log_contains(log, "folded Pad 'pad' into Conv 'conv' (pads [2,2,2,2])"));
  // The Conv wrote the graph output; its name survives.
  ASSERT_EQ(m.graph.outputs.size(), 1u);
  EXPECT_EQ(m.graph.outputs[0]->name, "conv");
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, FoldsPadsAttributeBeforeOpset11) {
  auto make = [] { return pad_conv_model({.opset = 10}); };
  Model m = make();
  run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, FoldsPadWithAxesInput) {
  auto make = [] {
    GraphBuilder b(18);
    Value* x = b.input("x", {1, 3, 6, 6});
    Node* pad = b.node("Pad", "pad",
                       {x, b.initializer("pads", i64({1, 0, 2, 1})), nullptr,
                        b.initializer("axes", i64({-1, 2}))});
    Node* conv = b.node("Conv", "conv", {b.out(pad), b.random_initializer("w", {2, 3, 3, 3})});
    b.output(b.out(conv));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* conv = find_node(m, "pad + conv");
  ASSERT_NE(conv, nullptr);
  // axes (-1, 2): W begins 1, H begins 0, W ends 2, H ends 1 -> [H0, W0, H1, W1].
  EXPECT_EQ(conv->attr_ints("pads"), (std::vector<int64_t>{0, 1, 1, 2}));
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, FoldsIntoValidConv) {
  auto make = [] { return pad_conv_model({.auto_pad = "VALID"}); };
  Model m = make();
  run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* conv = find_node(m, "pad + conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_FALSE(conv->has_attr("auto_pad"));
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, SkipsConvCases) {
  struct Case {
    ConvCase c;
    const char* reason;
  };
  const Case cases[] = {
      {{.mode = "reflect"}, "mode is 'reflect', not 'constant'"},
      {{.mode = "edge"}, "mode is 'edge', not 'constant'"},
      {{.value = 1.5f}, "pad value 1.5 is not 0"},
      {{.pads = {0, 0, 1, -1, 0, 0, 1, 1}}, "are negative (cropping)"},
      {{.pads = {0, 1, 1, 1, 0, 0, 1, 1}, .conv_channels = 4}, "pad the batch or channel axis"},
      {{.pads = {1, 0, 1, 1, 0, 0, 1, 1}}, "pad the batch or channel axis"},
      {{.auto_pad = "SAME_UPPER"}, "conv has auto_pad SAME_UPPER"},
  };
  for (const Case& k : cases) {
    Model m = pad_conv_model(k.c);
    auto log = run_passes(m, {"pad_folding"});
    EXPECT_EQ(count_ops(m, "Pad"), 1) << k.reason;
    EXPECT_NE(find_node(m, "conv"), nullptr) << k.reason;
    EXPECT_TRUE(log_contains(log, "Pad 'pad' + Conv 'conv' not folded: ")) << k.reason;
    EXPECT_TRUE(log_contains(log, k.reason)) << k.reason;
  }
}

TEST(PadFolding, SkipsPadWithTwoConsumersOrGraphOutput) {
  for (bool graph_output : {false, true}) {
    GraphBuilder b;
    Value* x = b.input("x", {1, 3, 6, 6});
    Node* pad = add_pad(b, 17, x, {0, 0, 1, 1, 0, 0, 1, 1});
    Node* conv = b.node("Conv", "conv", {b.out(pad), b.random_initializer("w", {2, 3, 3, 3})});
    b.output(b.out(conv));
    if (graph_output) {
      b.output(b.out(pad));
    } else {
      b.output(b.out(b.node("Relu", "relu", {b.out(pad)})));
    }
    Model m = b.take();
    auto log = run_passes(m, {"pad_folding"});
    EXPECT_EQ(count_ops(m, "Pad"), 1);
    EXPECT_TRUE(log_contains(
        log, graph_output ? "pad's output is a graph output" : "pad's output has 2 consumers"));
  }
}

// Two convs share one weight; the padded one is folded, the other keeps its result.
TEST(PadFolding, SharedWeight) {
  auto make = [] {
    GraphBuilder b;
    Value* x = b.input("x", {1, 3, 6, 6});
    Value* w = b.random_initializer("w", {2, 3, 3, 3});
    Node* pad = add_pad(b, 17, x, {0, 0, 1, 1, 0, 0, 1, 1});
    b.output(b.out(b.node("Conv", "conv1", {b.out(pad), w})));
    b.output(b.out(b.node("Conv", "conv2", {x, w})));
    return b.take();
  };
  Model m = make();
  run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* c2 = find_node(m, "conv2");
  ASSERT_NE(c2, nullptr);
  EXPECT_FALSE(c2->has_attr("pads"));
  expect_same_outputs(make, std::move(m));
}

struct PoolCase {
  std::string op = "AveragePool";
  std::vector<int64_t> pads{0, 0, 1, 0, 0, 0, 2, 1};
  float value = 0.0f;
  int64_t count_include_pad = 1;
  std::vector<int64_t> pool_pads{1, 1, 0, 1};
  int64_t ceil_mode = 0;
  std::vector<int64_t> kernel{3, 3};
};

// x [1, 2, 7, 7] -> Pad -> pool (stride 2) -> output
Model pad_pool_model(const PoolCase& c) {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 2, 7, 7});
  Node* pad = add_pad(b, 17, x, c.pads, c.value);
  Node* pool = b.node(c.op, "pool", {b.out(pad)});
  set_ints(pool, "kernel_shape", c.kernel);
  set_ints(pool, "strides", {2, 2});
  set_ints(pool, "pads", c.pool_pads);
  if (c.op == "AveragePool") set_int(pool, "count_include_pad", c.count_include_pad);
  if (c.ceil_mode) set_int(pool, "ceil_mode", 1);
  b.output(b.out(pool));
  return b.take();
}

TEST(PadFolding, FoldsIntoAveragePoolCountingPads) {
  auto make = [] { return pad_pool_model({}); };
  Model m = make();
  auto log = run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* pool = find_node(m, "pad + pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->attr_ints("pads"), (std::vector<int64_t>{2, 1, 2, 2}));
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, FoldsIntoUnpaddedAveragePoolExcludingPads) {
  auto make = [] { return pad_pool_model({.count_include_pad = 0, .pool_pads = {0, 0, 0, 0}}); };
  Model m = make();
  auto log = run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 0);
  const Node* pool = find_node(m, "pad + pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->attr_int("count_include_pad", 0), 1);
  EXPECT_TRUE(log_contains(log, "count_include_pad=1"));
  expect_same_outputs(make, std::move(m));
}

TEST(PadFolding, FoldsIntoMaxPoolWithMinusInfinity) {
  const float lowest = std::numeric_limits<float>::lowest();
  for (float v : {-std::numeric_limits<float>::infinity(), lowest}) {
    auto make = [v] { return pad_pool_model({.op = "MaxPool", .value = v}); };
    Model m = make();
    run_passes(m, {"pad_folding"});
    EXPECT_EQ(count_ops(m, "Pad"), 0) << v;
    expect_same_outputs(make, std::move(m));
  }
}

TEST(PadFolding, SkipsPoolCases) {
  struct Case {
    PoolCase c;
    const char* reason;
  };
  const Case cases[] = {
      {{.count_include_pad = 0}, "has count_include_pad=0 and pads of its own"},
      {{.ceil_mode = 1}, "has ceil_mode=1"},
      {{.value = 2.0f}, "pad value 2 is not 0"},
      {{.op = "MaxPool"}, "pad value 0 is not -inf"},
      // Begin padding 3 before a 2-tap window: the first window sees only padding.
      {{.op = "MaxPool",
        .pads = {0, 0, 3, 0, 0, 0, 0, 0},
        .value = -std::numeric_limits<float>::infinity(),
        .pool_pads = {0, 0, 0, 0},
        .kernel = {2, 2}},
       "some window would lie wholly in the padding"},
  };
  for (const Case& k : cases) {
    Model m = pad_pool_model(k.c);
    auto log = run_passes(m, {"pad_folding"});
    EXPECT_EQ(count_ops(m, "Pad"), 1) << k.reason;
    EXPECT_NE(find_node(m, "pool"), nullptr) << k.reason;
    EXPECT_TRUE(log_contains(log, k.reason)) << k.reason;
  }
}

TEST(PadFolding, SkipsMaxPoolWithUsedIndices) {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 2, 6, 6});
  Node* pad = add_pad(b, 17, x, {0, 0, 1, 1, 0, 0, 1, 1}, -std::numeric_limits<float>::infinity());
  Node* pool = b.node("MaxPool", "pool", {b.out(pad)}, 2);
  set_ints(pool, "kernel_shape", {3, 3});
  b.output(b.out(pool, 0));
  b.output(b.out(pool, 1));
  Model m = b.take();
  auto log = run_passes(m, {"pad_folding"});
  EXPECT_EQ(count_ops(m, "Pad"), 1);
  EXPECT_TRUE(log_contains(log, "Indices output is used"));
}

}  // namespace
}  // namespace tarmac::testing
