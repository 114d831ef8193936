// Debug taps (`tarmac compare --mark-all`) on the CUDA engine: a tapped run leaves the engine
// as it was (layers, tactics, bitwise outputs) and every tensor it copies out, channels-last
// ones included, matches the CPU reference of its ONNX node.
#include <gtest/gtest.h>

#include <cstring>

#include "compare/layer_compare.h"
#include "gpu_test_util.h"
#include "passes/pass_test_util.h"
#include "runtime/device_engine.h"

namespace tarmac::testing {
namespace {

/// x [1, 8, 16, 16] -> conv1 -> relu1 -> conv2 -> (+ relu1) -> relu2 -> conv3 -> pool -> fc.
Model residual_convs() {
  GraphBuilder b(17);
  Value* x = b.input("x", {1, 8, 16, 16});
  auto conv = [&](const std::string& name, Value* in) {
    Node* c =
        b.node("Conv", name,
               {in, b.random_initializer(name + ".w", {16, in == x ? 8 : 16, 3, 3}, -0.3f, 0.3f),
                b.random_initializer(name + ".b", {16})});
    set_ints(c, "pads", {1, 1, 1, 1});
    return b.out(c);
  };
  Value* r1 = b.out(b.node("Relu", "relu1", {conv("conv1", x)}));
  Value* sum = b.out(b.node("Add", "add", {conv("conv2", r1), r1}));
  Value* r2 = b.out(b.node("Relu", "relu2", {sum}));
  Value* pooled = b.out(b.node("GlobalAveragePool", "pool", {conv("conv3", r2)}));
  Value* flat = b.out(b.node("Flatten", "flat", {pooled}));
  Node* fc =
      b.node("Gemm", "fc",
             {flat, b.random_initializer("fc.w", {10, 16}), b.random_initializer("fc.b", {10})});
  set_int(fc, "transB", 1);
  b.output(b.out(fc));
  return b.take();
}

TEST(CompareTapsGpu, TapsLeaveTheEngineUnchangedAndMatchTheReference) {
  TARMAC_REQUIRE_GPU();
  const Model model = residual_convs();
  compare::TargetOptions eo;
  eo.device = "cuda";
  eo.precision = DType::kFloat16;
  auto engine = compare::make_target(model, eo);
  ASSERT_TRUE(engine.is_ok()) << engine.status().message();
  compare::TargetOptions ro;
  ro.optimize = false;
  auto reference = compare::make_target(model, ro);
  ASSERT_TRUE(reference.is_ok()) << reference.status().message();

  const compare::NamedTensors in = {{"x", random_tensor(DType::kFloat32, {1, 8, 16, 16}, 7)}};
  const auto layers_before = (*engine)->layers();
  compare::NamedTensors plain, tapped;
  ASSERT_TRUE((*engine)->run(in, &plain, nullptr).is_ok());
  int copies = 0, nhwc = 0;
  Status s = (*engine)->run(in, &tapped, [&](const Node&, const Value& v, const Tensor& t) {
    ++copies;
    if (v.name.size() > 5 && v.name.compare(v.name.size() - 5, 5, "_nhwc") == 0 &&
        t.dims().size() == 4)
      ++nhwc;
  });
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ((*engine)->layers(), layers_before);
  ASSERT_EQ(plain.size(), tapped.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    ASSERT_EQ(plain[i].second.nbytes(), tapped[i].second.nbytes());
    EXPECT_EQ(std::memcmp(plain[i].second.raw(), tapped[i].second.raw(), plain[i].second.nbytes()),
              0)
        << "output " << plain[i].first << " changed by the taps";
  }
  EXPECT_GE(copies, static_cast<int>(layers_before.size()));
  EXPECT_GT(nhwc, 0) << "float16 convolutions should run channels-last";

  // The library's per-layer comparison: every mapped tensor within float16 tolerances.
  compare::CheckOptions check;
  check.tol = {2e-2, 2e-2};
  std::vector<std::string> lines;
  auto ok = compare::compare_layers(**engine, **reference, model, {in}, check,
                                    [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  EXPECT_TRUE(*ok) << all;
  EXPECT_NE(all.find(", NHWC"), std::string::npos) << all;
  EXPECT_NE(all.find("outputs with and without taps bitwise identical"), std::string::npos) << all;
  EXPECT_NE(all.find("ONNX Conv 'conv3'"), std::string::npos) << all;
}

}  // namespace
}  // namespace tarmac::testing
