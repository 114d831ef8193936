// Tests of the vision family's GridSample, NonMaxSuppression, QuantizeLinear and
// DequantizeLinear (Resize/Upsample: vision_resize_test.cc). Expected values are worked out by
// hand.
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

// ---------------------------------------------------------------- GridSample

Tensor grid_points(std::vector<float> xy) {
  const int64_t n = static_cast<int64_t>(xy.size()) / 2;
  return f32(std::move(xy), {1, 1, n, 2});
}

TEST(VisionGridSample, BilinearAlignCorners) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  // align_corners=0: (0,0) is the image center -> 2.5; (-1,-1) is the outer corner:
  // pixel -0.5 on both axes, so only X[0,0] contributes, with weight 0.25.
  auto a0 = OpTester("GridSample", 16).input(x).input(grid_points({0, 0, -1, -1})).run();
  ASSERT_TRUE(a0.is_ok()) << a0.status().message();
  expect_close((*a0)[0], f32({2.5f, 0.25f}, {1, 1, 1, 2}));
  // align_corners=1: (-1,-1) and (1,1) are the corner pixel centers; (1,-1) is x=1, y=0.
  auto a1 = OpTester("GridSample", 16)
                .attr_int("align_corners", 1)
                .input(x)
                .input(grid_points({-1, -1, 1, 1, 1, -1}))
                .run();
  ASSERT_TRUE(a1.is_ok()) << a1.status().message();
  expect_close((*a1)[0], f32({1, 4, 2}, {1, 1, 1, 3}));
}

TEST(VisionGridSample, NearestRoundsHalfToEven) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  // g = 0 -> pixel 0.5 -> 0 (even); g = 1 -> 1.5 -> 2: outside, zeros -> 0, border -> 1.
  auto z = OpTester("GridSample", 16)
               .attr_string("mode", "nearest")
               .input(x)
               .input(grid_points({0, 0, 1, -0.5f}))
               .run();
  ASSERT_TRUE(z.is_ok()) << z.status().message();
  expect_close((*z)[0], f32({1, 0}, {1, 1, 1, 2}));
  auto b = OpTester("GridSample", 16)
               .attr_string("mode", "nearest")
               .attr_string("padding_mode", "border")
               .input(x)
               .input(grid_points({0, 0, 1, -0.5f}))
               .run();
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  expect_close((*b)[0], f32({1, 2}, {1, 1, 1, 2}));
}

TEST(VisionGridSample, BorderAndReflectionPadding) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  // (-2, 0): x pixel -1.5, y pixel 0.5. Border clamps x to 0 -> mean of 1 and 3 = 2.
  auto b = OpTester("GridSample", 16)
               .attr_string("padding_mode", "border")
               .input(x)
               .input(grid_points({-2, 0}))
               .run();
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  expect_close((*b)[0], f32({2}, {1, 1, 1, 1}));
  // (-1.5, 0): x pixel -1; reflection about -0.5 gives 0 -> mean of 1 and 3 = 2.
  // (1.5, 0): x pixel 2; reflection about 1.5 gives 1 -> mean of 2 and 4 = 3.
  auto r = OpTester("GridSample", 16)
               .attr_string("padding_mode", "reflection")
               .input(x)
               .input(grid_points({-1.5f, 0, 1.5f, 0}))
               .run();
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  expect_close((*r)[0], f32({2, 3}, {1, 1, 1, 2}));
}

TEST(VisionGridSample, BicubicMatchesKeysKernel) {
  // X is 3 x 4; align_corners=1 maps (0, 0) to pixel (x=1.5, y=1): row 1 only, taps 0..3.
  const std::vector<float> row = {1, 4, 2, 8};
  auto out = OpTester("GridSample", 16)
                 .attr_string("mode", "bicubic")
                 .attr_int("align_corners", 1)
                 .input(f32({0, 0, 0, 0, 1, 4, 2, 8, 9, 9, 9, 9}, {1, 1, 3, 4}))
                 .input(grid_points({0, 0}))
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  double want = 0;
  for (int k = 0; k < 4; ++k) want += keys(1.5 - k, -0.75) * row[k];
  EXPECT_NEAR((*out)[0].as_double(0), want, 1e-5);
}

TEST(VisionGridSample, VolumetricNeedsOpsetTwenty) {
  std::vector<float> v(8);
  for (int i = 0; i < 8; ++i) v[i] = static_cast<float>(i * i);
  const Tensor x = f32(v, {1, 1, 2, 2, 2});
  const Tensor g = f32({0, 0, 0}, {1, 1, 1, 1, 3});
  // The center of a 2x2x2 volume averages all eight voxels: (0+1+4+...+49) / 8 = 17.5.
  auto out = OpTester("GridSample", 20).input(x).input(g).run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  expect_close((*out)[0], f32({17.5f}, {1, 1, 1, 1, 1}));
  EXPECT_FALSE(OpTester("GridSample", 16).input(x).input(g).run().is_ok());
  // Mode names changed in opset 20.
  EXPECT_FALSE(
      OpTester("GridSample", 20).attr_string("mode", "bilinear").input(x).input(g).run().is_ok());
  EXPECT_FALSE(OpTester("GridSample", 16)
                   .attr_string("mode", "linear")
                   .input(f32({1, 2, 3, 4}, {1, 1, 2, 2}))
                   .input(grid_points({0, 0}))
                   .run()
                   .is_ok());
}

TEST(VisionGridSample, RejectsBadShapes) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  EXPECT_FALSE(
      OpTester("GridSample", 16).input(x).input(f32({0, 0, 0}, {1, 1, 1, 3})).run().is_ok());
  EXPECT_FALSE(
      OpTester("GridSample", 16).input(x).input(f32({0, 0, 0, 0}, {2, 1, 1, 2})).run().is_ok());
  EXPECT_FALSE(OpTester("GridSample", 16)
                   .attr_string("padding_mode", "wrap")
                   .input(x)
                   .input(grid_points({0, 0}))
                   .run()
                   .is_ok());
}

// ---------------------------------------------------------------- NonMaxSuppression

OpTester nms(Tensor boxes, Tensor scores, int64_t max_out, float iou, float score_thr) {
  OpTester t("NonMaxSuppression", 11);
  t.input(std::move(boxes))
      .input(std::move(scores))
      .input(i64({max_out}, {1}))
      .input(f32({iou}, {1}))
      .input(f32({score_thr}, {1}));
  return t;
}

TEST(VisionNms, SuppressesByIouInScoreOrder) {
  // Order by score: 3 (.95), 0 (.9), 1, 2, 4, 5. Boxes 1 and 2 overlap box 0 with IoU
  // 0.9 / 1.1 > 0.5, box 4 overlaps box 3 likewise; box 5 is alone.
  const Tensor boxes = f32({0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                            0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101},
                           {1, 6, 4});
  const Tensor scores = f32({0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f}, {1, 1, 6});
  auto out = nms(boxes, scores, 3, 0.5f, 0).run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dims(), (Dims{3, 3}));
  EXPECT_EQ((*out)[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 5}));
  // A limit of 2 stops after boxes 3 and 0; score_threshold 0.6 is strict, dropping 2, 4, 5.
  auto lim = nms(boxes, scores, 2, 0.5f, 0).run();
  ASSERT_TRUE(lim.is_ok());
  EXPECT_EQ((*lim)[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 3, 0, 0, 0}));
  auto thr = nms(boxes, scores, 10, 0.95f, 0.6f).run();
  ASSERT_TRUE(thr.is_ok());
  EXPECT_EQ((*thr)[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 3, 0, 0, 0, 0, 0, 1}));
}

TEST(VisionNms, TiesCentersBatchesAndClasses) {
  // Two identical boxes with equal scores: the lower index wins. Center format
  // [xc, yc, w, h]: box 1 is far away and survives.
  const Tensor boxes = f32({0.5f, 0.5f, 1, 1, 0.5f, 0.5f, 1, 1, 5,    5, 1, 1,   // batch 0
                            0,    0,    1, 1, 3,    3,    1, 1, 0.1f, 0, 1, 1},  // batch 1
                           {2, 3, 4});
  const Tensor scores = f32({0.8f, 0.8f, 0.1f, 0.2f, 0.3f, 0.4f,  // batch 0: class 0, 1
                             0.5f, 0.6f, 0.7f, 0.9f, 0.1f, 0.2f},
                            {2, 2, 3});
  OpTester t = nms(boxes, scores, 5, 0.5f, 0);
  t.attr_int("center_point_box", 1);
  auto out = t.run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  // b0 c0: 0 wins the tie with its twin 1, which it suppresses; 2 is far away.
  // b0 c1: 2 (.4), then 1 (.3); 0 is identical to 1 and dropped.
  // b1 c0: 2 (.7) then 1 (.6); 0 overlaps 2 with IoU .9 / 1.1. b1 c1: 0, then 1 (2 overlaps 0).
  EXPECT_EQ((*out)[0].to_int64_vector(),
            (std::vector<int64_t>{0, 0, 0, 0, 0, 2, 0, 1, 2, 0, 1, 1,
                                  1, 0, 2, 1, 0, 1, 1, 1, 0, 1, 1, 1}));
}

TEST(VisionNms, DefaultsAndErrors) {
  const Tensor boxes = f32({0, 0, 1, 1}, {1, 1, 4});
  const Tensor scores = f32({0.5f}, {1, 1, 1});
  // max_output_boxes_per_class defaults to 0: nothing is selected.
  auto none = OpTester("NonMaxSuppression", 10).input(boxes).input(scores).run();
  ASSERT_TRUE(none.is_ok()) << none.status().message();
  EXPECT_EQ((*none)[0].dims(), (Dims{0, 3}));
  EXPECT_FALSE(nms(f32({0, 0, 1}, {1, 1, 3}), scores, 1, 0.5f, 0).run().is_ok());
  EXPECT_FALSE(nms(boxes, f32({0.5f, 0.5f}, {1, 1, 2}), 1, 0.5f, 0).run().is_ok());
  EXPECT_FALSE(nms(boxes, scores, 1, 1.5f, 0).run().is_ok());
  OpTester bad = nms(boxes, scores, 1, 0.5f, 0);
  bad.attr_int("center_point_box", 2);
  EXPECT_FALSE(bad.run().is_ok());
}

// ---------------------------------------------------------------- Quantize / Dequantize

TEST(VisionQuantize, PerTensorRoundsHalfToEvenAndSaturates) {
  // x / 2 = 0, 1, 1.5, 500, -127, -0.5, 2.5, 3.5 -> 0, 1, 2, 500, -127, 0, 2, 4; + 128.
  auto out = OpTester("QuantizeLinear", 13)
                 .input(f32({0, 2, 3, 1000, -254, -1, 5, 7}, {8}))
                 .input(f32({2}, {}))
                 .input(Tensor::from_vector<uint8_t>({128}, {}))
                 .run();
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dtype(), DType::kUint8);
  EXPECT_EQ((*out)[0].to_int64_vector(),
            (std::vector<int64_t>{128, 129, 130, 255, 1, 128, 130, 132}));
  // No zero point: uint8 with zero point 0, negatives saturate to 0.
  auto nozp =
      OpTester("QuantizeLinear", 10).input(f32({-3, 3, 511}, {3})).input(f32({2}, {})).run();
  ASSERT_TRUE(nozp.is_ok()) << nozp.status().message();
  EXPECT_EQ((*nozp)[0].to_int64_vector(), (std::vector<int64_t>{0, 2, 255}));
}

TEST(VisionQuantize, PerAxisAndBlocked) {
  // x [2, 3], axis 1: scales 1, 2, 4 and int8 zero points 0, -1, 1.
  auto axis = OpTester("QuantizeLinear", 13)
                  .input(f32({1, 2, 4, -300, 6, 10}, {2, 3}))
                  .input(f32({1, 2, 4}, {3}))
                  .input(Tensor::from_vector<int8_t>({0, -1, 1}, {3}))
                  .run();
  ASSERT_TRUE(axis.is_ok()) << axis.status().message();
  EXPECT_EQ((*axis)[0].dtype(), DType::kInt8);
  // 10 / 4 = 2.5 -> 2 (even) + 1 = 3.
  EXPECT_EQ((*axis)[0].to_int64_vector(), (std::vector<int64_t>{1, 0, 2, -128, 2, 3}));
  // Opset 10 only knows per-tensor scales.
  EXPECT_FALSE(OpTester("QuantizeLinear", 10)
                   .input(f32({1, 2, 4, 8, 6, 10}, {2, 3}))
                   .input(f32({1, 2, 4}, {3}))
                   .run()
                   .is_ok());
  // Blocked (opset 21): x [1, 5], axis 1, block 2 -> scales for columns {0,1}, {2,3}, {4}.
  auto blk = OpTester("QuantizeLinear", 21)
                 .attr_int("axis", 1)
                 .attr_int("block_size", 2)
                 .input(f32({2, 4, 30, 60, 7}, {1, 5}))
                 .input(f32({2, 10, 1}, {1, 3}))
                 .input(Tensor::from_vector<uint8_t>({1, 2, 3}, {1, 3}))
                 .run();
  ASSERT_TRUE(blk.is_ok()) << blk.status().message();
  EXPECT_EQ((*blk)[0].to_int64_vector(), (std::vector<int64_t>{2, 3, 5, 8, 10}));
  // Block size that does not match the scale's length.
  EXPECT_FALSE(OpTester("QuantizeLinear", 21)
                   .attr_int("axis", 1)
                   .attr_int("block_size", 3)
                   .input(f32({2, 4, 30, 60, 7}, {1, 5}))
                   .input(f32({2, 10, 1}, {1, 3}))
                   .run()
                   .is_ok());
}

TEST(VisionQuantize, OutputDtypeAttribute) {
  auto i8 = OpTester("QuantizeLinear", 21)
                .attr_int("output_dtype", 3)  // ONNX INT8
                .input(f32({-200, 5}, {2}))
                .input(f32({1}, {}))
                .run();
  ASSERT_TRUE(i8.is_ok()) << i8.status().message();
  EXPECT_EQ((*i8)[0].dtype(), DType::kInt8);
  EXPECT_EQ((*i8)[0].to_int64_vector(), (std::vector<int64_t>{-128, 5}));
  auto i16 = OpTester("QuantizeLinear", 21)
                 .attr_int("output_dtype", 5)  // ONNX INT16: no tarmac dtype
                 .input(f32({1}, {1}))
                 .input(f32({1}, {}))
                 .run();
  ASSERT_FALSE(i16.is_ok());
  EXPECT_EQ(i16.status().code(), StatusCode::kUnsupported);
  // output_dtype must agree with the zero point.
  EXPECT_FALSE(OpTester("QuantizeLinear", 21)
                   .attr_int("output_dtype", 3)
                   .input(f32({1}, {1}))
                   .input(f32({1}, {}))
                   .input(Tensor::from_vector<uint8_t>({0}, {}))
                   .run()
                   .is_ok());
}

TEST(VisionDequantize, PerTensorPerAxisAndInt32) {
  auto u8 = OpTester("DequantizeLinear", 13)
                .input(Tensor::from_vector<uint8_t>({0, 3, 128, 255}, {4}))
                .input(f32({2}, {}))
                .input(Tensor::from_vector<uint8_t>({128}, {}))
                .run();
  ASSERT_TRUE(u8.is_ok()) << u8.status().message();
  expect_close((*u8)[0], f32({-256, -250, 0, 254}, {4}));
  auto axis = OpTester("DequantizeLinear", 13)
                  .attr_int("axis", 0)
                  .input(Tensor::from_vector<int8_t>({-128, 127, 10, 20}, {2, 2}))
                  .input(f32({0.5f, 3}, {2}))
                  .input(Tensor::from_vector<int8_t>({0, 10}, {2}))
                  .run();
  ASSERT_TRUE(axis.is_ok()) << axis.status().message();
  expect_close((*axis)[0], f32({-64, 63.5f, 0, 30}, {2, 2}));
  auto i32 = OpTester("DequantizeLinear", 10)
                 .input(Tensor::from_vector<int32_t>({-1000000, 7}, {2}))
                 .input(f32({0.25f}, {}))
                 .run();
  ASSERT_TRUE(i32.is_ok()) << i32.status().message();
  expect_close((*i32)[0], f32({-250000, 1.75f}, {2}));
}

TEST(VisionDequantize, OutputTypeFollowsScaleFromOpset19) {
  const Tensor x = Tensor::from_vector<uint8_t>({10, 20}, {2});
  const Tensor s = Tensor::from_vector<Half>({Half(0.5f)}, {});
  auto v19 = OpTester("DequantizeLinear", 19).input(x).input(s).run();
  ASSERT_TRUE(v19.is_ok()) << v19.status().message();
  EXPECT_EQ((*v19)[0].dtype(), DType::kFloat16);
  EXPECT_EQ((*v19)[0].as_double(1), 10.0);
  auto v13 = OpTester("DequantizeLinear", 13).input(x).input(s).run();
  ASSERT_TRUE(v13.is_ok()) << v13.status().message();
  EXPECT_EQ((*v13)[0].dtype(), DType::kFloat32);
  // Blocked scales exist from opset 21 only.
  const Tensor xb = Tensor::from_vector<uint8_t>({1, 2, 3, 4}, {1, 4});
  const Tensor sb = f32({1, 10}, {1, 2});
  auto v21 = OpTester("DequantizeLinear", 21).attr_int("block_size", 2).input(xb).input(sb).run();
  ASSERT_TRUE(v21.is_ok()) << v21.status().message();
  expect_close((*v21)[0], f32({1, 2, 30, 40}, {1, 4}));
  EXPECT_FALSE(
      OpTester("DequantizeLinear", 19).attr_int("block_size", 2).input(xb).input(sb).run().is_ok());
  // The zero point must have x's type.
  EXPECT_FALSE(OpTester("DequantizeLinear", 13)
                   .input(x)
                   .input(f32({1}, {}))
                   .input(Tensor::from_vector<int8_t>({0}, {}))
                   .run()
                   .is_ok());
}

// ---------------------------------------------------------------- hostile inputs

TEST(VisionRobustness, ExtremeScalesAndNonFiniteValues) {
  const Tensor x = f32({1, 2, 3, 4}, {1, 4});
  // A huge scale is refused (the output could not be allocated); a tiny one yields an
  // empty output.
  EXPECT_FALSE(
      OpTester("Resize", 13).input(x).absent_input().input(f32({1, 1e30f}, {2})).run().is_ok());
  auto tiny = OpTester("Resize", 13)
                  .attr_string("mode", "cubic")
                  .input(x)
                  .absent_input()
                  .input(f32({1, 1e-30f}, {2}))
                  .run();
  ASSERT_TRUE(tiny.is_ok()) << tiny.status().message();
  EXPECT_EQ((*tiny)[0].dims(), (Dims{1, 0}));
  // Resizing a zero-length axis to a non-zero length has nothing to interpolate.
  EXPECT_FALSE(OpTester("Resize", 13)
                   .input(f32({}, {1, 0}))
                   .absent_input()
                   .absent_input()
                   .input(i64({1, 3}, {2}))
                   .run()
                   .is_ok());
  // NaN grid positions and NaN scores produce values, not crashes.
  const float nan = std::nanf("");
  for (const char* pad : {"zeros", "border", "reflection"}) {
    auto g = OpTester("GridSample", 16)
                 .attr_string("mode", "bicubic")
                 .attr_string("padding_mode", pad)
                 .input(f32({1, 2, 3, 4}, {1, 1, 2, 2}))
                 .input(grid_points({nan, 0, 1e30f, -1e30f}))
                 .run();
    EXPECT_TRUE(g.is_ok()) << g.status().message();
  }
  const Tensor boxes = f32({0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6}, {1, 3, 4});
  const Tensor scores = f32({nan, 0.5f, nan}, {1, 1, 3});
  // A score threshold drops NaN scores (the comparison fails)...
  auto thr = nms(boxes, scores, 5, 0.5f, 0).run();
  ASSERT_TRUE(thr.is_ok()) << thr.status().message();
  EXPECT_EQ((*thr)[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1}));
  // ...without one they rank after every number: box 1, then 0 (suppressed by 1), then 2.
  auto all = OpTester("NonMaxSuppression", 11).input(boxes).input(scores).input(i64({5}, {})).run();
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  EXPECT_EQ((*all)[0].to_int64_vector(), (std::vector<int64_t>{0, 0, 1, 0, 0, 2}));
  auto q = OpTester("QuantizeLinear", 13)
               .input(f32({nan, INFINITY, -INFINITY}, {3}))
               .input(f32({1}, {}))
               .input(Tensor::from_vector<int8_t>({3}, {}))
               .run();
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ((*q)[0].to_int64_vector(), (std::vector<int64_t>{3, 127, -128}));
}

}  // namespace
}  // namespace tarmac
