// `tarmac compare`'s moving parts on the CPU: the float64 reference, fused-layer names in
// --layerPrecisions, executor taps, tensor mapping, and run_compare end to end on a model that
// overflows float16 (failure, culprit layer, bisection and its confirmation).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "builder/precision.h"
#include "compare/bisect.h"
#include "compare/compare.h"
#include "compare/layer_compare.h"
#include "core/random.h"
#include "onnx/exporter.h"
#include "passes/pass_test_util.h"
#include "runtime/executor.h"

namespace tarmac::testing {
namespace {

/// x [2, 16] -> big (MatMul, outputs ~3e5: overflows float16) -> Relu -> shrink (MatMul, back
/// to ~1) -> y; and x -> small (MatMul) -> Sigmoid -> z, which float16 computes well.
Model overflow_model() {
  GraphBuilder b(17);
  Value* x = b.input("x", {2, 16});
  Value* big =
      b.out(b.node("MatMul", "big", {x, b.random_initializer("w_big", {16, 16}, 3e4f, 6e4f)}));
  Value* relu = b.out(b.node("Relu", "big_relu", {big}));
  b.output(b.out(
      b.node("MatMul", "shrink", {relu, b.random_initializer("w_s", {16, 4}, -1e-5f, 1e-5f)})));
  Value* small = b.out(b.node("MatMul", "small", {x, b.random_initializer("w_small", {16, 4})}));
  b.output(b.out(b.node("Sigmoid", "squash", {small})));
  return b.take();
}

std::string write_model(const Model& m, const std::string& name) {
  const std::string path = std::filesystem::temp_directory_path() / name;
  Status s = export_onnx_file(m, path);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return path;
}

struct Captured {
  bool passed = false;
  std::string text;
};

Captured run(const compare::CompareOptions& o) {
  Captured c;
  auto r = compare::run_compare(o, [&](const std::string& l) { c.text += l + "\n"; });
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  c.passed = r.is_ok() && *r;
  return c;
}

TEST(CompareFlow, Float64ReferenceWidensEveryFloatTensorAndKeepsOutputsUnrounded) {
  ExecutorOptions o;
  o.optimize = false;
  o.precision = DType::kFloat64;
  auto ex = Executor::create(overflow_model(), o);
  ASSERT_TRUE(ex.is_ok()) << ex.status().message();
  for (const auto& n : (*ex)->model().graph.nodes)
    for (const Value* v : n->outputs) {
      EXPECT_NE(v->type.dtype, DType::kFloat32) << n->describe() << " still writes float32";
    }
  ExecutorOptions f32;
  f32.optimize = false;
  auto ex32 = Executor::create(overflow_model(), f32);
  ASSERT_TRUE(ex32.is_ok());
  const Tensor x = random_tensor(DType::kFloat32, {2, 16}, 3, 0, 1);
  std::vector<Tensor> a, b;
  ASSERT_TRUE((*ex)->run({{"x", x}}, &a).is_ok());
  ASSERT_TRUE((*ex32)->run({{"x", x}}, &b).is_ok());
  ASSERT_EQ(a.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].dtype(), DType::kFloat64);
    for (int64_t k = 0; k < a[i].numel(); ++k)
      EXPECT_NEAR(a[i].as_double(k), b[i].as_double(k), 1e-5 * (1 + std::fabs(b[i].as_double(k))));
  }
}

TEST(CompareFlow, LayerPrecisionsMatchAnyNodeOfAFusedLayer) {
  const std::set<std::string> keep = {"relu1", "head"};
  EXPECT_TRUE(layer_listed(keep, "relu1"));
  EXPECT_TRUE(layer_listed(keep, "conv1 + relu1"));
  EXPECT_TRUE(layer_listed(keep, "head + act"));
  EXPECT_FALSE(layer_listed(keep, "conv1 + relu10"));
  EXPECT_FALSE(layer_listed(keep, "he"));
  EXPECT_FALSE(layer_listed({}, "relu1"));
}

TEST(CompareFlow, ExecutorTapsSeeEveryComputedTensorWithoutChangingTheRun) {
  ExecutorOptions o;
  auto ex = Executor::create(overflow_model(), o);
  ASSERT_TRUE(ex.is_ok());
  const Tensor x = random_tensor(DType::kFloat32, {2, 16}, 4, 0, 1);
  std::vector<Tensor> plain, tapped;
  ASSERT_TRUE((*ex)->run({{"x", x}}, &plain).is_ok());
  std::map<std::string, Tensor> seen;
  ASSERT_TRUE((*ex)
                  ->run({{"x", x}}, &tapped,
                        [&](const Node&, const Value& v, const Tensor& t) { seen[v.name] = t; })
                  .is_ok());
  EXPECT_EQ(seen.size(), (*ex)->num_runtime_nodes());
  const auto& outs = (*ex)->model().graph.outputs;
  for (size_t i = 0; i < outs.size(); ++i) {
    ASSERT_TRUE(seen.count(outs[i]->name)) << outs[i]->name;
    EXPECT_EQ(0, std::memcmp(seen[outs[i]->name].raw(), plain[i].raw(), plain[i].nbytes()));
    EXPECT_EQ(0, std::memcmp(tapped[i].raw(), plain[i].raw(), plain[i].nbytes()));
  }
}

TEST(CompareFlow, ChannelsLastTensorsMapBackToTheirNchwOrigin) {
  auto in_ref = [](const std::string& n) { return n == "conv_out" || n == "y"; };
  EXPECT_EQ(compare::tensor_origin("y", {2, 3}, in_ref).reference_value, "y");
  const auto nhwc = compare::tensor_origin("conv_out_nhwc", {1, 4, 5, 3}, in_ref);
  EXPECT_EQ(nhwc.reference_value, "conv_out");
  EXPECT_TRUE(nhwc.nhwc);
  EXPECT_TRUE(compare::tensor_origin("conv_out_nhwc", {4, 5, 3}, in_ref).reference_value.empty());
  EXPECT_EQ(compare::tensor_origin("y_float16", {2, 3}, in_ref).reference_value, "y");
  EXPECT_EQ(compare::tensor_origin("conv_out_bfloat16_nhwc", {1, 4, 5, 3}, in_ref).reference_value,
            "conv_out");
  EXPECT_TRUE(compare::tensor_origin("x_float16", {2}, in_ref).reference_value.empty());

  const Tensor t = random_tensor(DType::kFloat32, {2, 3, 4, 5}, 9);  // [N, H, W, C]
  const Tensor r = compare::nhwc_to_nchw(t);                         // [N, C, H, W]
  ASSERT_EQ(r.dims(), (Dims{2, 5, 3, 4}));
  EXPECT_EQ(r.as_double(((1 * 5 + 4) * 3 + 2) * 4 + 3), t.as_double(((1 * 3 + 2) * 4 + 3) * 5 + 4));
}

TEST(CompareFlow, SamplePathsNumberEachSample) {
  EXPECT_EQ(compare::sample_path("out.npz", 0, 1), "out.npz");
  EXPECT_EQ(compare::sample_path("dir.v2/out.npz", 3, 4), "dir.v2/out_3.npz");
  EXPECT_EQ(compare::sample_path("dir.v2/out", 1, 2), "dir.v2/out_1");
  EXPECT_EQ(compare::layer_precisions_arg({"a", "b"}), "a:fp32,b:fp32");
}

TEST(CompareFlow, Float16OverflowFailsNamesTheLayerAndBisectsToIt) {
  const std::string path = write_model(overflow_model(), "tarmac_compare_overflow.onnx");
  compare::CompareOptions o;
  o.onnx = path;
  o.engine.precision = DType::kFloat16;
  o.check.tol = {1e-2, 1e-2};
  o.samples = 2;

  o.mark_all = true;
  Captured failed = run(o);
  EXPECT_FALSE(failed.passed);
  EXPECT_NE(failed.text.find("FAILED | output '"), std::string::npos) << failed.text;
  EXPECT_NE(failed.text.find("non-finite"), std::string::npos) << failed.text;
  EXPECT_NE(failed.text.find("First layer over tolerance: 'big + big_relu'"), std::string::npos)
      << failed.text;
  EXPECT_NE(failed.text.find("bitwise identical"), std::string::npos) << failed.text;

  o.mark_all = false;
  o.bisect = true;
  Captured bisected = run(o);
  EXPECT_TRUE(bisected.passed) << bisected.text;
  // 'big' overflows; 'shrink' reads its output, which float16 cannot hold either.
  EXPECT_NE(bisected.text.find("--layerPrecisions=big:fp32,shrink:fp32\n"), std::string::npos)
      << bisected.text;
  EXPECT_NE(bisected.text.find("PASSED | all outputs matched on 2 samples"), std::string::npos)
      << bisected.text;

  o.bisect = false;
  o.engine.keep_fp32 = {"big", "shrink"};
  EXPECT_TRUE(run(o).passed);
  std::remove(path.c_str());
}

TEST(CompareFlow, CpuFloat32AgainstTheFloat64Reference) {
  const std::string path = write_model(overflow_model(), "tarmac_compare_fp64.onnx");
  compare::CompareOptions o;
  o.onnx = path;  // the CPU float32 engine: the reference defaults to float64
  o.check.tol = {1e-5, 1e-5};
  Captured c = run(o);
  EXPECT_NE(c.text.find("Reference: cpu float64 reference"), std::string::npos) << c.text;
  EXPECT_TRUE(c.passed) << c.text;
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tarmac::testing
