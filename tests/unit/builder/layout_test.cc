#include "builder/layout.h"

#include <gtest/gtest.h>

#include "builder/precision.h"
#include "ir/fused_ops.h"
#include "passes/pass_test_util.h"

namespace tarmac::testing {
namespace {

Node* conv(GraphBuilder& b, const std::string& name, Value* x, int64_t cin, int64_t cout, int64_t k,
           int64_t stride, int64_t pad) {
  Node* n = b.node("Conv", name,
                   {x, b.random_initializer(name + ".w", {cout, cin, k, k}),
                    b.random_initializer(name + ".b", {cout})});
  set_ints(n, "pads", {pad, pad, pad, pad});
  set_ints(n, "strides", {stride, stride});
  return n;
}

Node* deconv(GraphBuilder& b, const std::string& name, Value* x, int64_t cin, int64_t cout,
             int64_t k) {
  Node* n = b.node("ConvTranspose", name,
                   {x, b.random_initializer(name + ".w", {cin, cout, k, k}),
                    b.random_initializer(name + ".b", {cout})});
  set_ints(n, "strides", {k, k});
  return n;
}

/// A BEV backbone in miniature: two strided blocks, deconvolutions back to one scale, a
/// channel Concat, a scaled residual and two 1x1 heads (one behind a Sigmoid).
Model backbone() {
  GraphBuilder b(17);
  Value* x = b.input("x", {2, 5, 12, 10});
  Node* c1 = conv(b, "c1", x, 5, 8, 3, 1, 1);
  Node* r1 = b.node("Relu", "r1", {b.out(c1)});
  Node* c2 = conv(b, "c2", b.out(r1), 8, 8, 3, 2, 1);
  Node* r2 = b.node("Relu", "r2", {b.out(c2)});
  Node* c3 = conv(b, "c3", b.out(r2), 8, 8, 3, 1, 1);
  // Residual with a per-channel scale: Add(Mul(c3, [1, C, 1, 1]), r2).
  Node* mul = b.node("Mul", "scale", {b.out(c3), b.random_initializer("s", {1, 8, 1, 1})});
  Node* add = b.node("Add", "res", {b.out(mul), b.out(r2)});
  Node* d1 = deconv(b, "d1", b.out(r1), 8, 4, 1);
  Node* d2 = deconv(b, "d2", b.out(add), 8, 4, 2);
  Node* cat = b.node("Concat", "cat", {b.out(d1), b.out(d2)});
  set_int(cat, "axis", 1);
  Node* h1 = conv(b, "h1", b.out(cat), 8, 3, 1, 1, 0);
  Node* h2 = conv(b, "h2", b.out(cat), 8, 2, 1, 1, 0);
  Node* sig = b.node("Sigmoid", "sig", {b.out(h2)});
  b.output(b.out(h1));
  b.output(b.out(sig));
  return b.take();
}

int count_layer(const Model& m, const std::string& type) {
  int n = 0;
  for (const auto& node : m.graph.nodes) n += layer_type(*node) == type;
  return n;
}

TEST(Layout, BackboneRunsChannelsLastWithReformatsOnlyAtTheEdges) {
  Model m = backbone();
  run_passes(m, {});
  LayoutOptions o;
  o.mode = LayoutMode::kNhwc;
  std::vector<std::string> log;
  o.log = [&](const std::string& l) { log.push_back(l); };
  LayoutReport r;
  Status s = assign_layouts(m, o, &r);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(r.nhwc_convolutions, 7);
  // One reformat into the region, one out of it per output; everything between cancels.
  EXPECT_EQ(r.reformats, 3);
  EXPECT_EQ(count_layer(m, "Reformat(NCHW->NHWC)"), 1);
  EXPECT_EQ(count_layer(m, "Reformat(NHWC->NCHW)"), 2);
  EXPECT_EQ(count_layer(m, "Conv(NHWC)"), 5);
  EXPECT_EQ(count_layer(m, "ConvTranspose(NHWC)"), 2);
  EXPECT_TRUE(log_contains(log, "7 convolution(s) NHWC, 3 reformat layer(s)"));
  // Interface unchanged.
  EXPECT_EQ(m.graph.outputs[0]->name, "h1");
  EXPECT_EQ(static_dims(m.graph.outputs[0]->type.shape), (Dims{2, 3, 12, 10}));
  expect_same_outputs(backbone, std::move(m));
}

TEST(Layout, ReformatsMovePastFusedElementwiseChains) {
  Model m = backbone();
  run_passes(m, {"elementwise_fusion"});
  ASSERT_EQ(count_ops(m, "FusedElementwise"), 1);  // Mul(c3, s) + r2, s = [1, 8, 1, 1]
  LayoutOptions o;
  o.mode = LayoutMode::kNhwc;
  LayoutReport r;
  Status s = assign_layouts(m, o, &r);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(r.reformats, 3);  // as without the chain: its constant operand is permuted
  expect_same_outputs(backbone, std::move(m));
}

TEST(Layout, AutoConvertsHalfPrecisionConvolutionsOnly) {
  Model m = backbone();
  run_passes(m, {});
  LayoutReport r;
  ASSERT_TRUE(assign_layouts(m, LayoutOptions{}, &r).is_ok());
  EXPECT_EQ(r.nhwc_convolutions, 0);  // float32: NCHW
  EXPECT_EQ(r.reformats, 0);
  PrecisionOptions p;
  p.dtype = DType::kFloat16;
  ASSERT_TRUE(assign_precision(m, p).is_ok());
  Status s = assign_layouts(m, LayoutOptions{}, &r);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(r.nhwc_convolutions, 7);
  // The reformats sink past the float16 -> float32 Casts of the outputs.
  EXPECT_EQ(r.reformats, 3);
  expect_same_outputs(backbone, std::move(m), 5e-3);
}

TEST(Layout, AutoConvertsTf32ConvolutionsUnlessTheGraphHasGroupedOnes) {
  Model m = backbone();
  run_passes(m, {});
  LayoutOptions o;
  o.allow_tf32 = true;
  LayoutReport r;
  ASSERT_TRUE(assign_layouts(m, o, &r).is_ok());
  EXPECT_EQ(r.nhwc_convolutions, 7);
  expect_same_outputs(backbone, std::move(m));
  auto grouped = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {1, 4, 6, 6});
    Node* c1 = conv(b, "c1", x, 4, 4, 3, 1, 1);
    Node* dw = b.node("Conv", "dw", {b.out(c1), b.random_initializer("dw.w", {4, 1, 3, 3})});
    set_ints(dw, "pads", {1, 1, 1, 1});
    set_int(dw, "group", 4);
    b.output(b.out(dw));
    return b.take();
  };
  Model g = grouped();
  run_passes(g, {});
  ASSERT_TRUE(assign_layouts(g, o, &r).is_ok());
  EXPECT_EQ(r.nhwc_convolutions, 0);
  o.mode = LayoutMode::kNhwc;  // forced: the depthwise one converts too
  ASSERT_TRUE(assign_layouts(g, o, &r).is_ok());
  EXPECT_EQ(r.nhwc_convolutions, 2);
  expect_same_outputs(grouped, std::move(g));
}

TEST(Layout, FusedResidualConvolutionsAndLayersWithoutNhwcFormsKeepTheirReformats) {
  auto make = [] {
    GraphBuilder b(17);
    Value* x = b.input("x", {1, 4, 9, 7});
    Node* c1 = conv(b, "c1", x, 4, 6, 3, 1, 1);
    Node* r1 = b.node("Relu", "r1", {b.out(c1)});
    Node* pool = b.node("MaxPool", "pool", {b.out(r1)});
    set_ints(pool, "kernel_shape", {2, 2});
    Node* c2 = conv(b, "c2", b.out(pool), 6, 6, 3, 1, 1);
    Node* c3 = conv(b, "c3", b.out(c2), 6, 6, 3, 1, 1);
    Node* add = b.node("Add", "add", {b.out(c3), b.out(pool)});
    Node* r3 = b.node("Relu", "r3", {b.out(add)});
    // Asymmetric pads: cuDNN would need a padded copy, so this one stays NCHW.
    Node* c4 = conv(b, "c4", b.out(r3), 6, 2, 2, 1, 0);
    set_ints(c4, "pads", {0, 0, 1, 1});
    b.output(b.out(c4));
    return b.take();
  };
  Model m = make();
  // The optimizer's view: c1 + Relu and c3 + residual + Relu become internal Convs.
  run_passes(m, {"conv_residual_fusion", "activation_fusion"});
  ASSERT_EQ(count_layer(m, "Conv+Relu"), 2);
  LayoutOptions o;
  o.mode = LayoutMode::kNhwc;
  LayoutReport r;
  Status s = assign_layouts(m, o, &r);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(r.nhwc_convolutions, 3);
  EXPECT_EQ(count_layer(m, "Conv(NHWC)+Relu"), 2);
  // x in, c1 out to MaxPool, MaxPool's output in (shared by c2 and the residual), c3's
  // output back for c4.
  EXPECT_EQ(r.reformats, 4);
  expect_same_outputs(make, std::move(m));
}

TEST(Layout, NchwModeAndBadModeNames) {
  Model m = backbone();
  run_passes(m, {});
  const size_t nodes = m.graph.nodes.size();
  LayoutOptions o;
  o.mode = LayoutMode::kNchw;
  ASSERT_TRUE(assign_layouts(m, o).is_ok());
  EXPECT_EQ(m.graph.nodes.size(), nodes);
  EXPECT_EQ(*parse_layout_mode("nhwc"), LayoutMode::kNhwc);
  StatusOr<LayoutMode> bad = parse_layout_mode("NHWC8");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("'NHWC8'"), std::string::npos);
}

}  // namespace
}  // namespace tarmac::testing
