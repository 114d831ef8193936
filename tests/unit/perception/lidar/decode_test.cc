// PointPillars decoding: the shared float math, ResidualCoder + direction classifier on hand
// values, candidate selection and the whole CPU post-processing on a small map.
#include "perception/lidar/decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>

#include "perception/lidar/anchors.h"
#include "perception/lidar/config.h"

namespace tarmac::lidar {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

/// Distance in float steps (ulps) between two finite floats of the same sign.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(static_cast<int64_t>(ia) - ib);
}

TEST(LidarDecodeMath, ExpMatchesTheLibrary) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-87.f, 88.f);
  int64_t worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = i < 100000 ? u(rng) : u(rng) / 64;
    worst = std::max(worst, ulps(exp_f32(x), static_cast<float>(std::exp(double{x}))));
  }
  EXPECT_LE(worst, 2);
  EXPECT_EQ(exp_f32(0.f), 1.f);
  EXPECT_EQ(exp_f32(-100.f), 0.f);
  EXPECT_TRUE(std::isinf(exp_f32(100.f)));
  EXPECT_TRUE(std::isnan(exp_f32(std::nanf(""))));
  EXPECT_EQ(sigmoid_f32(0.f), 0.5f);
  EXPECT_EQ(sigmoid_f32(200.f), 1.f);
  EXPECT_EQ(sigmoid_f32(-200.f), 0.f);
}

TEST(LidarDecodeMath, SinCosMatchTheLibrary) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-40.f, 40.f);
  double worst = 0;
  for (int i = 0; i < 200000; ++i) {
    const float x = u(rng);
    float s, c;
    sincos_f32(x, &s, &c);
    worst =
        std::max({worst, std::fabs(s - std::sin(double{x})), std::fabs(c - std::cos(double{x}))});
  }
  EXPECT_LT(worst, 2e-7);
  float s, c;
  sincos_f32(0.f, &s, &c);
  EXPECT_EQ(s, 0.f);
  EXPECT_EQ(c, 1.f);
  sincos_f32(std::numeric_limits<float>::infinity(), &s, &c);
  EXPECT_TRUE(std::isnan(s) && std::isnan(c));
}

/// An anchor (10, 5, -1, 3.9, 1.6, 1.56, heading).
std::vector<float> test_anchor(float heading) {
  return {10.f, 5.f, -1.f, 3.9f, 1.6f, 1.56f, heading};
}

TEST(LidarDecode, ZeroResidualsGiveTheAnchor) {
  const DecodeParams p = decode_params(pointpillars_kitti_default());
  EXPECT_EQ(p.num_classes, 3);
  EXPECT_EQ(p.dir_period, kPi);
  const float zero[7] = {};
  const float dir0[2] = {1.f, -1.f};  // direction bin 0
  const std::vector<float> a = test_anchor(1.57f);
  const Box3d b = decode_box(a.data(), zero, dir0, p);
  EXPECT_EQ(b.x, 10.f);
  EXPECT_EQ(b.y, 5.f);
  EXPECT_EQ(b.z, -1.f);
  EXPECT_EQ(b.dx, 3.9f);
  EXPECT_EQ(b.dy, 1.6f);
  EXPECT_EQ(b.dz, 1.56f);
  EXPECT_NEAR(b.heading, 1.57f, 1e-6);  // 1.57 - 0.78539 lies in bin 0's [0, pi)
}

TEST(LidarDecode, DirectionClassifierFlipsTheHeading) {
  const DecodeParams p = decode_params(pointpillars_kitti_default());
  const float zero[7] = {};
  const float dir1[2] = {-0.5f, 2.f};  // direction bin 1
  const std::vector<float> a = test_anchor(1.57f);
  EXPECT_NEAR(decode_box(a.data(), zero, dir1, p).heading, 1.57f + kPi, 1e-6);
  // Heading 0 lies below dir_offset: limit_period moves it up one period, so bin 0 gives pi
  // and bin 1 gives 2 pi (OpenPCDet's headings are in [dir_offset, dir_offset + 2 pi)).
  const float dir0[2] = {1.f, 0.f};
  const std::vector<float> a0 = test_anchor(0.f);
  EXPECT_NEAR(decode_box(a0.data(), zero, dir0, p).heading, kPi, 1e-6);
  EXPECT_NEAR(decode_box(a0.data(), zero, dir1, p).heading, 2 * kPi, 1e-6);
  // Equal logits pick bin 0, as torch.max does.
  const float tie[2] = {0.3f, 0.3f};
  EXPECT_NEAR(decode_box(a.data(), zero, tie, p).heading, 1.57f, 1e-6);
  // A residual moving the heading past dir_offset + pi wraps into bin 0's range first.
  const float turn[7] = {0, 0, 0, 0, 0, 0, 2.5f};  // 1.57 + 2.5 = 4.07
  EXPECT_NEAR(decode_box(a.data(), turn, dir0, p).heading, 4.07f - kPi, 2e-6);
}

TEST(LidarDecode, ResidualsScaleByTheAnchor) {
  const DecodeParams p = decode_params(pointpillars_kitti_default());
  const std::vector<float> a = test_anchor(0.f);
  const float diag = std::sqrt(3.9f * 3.9f + 1.6f * 1.6f);
  const float t[7] = {0.5f, -0.25f, 1.f, std::log(2.f), std::log(0.5f), 0.f, 0.f};
  const float dir1[2] = {0.f, 1.f};
  const Box3d b = decode_box(a.data(), t, dir1, p);
  EXPECT_NEAR(b.x, 10.f + 0.5f * diag, 1e-5);
  EXPECT_NEAR(b.y, 5.f - 0.25f * diag, 1e-5);
  EXPECT_NEAR(b.z, -1.f + 1.56f, 1e-6);
  EXPECT_NEAR(b.dx, 7.8f, 1e-5);
  EXPECT_NEAR(b.dy, 0.8f, 1e-6);
  EXPECT_NEAR(b.dz, 1.56f, 1e-6);
  EXPECT_NEAR(b.heading, 2 * kPi, 1e-6);
}

TEST(LidarDecode, TopCandidatesThresholdOrderAndTies) {
  // 6 anchors, 2 classes: [N, C] logits.
  const float l = std::log(0.3f / 0.7f);  // sigmoid(l) = 0.3
  const float cls[] = {
      -5.f, -4.f,  // 0: below the threshold
      l,    -9.f,  // 1: 0.3, class 0
      -9.f, 2.f,   // 2: 0.88, class 1
      l,    l,     // 3: 0.3, class 0 (first on ties)
      2.f,  -1.f,  // 4: 0.88, class 0
      -9.f, l,     // 5: 0.3, class 1
  };
  const float t = sigmoid_f32(l);
  std::vector<Candidate> c = top_candidates_cpu(cls, 6, 2, t, 100);
  ASSERT_EQ(c.size(), 5u);
  const int32_t order[] = {2, 4, 1, 3, 5};  // ties keep the lower anchor index first
  const int labels[] = {1, 0, 0, 0, 1};
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(c[k].anchor, order[k]);
    EXPECT_EQ(c[k].label, labels[k]);
  }
  EXPECT_EQ(c[0].score, sigmoid_f32(2.f));
  EXPECT_EQ(c[4].score, t);
  c = top_candidates_cpu(cls, 6, 2, t, 3);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[2].anchor, 1);
  EXPECT_TRUE(top_candidates_cpu(cls, 6, 2, 0.95f, 10).empty());
  EXPECT_EQ(top_candidates_cpu(cls, 6, 2, 0.f, 10).size(), 6u);  // score >= 0 always
}

TEST(LidarDecode, LabelIsTheFirstClassOfTheBestSigmoid) {
  int label = -1;
  const float spread[] = {-1.f, 0.5f, 0.25f};
  EXPECT_EQ(anchor_score(spread, 3, &label), sigmoid_f32(0.5f));
  EXPECT_EQ(label, 1);
  // Both sigmoids round to 1: the first class wins, as OpenPCDet's max over scores picks it.
  const float saturated[] = {-3.f, 17.f, 18.f};
  EXPECT_EQ(anchor_score(saturated, 3, &label), 1.f);
  EXPECT_EQ(label, 1);
}

TEST(LidarDecode, PostprocessSmallMap) {
  PointPillarsConfig c = pointpillars_kitti_default();
  c.point_cloud_range = {0.f, -4.f, -3.f, 8.f, 4.f, 1.f};
  const int h = 3, w = 5, num_a = 6, num_c = 3;
  const std::vector<float> anchors = make_anchors(c, h, w);  // cells 2 m apart in x, 4 m in y
  const int n = h * w * num_a;
  std::vector<float> cls(n * num_c, -10.f), box(n * 7, 0.f), dir(n * 2, 0.f);
  // Anchor (j, i, a) -> flat index.
  const auto at = [&](int j, int i, int a) { return (j * w + i) * num_a + a; };
  // Two Car anchors of one cell (rotations 0 and 1.57): they overlap, the better one stays.
  cls[at(1, 2, 0) * num_c + 0] = 3.f;
  cls[at(1, 2, 1) * num_c + 0] = 1.f;
  // A Pedestrian far away, pushed 0.5 diagonals forward by its residual.
  cls[at(0, 0, 2) * num_c + 1] = 0.5f;
  box[at(0, 0, 2) * 7 + 0] = 0.5f;
  dir[at(0, 0, 2) * 2 + 1] = 1.f;  // bin 1
  // A Cyclist below the threshold.
  cls[at(2, 4, 4) * num_c + 2] = -3.f;
  const std::vector<Detection> d = postprocess_cpu(cls.data(), box.data(), dir.data(), anchors, c);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].label, 0);
  EXPECT_EQ(d[0].score, sigmoid_f32(3.f));
  EXPECT_EQ(d[0].box.x, 4.f);
  EXPECT_EQ(d[0].box.y, 0.f);
  EXPECT_NEAR(d[0].box.heading, kPi, 1e-6);  // rotation 0, bin 0
  EXPECT_EQ(d[1].label, 1);
  EXPECT_EQ(d[1].score, sigmoid_f32(0.5f));
  EXPECT_NEAR(d[1].box.x, 0.5f * std::sqrt(0.8f * 0.8f + 0.6f * 0.6f), 1e-6);
  EXPECT_EQ(d[1].box.y, -4.f);
  EXPECT_NEAR(d[1].box.heading, 2 * kPi, 1e-6);

  // max_detections 1 keeps the best; a threshold above both scores keeps none.
  c.max_detections = 1;
  EXPECT_EQ(postprocess_cpu(cls.data(), box.data(), dir.data(), anchors, c).size(), 1u);
  c.score_threshold = 0.99f;
  EXPECT_TRUE(postprocess_cpu(cls.data(), box.data(), dir.data(), anchors, c).empty());
}

}  // namespace
}  // namespace tarmac::lidar
