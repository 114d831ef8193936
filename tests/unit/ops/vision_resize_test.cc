// Tests of Resize and Upsample (vision family). Expected values are worked out by hand; the
// comments show how.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "../op_test_util.h"

namespace tarmac {
namespace {

using testing::expect_close;
using testing::OpTester;

Tensor f32(std::vector<float> v, Dims d) { return Tensor::from_vector<float>(v, std::move(d)); }
Tensor i64(std::vector<int64_t> v, Dims d) { return Tensor::from_vector<int64_t>(v, std::move(d)); }

/// Keys cubic kernel, written independently of the kernel under test.
double keys(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return (a + 2) * d * d * d - (a + 3) * d * d + 1;
  if (d < 2) return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
  return 0;
}

// ---------------------------------------------------------------- Resize

TEST(VisionResize, NearestUpsampleHalfPixelRoundPreferFloor) {
  // x_out 0..3 -> (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> rows/cols 0, 0, 1, 1.
  auto out = OpTester("Resize", 13)
                 .input(f32({1, 2, 3, 4}, {1, 1, 2, 2}))
                 .absent_input()
                 .input(f32({1, 1, 2, 2}, {4}), true)
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, {1, 1, 4, 4}));
}

TEST(VisionResize, LinearAlignCornersUsesFractionalOutputLength) {
  // Width 4 * 0.6 = 2.4 -> 2 outputs; x_ori = 1 * (4 - 1) / (2.4 - 1) = 2.142857.
  // Height 2 * 0.6 = 1.2 -> 1 output at row 0.
  auto out = OpTester("Resize", 13)
                 .attr_string("mode", "linear")
                 .attr_string("coordinate_transformation_mode", "align_corners")
                 .input(f32({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 4}))
                 .absent_input()
                 .input(f32({1, 1, 0.6f, 0.6f}, {4}), true)
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({1, 1 + 3.0f / 1.4f}, {1, 1, 1, 2}), 1e-5, 1e-5);
}

TEST(VisionResize, LinearOneDimensionalSizes) {
  // Scale 2, half_pixel: x_ori = -0.25, 0.25, 0.75, 1.25 -> clamp -> 0, 2.5, 7.5, 10.
  auto out = OpTester("Resize", 13)
                 .attr_string("mode", "linear")
                 .input(f32({0, 10}, {2}))
                 .absent_input()
                 .absent_input()
                 .input(i64({4}, {1}), true)
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({0, 2.5f, 7.5f, 10}, {4}));
}

TEST(VisionResize, OpsetTenIsAsymmetric) {
  // Resize-10 linear: x_ori = x / 2 = 0, 0.5, 1, 1.5 -> 1, 2, 3, 3 (clamped).
  auto v10 = OpTester("Resize", 10)
                 .attr_string("mode", "linear")
                 .input(f32({1, 3}, {1, 2}))
                 .input(f32({1, 2}, {2}))
                 .run();
  ASSERT_TRUE(v10.is_ok()) << v10.status().message();
  expect_close((*v10)[0], f32({1, 2, 3, 3}, {1, 4}));
  // Resize-13 defaults to half_pixel: -0.25, 0.25, 0.75, 1.25 -> 1, 1.5, 2.5, 3.
  auto v13 = OpTester("Resize", 13)
                 .attr_string("mode", "linear")
                 .input(f32({1, 3}, {1, 2}))
                 .absent_input()
                 .input(f32({1, 2}, {2}))
                 .run();
  ASSERT_TRUE(v13.is_ok()) << v13.status().message();
  expect_close((*v13)[0], f32({1, 1.5f, 2.5f, 3}, {1, 4}));
}

TEST(VisionResize, OpsetTenNearestRoundsUpWhenDownsampling) {
  // x_ori = x / 0.6: 0 -> 0, 1 -> 1.67 -> ceil -> 2.
  auto out =
      OpTester("Resize", 10).input(f32({1, 2, 3, 4}, {4})).input(f32({0.6f}, {1}), true).run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({1, 3}, {2}));
}

TEST(VisionResize, NearestModes) {
  // asymmetric, scale 2: x_ori = 0, .5, 1, 1.5, 2, 2.5, 3, 3.5.
  const std::vector<std::pair<const char*, std::vector<float>>> cases = {
      {"round_prefer_floor", {10, 10, 20, 20, 30, 30, 40, 40}},
      {"round_prefer_ceil", {10, 20, 20, 30, 30, 40, 40, 40}},
      {"floor", {10, 10, 20, 20, 30, 30, 40, 40}},
      {"ceil", {10, 20, 20, 30, 30, 40, 40, 40}},
  };
  for (const auto& [mode, want] : cases) {
    auto out = OpTester("Resize", 13)
                   .attr_string("coordinate_transformation_mode", "asymmetric")
                   .attr_string("nearest_mode", mode)
                   .input(f32({10, 20, 30, 40}, {4}))
                   .absent_input()
                   .absent_input()
                   .input(i64({8}, {1}))
                   .run();
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    expect_close((*out)[0], f32(want, {8}));
  }
}

TEST(VisionResize, CubicMatchesKeysKernel) {
  // asymmetric, scale 2: output 3 sits at x_ori = 1.5 between inputs 1 and 2.
  const std::vector<float> data = {1, 4, 2, 8, 5};
  for (float a : {-0.75f, -0.5f}) {
    auto out = OpTester("Resize", 13)
                   .attr_string("mode", "cubic")
                   .attr_string("coordinate_transformation_mode", "asymmetric")
                   .attr_float("cubic_coeff_a", a)
                   .input(f32(data, {5}))
                   .absent_input()
                   .input(f32({2}, {1}))
                   .run();
    ASSERT_TRUE(out.is_ok()) << out.status().message();
    ASSERT_EQ((*out)[0].numel(), 10);
    double want = 0;
    for (int k = 0; k < 4; ++k) want += keys(1.5 - k, a) * data[k];
    EXPECT_NEAR((*out)[0].as_double(3), want, 1e-5);
    EXPECT_NEAR((*out)[0].as_double(2), 4.0, 1e-6);  // x_ori = 1 lands on an input
  }
}

TEST(VisionResize, CubicExcludeOutsideRenormalizes) {
  // half_pixel scale 2, output 0: x_ori = -0.25 -> taps -2..1 at distances 1.75, .75, .25,
  // 1.25. exclude_outside drops taps -2 and -1 and renormalizes the rest.
  const std::vector<float> data = {3, 7, 1};
  auto out = OpTester("Resize", 13)
                 .attr_string("mode", "cubic")
                 .attr_int("exclude_outside", 1)
                 .attr_float("cubic_coeff_a", -0.5f)
                 .input(f32(data, {3}))
                 .absent_input()
                 .input(f32({2}, {1}))
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const double w0 = keys(0.25, -0.5), w1 = keys(1.25, -0.5);
  EXPECT_NEAR((*out)[0].as_double(0), (w0 * 3 + w1 * 7) / (w0 + w1), 1e-5);
}

TEST(VisionResize, TfCropAndResizeExtrapolates) {
  // roi [0.5, 1.5] of a length-4 axis, 3 outputs: x_ori = 1.5, 3, 4.5 (outside).
  auto out = OpTester("Resize", 13)
                 .attr_string("mode", "linear")
                 .attr_string("coordinate_transformation_mode", "tf_crop_and_resize")
                 .attr_float("extrapolation_value", 7)
                 .input(f32({0, 10, 20, 30}, {4}))
                 .input(f32({0.5f, 1.5f}, {2}))
                 .absent_input()
                 .input(i64({3}, {1}))
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({15, 30, 7}, {3}));
}

TEST(VisionResize, AntialiasWidensTheLinearFilter) {
  // Scale 0.5, half_pixel: output 0 at x_ori = 0.5. The triangle stretched by 2 covers
  // inputs -1..2 with weights .125, .375, .375, .125 (input -1 clamps to 0).
  const Tensor x = f32({0, 1, 2, 3, 4, 5, 6, 7}, {8});
  auto aa = OpTester("Resize", 18)
                .attr_string("mode", "linear")
                .attr_int("antialias", 1)
                .input(x)
                .absent_input()
                .input(f32({0.5f}, {1}))
                .run();
  ASSERT_TRUE(aa.is_ok()) << aa.status().message();
  expect_close((*aa)[0], f32({0.625f, 2.5f, 4.5f, 6.375f}, {4}));
  auto plain = OpTester("Resize", 18)
                   .attr_string("mode", "linear")
                   .input(x)
                   .absent_input()
                   .input(f32({0.5f}, {1}))
                   .run();
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  expect_close((*plain)[0], f32({0.5f, 2.5f, 4.5f, 6.5f}, {4}));
}

TEST(VisionResize, AxesAndKeepAspectRatio) {
  const Tensor x = f32({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 2, 4});
  // not_larger: scale = min(4/2, 4/4) = 1 -> unchanged.
  auto nl = OpTester("Resize", 18)
                .attr_ints("axes", {2, 3})
                .attr_string("keep_aspect_ratio_policy", "not_larger")
                .input(x)
                .absent_input()
                .absent_input()
                .input(i64({4, 4}, {2}), true)
                .run();
  ASSERT_TRUE(nl.is_ok()) << nl.status().message();
  expect_close((*nl)[0], x);
  // not_smaller: scale 2 -> 4 x 8; nearest half_pixel duplicates every element.
  auto ns = OpTester("Resize", 18)
                .attr_ints("axes", {-1, 2})
                .attr_string("keep_aspect_ratio_policy", "not_smaller")
                .input(x)
                .absent_input()
                .absent_input()
                .input(i64({4, 4}, {2}), true)
                .run();
  ASSERT_TRUE(ns.is_ok()) << ns.status().message();
  ASSERT_EQ((*ns)[0].dims(), (Dims{1, 1, 4, 8}));
  EXPECT_EQ((*ns)[0].as_double(8 * 3 + 7), 8);
  EXPECT_EQ((*ns)[0].as_double(8 * 1 + 2), 2);
}

TEST(VisionResize, HalfPixelSymmetricCentersTheOutput) {
  // Length 4 * 0.6 = 2.4 -> 2; adjustment 2 / 2.4, offset = 2 * (1 - 1 / 1.2) = 1/3.
  // x_ori = 1/3 + (x + 0.5) / 0.6 - 0.5 -> 0.6667 and 2.3333.
  auto out = OpTester("Resize", 19)
                 .attr_string("mode", "linear")
                 .attr_string("coordinate_transformation_mode", "half_pixel_symmetric")
                 .input(f32({0, 3, 6, 9}, {4}))
                 .absent_input()
                 .input(f32({0.6f}, {1}))
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({2, 7}, {2}), 1e-5, 1e-4);
  auto v18 = OpTester("Resize", 18)
                 .attr_string("coordinate_transformation_mode", "half_pixel_symmetric")
                 .input(f32({0, 3, 6, 9}, {4}))
                 .absent_input()
                 .input(f32({0.6f}, {1}))
                 .run();
  EXPECT_FALSE(v18.is_ok());
}

TEST(VisionResize, IntegerAndHalfInputs) {
  auto u8 = OpTester("Resize", 13)
                .input(Tensor::from_vector<uint8_t>({5, 250}, {2}))
                .absent_input()
                .input(f32({1.5f}, {1}))
                .run();
  ASSERT_TRUE(u8.is_ok()) << u8.status().message();
  // half_pixel, scale 1.5: x_ori = -0.1667, 0.5 (a tie: round_prefer_floor -> 0), 1.1667.
  EXPECT_EQ((*u8)[0].dtype(), DType::kUint8);
  EXPECT_EQ((*u8)[0].to_int64_vector(), (std::vector<int64_t>{5, 5, 250}));

  Tensor h = Tensor::from_vector<Half>({Half(1.0f), Half(3.0f)}, {2});
  auto f16 = OpTester("Resize", 13)
                 .attr_string("mode", "linear")
                 .input(h)
                 .absent_input()
                 .input(f32({2}, {1}))
                 .run();
  ASSERT_TRUE(f16.is_ok()) << f16.status().message();
  EXPECT_EQ((*f16)[0].dtype(), DType::kFloat16);
  EXPECT_NEAR((*f16)[0].as_double(1), 1.5, 1e-3);
}

TEST(VisionResize, RejectsBadInputs) {
  const Tensor x = f32({1, 2, 3, 4}, {2, 2});
  // Both scales and sizes.
  EXPECT_FALSE(OpTester("Resize", 13)
                   .input(x)
                   .absent_input()
                   .input(f32({1, 2}, {2}))
                   .input(i64({2, 4}, {2}))
                   .run()
                   .is_ok());
  // Neither.
  EXPECT_FALSE(OpTester("Resize", 13).input(x).absent_input().absent_input().run().is_ok());
  // Wrong number of scales, non-positive scale, bad mode, cubic before opset 11.
  EXPECT_FALSE(OpTester("Resize", 13).input(x).absent_input().input(f32({2}, {1})).run().is_ok());
  EXPECT_FALSE(
      OpTester("Resize", 13).input(x).absent_input().input(f32({1, -2}, {2})).run().is_ok());
  EXPECT_FALSE(OpTester("Resize", 13)
                   .attr_string("mode", "area")
                   .input(x)
                   .absent_input()
                   .input(f32({1, 2}, {2}))
                   .run()
                   .is_ok());
  EXPECT_FALSE(OpTester("Resize", 10)
                   .attr_string("mode", "cubic")
                   .input(x)
                   .input(f32({1, 2}, {2}))
                   .run()
                   .is_ok());
  EXPECT_FALSE(OpTester("Resize", 13)
                   .attr_string("coordinate_transformation_mode", "sideways")
                   .input(x)
                   .absent_input()
                   .input(f32({1, 2}, {2}))
                   .run()
                   .is_ok());
  // Repeated axes and negative sizes.
  EXPECT_FALSE(OpTester("Resize", 18)
                   .attr_ints("axes", {1, -1})
                   .input(x)
                   .absent_input()
                   .absent_input()
                   .input(i64({2, 2}, {2}))
                   .run()
                   .is_ok());
  EXPECT_FALSE(OpTester("Resize", 13)
                   .input(x)
                   .absent_input()
                   .absent_input()
                   .input(i64({2, -1}, {2}))
                   .run()
                   .is_ok());
}

TEST(VisionResize, InferenceKeepsSymbolsAndUsesConstants) {
  Node node;
  node.op_type = "Resize";
  node.name = "r";
  Graph graph;
  ValueType x{DType::kFloat32, true, {Dim(1), Dim(3), Dim::sym("h"), Dim(8)}};
  ValueType scales_t{DType::kFloat32, true, {Dim(4)}};
  const Tensor scales = f32({1, 1, 2, 0.5f}, {4});
  const OpInfo* info = find_op("Resize");
  ASSERT_NE(info, nullptr);
  // Known scales: static dims are scaled, scale-1 dims pass through, symbolic ones get fresh
  // symbols.
  InferContext known{node,
                     13,
                     &graph,
                     {&x, nullptr, &scales_t},
                     {nullptr, nullptr, &scales},
                     std::vector<ValueType>(1)};
  ASSERT_TRUE(info->infer(known).is_ok());
  const Shape& s = known.outputs[0].shape;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1].value, 3);
  EXPECT_FALSE(s[2].is_static());
  EXPECT_NE(s[2].symbol, "h");
  EXPECT_EQ(s[3].value, 4);
  // Unknown scales: every resized axis is symbolic, the rank is still known.
  InferContext unknown{node,
                       13,
                       &graph,
                       {&x, nullptr, &scales_t},
                       {nullptr, nullptr, nullptr},
                       std::vector<ValueType>(1)};
  ASSERT_TRUE(info->infer(unknown).is_ok());
  EXPECT_EQ(unknown.outputs[0].shape.size(), 4u);
  EXPECT_FALSE(unknown.outputs[0].shape[3].is_static());
  // Unknown rank: dtype only.
  ValueType any{DType::kUint8, false, {}};
  InferContext norank{node,
                      13,
                      &graph,
                      {&any, nullptr, &scales_t},
                      {nullptr, nullptr, nullptr},
                      std::vector<ValueType>(1)};
  ASSERT_TRUE(info->infer(norank).is_ok());
  EXPECT_EQ(norank.outputs[0].dtype, DType::kUint8);
  EXPECT_FALSE(norank.outputs[0].has_shape);
}

TEST(VisionUpsample, AttributeAndInputScales) {
  // Opset 7: scales attribute; nearest with integer scales repeats elements.
  auto v7 =
      OpTester("Upsample", 7).attr_floats("scales", {1, 2, 3}).input(f32({1, 2}, {1, 1, 2})).run();
  ASSERT_TRUE(v7.is_ok()) << v7.status().message();
  expect_close((*v7)[0], f32({1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}, {1, 2, 6}));
  // Opset 9: scales input; linear is asymmetric: x / 4 = 0, .25, .5, .75, 1, 1.25... clamped.
  auto v9 = OpTester("Upsample", 9)
                .attr_string("mode", "linear")
                .input(f32({1, 2}, {1, 2}))
                .input(f32({1, 4}, {2}), true)
                .run();
  ASSERT_TRUE(v9.is_ok()) << v9.status().message();
  expect_close((*v9)[0], f32({1, 1.25f, 1.5f, 1.75f, 2, 2, 2, 2}, {1, 8}));
  // Opset 9 without the scales input, opset 7 without the attribute, wrong length.
  EXPECT_FALSE(OpTester("Upsample", 9).input(f32({1, 2}, {1, 2})).run().is_ok());
  EXPECT_FALSE(OpTester("Upsample", 7).input(f32({1, 2}, {1, 2})).run().is_ok());
  EXPECT_FALSE(
      OpTester("Upsample", 9).input(f32({1, 2}, {1, 2})).input(f32({2}, {1})).run().is_ok());
}

}  // namespace
}  // namespace tarmac
