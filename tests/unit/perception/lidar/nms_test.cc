// Rotated BEV IoU (hand cases, degenerate cases, a sampled reference) and greedy NMS.
#include "perception/lidar/nms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>

namespace tarmac::lidar {
namespace {

constexpr float kPi = std::numbers::pi_v<float>;

Box3d box(float x, float y, float dx, float dy, float heading) {
  return Box3d{x, y, 0.f, dx, dy, 1.f, heading};
}

Detection det(const Box3d& b, float score, int label = 0) {
  Detection d;
  d.box = b;
  d.score = score;
  d.label = label;
  return d;
}

/// IoU by sampling a grid over both footprints (double precision, independent of the clipping
/// code).
double sampled_iou(const Box3d& a, const Box3d& b, int steps) {
  struct Frame {
    double x, y, c, s, hx, hy;
    bool inside(double px, double py) const {
      const double u = c * (px - x) + s * (py - y), v = -s * (px - x) + c * (py - y);
      return std::fabs(u) <= hx && std::fabs(v) <= hy;
    }
  };
  const auto frame = [](const Box3d& r) {
    return Frame{r.x,        r.y,       std::cos(double{r.heading}), std::sin(double{r.heading}),
                 r.dx / 2.0, r.dy / 2.0};
  };
  const Frame fa = frame(a), fb = frame(b);
  const double ra = std::hypot(a.dx, a.dy) / 2, rb = std::hypot(b.dx, b.dy) / 2;
  const double x0 = std::min(a.x - ra, b.x - rb), x1 = std::max(a.x + ra, b.x + rb);
  const double y0 = std::min(a.y - ra, b.y - rb), y1 = std::max(a.y + ra, b.y + rb);
  int64_t both = 0, either = 0;
  for (int i = 0; i < steps; ++i) {
    const double x = x0 + (x1 - x0) * (i + 0.5) / steps;
    for (int j = 0; j < steps; ++j) {
      const double y = y0 + (y1 - y0) * (j + 0.5) / steps;
      const bool in_a = fa.inside(x, y), in_b = fb.inside(x, y);
      both += in_a && in_b;
      either += in_a || in_b;
    }
  }
  return either ? static_cast<double>(both) / either : 0.0;
}

TEST(LidarRotatedIou, HandCases) {
  const Box3d unit = box(0, 0, 1, 1, 0);
  EXPECT_NEAR(rotated_bev_iou(unit, unit), 1.f, 1e-6);
  const Box3d car = box(31.7f, -12.3f, 3.9f, 1.6f, 0.7f);
  EXPECT_NEAR(rotated_bev_iou(car, car), 1.f, 1e-5);
  // Disjoint, and far apart.
  EXPECT_EQ(rotated_bev_iou(unit, box(3, 0, 1, 1, 0.3f)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(60, -30, 1, 1, 0)), 0.f);
  // Unit squares offset by half a side: overlap 1/2, union 3/2.
  EXPECT_NEAR(rotated_bev_iou(unit, box(0.5f, 0, 1, 1, 0)), 1.f / 3, 1e-6);
  EXPECT_NEAR(rotated_bev_iou(unit, box(0, -0.5f, 1, 1, 0)), 1.f / 3, 1e-6);
  // The square and itself turned 45 degrees: the overlap is the regular octagon of area
  // 2 (sqrt 2 - 1), the union 2 - that, so IoU = 1 / sqrt 2.
  EXPECT_NEAR(rotated_bev_iou(unit, box(0, 0, 1, 1, kPi / 4)), 1 / std::sqrt(2.0), 1e-6);
  // A 2 x 1 rectangle and the same turned 90 degrees: overlap 1, union 3.
  EXPECT_NEAR(rotated_bev_iou(box(0, 0, 2, 1, 0), box(0, 0, 2, 1, kPi / 2)), 1.f / 3, 1e-6);
  // Nested: a 1 x 1 inside a 4 x 2, both turned alike or not.
  EXPECT_NEAR(rotated_bev_iou(box(5, 5, 4, 2, 0.3f), box(5.2f, 5.1f, 1, 1, 1.1f)), 1.f / 8, 1e-6);
  EXPECT_NEAR(rotated_bev_iou(box(5.2f, 5.1f, 1, 1, 1.1f), box(5, 5, 4, 2, 0.3f)), 1.f / 8, 1e-6);
  // Headings that differ by pi describe the same footprint.
  EXPECT_NEAR(rotated_bev_iou(car, box(31.7f, -12.3f, 3.9f, 1.6f, 0.7f + kPi)), 1.f, 1e-5);
}

TEST(LidarRotatedIou, TouchingAndDegenerate) {
  const Box3d unit = box(0, 0, 1, 1, 0);
  // Sharing an edge, a corner, or an edge of a turned box: zero area.
  EXPECT_LT(rotated_bev_iou(unit, box(1, 0, 1, 1, 0)), 1e-6f);
  EXPECT_LT(rotated_bev_iou(unit, box(1, 1, 1, 1, 0)), 1e-6f);
  EXPECT_LT(rotated_bev_iou(box(0, 0, 2, 2, kPi / 2), box(2, 0.3f, 2, 2, kPi)), 1e-6f);
  // Near-parallel, nearly identical boxes.
  EXPECT_NEAR(rotated_bev_iou(box(10, 10, 4, 2, 0.5f), box(10, 10, 4, 2, 0.5f + 1e-6f)), 1.f, 1e-5);
  EXPECT_NEAR(rotated_bev_iou(box(10, 10, 4, 2, 0.5f), box(10.f, 10.f + 1e-6f, 4, 2, 0.5f)), 1.f,
              1e-5);
  // Empty or invalid boxes never overlap (and never give NaN).
  const float nan = std::nanf(""), inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(rotated_bev_iou(unit, box(0, 0, 0, 1, 0)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(0, 0, -1, 1, 0)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(nan, 0, 1, 1, 0)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(0, 0, 1, inf, 0)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(0, 0, 1, 1, nan)), 0.f);
  EXPECT_EQ(rotated_bev_iou(unit, box(0, 0, 1, 1, inf)), 0.f);
}

TEST(LidarRotatedIou, MatchesASampledReference) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> pos(-1.5f, 1.5f), size(0.5f, 4.f), angle(-4.f, 4.f);
  int overlapping = 0;
  for (int t = 0; t < 150; ++t) {
    const Box3d a = box(pos(rng), pos(rng), size(rng), size(rng), angle(rng));
    const Box3d b = box(pos(rng), pos(rng), size(rng), size(rng), angle(rng));
    const float iou = rotated_bev_iou(a, b);
    ASSERT_TRUE(iou >= 0.f && iou <= 1.f) << iou;
    EXPECT_NEAR(iou, sampled_iou(a, b, 600), 0.02) << t;
    EXPECT_NEAR(iou, rotated_bev_iou(b, a), 1e-5) << t;
    overlapping += iou > 0;
  }
  EXPECT_GT(overlapping, 75);
}

TEST(LidarNms, SuppressionFollowsScoreOrder) {
  // A overlaps B, B overlaps C, A does not overlap C: B goes, so C stays.
  const std::vector<Detection> d = {det(box(0, 0, 2, 2, 0), 0.9f), det(box(1.5f, 0, 2, 2, 0), 0.8f),
                                    det(box(3, 0, 2, 2, 0), 0.7f)};
  EXPECT_EQ(nms_bev(d, 0.01f, true, 500), (std::vector<int>{0, 2}));
  // A loose threshold keeps all three (IoU of neighbours is 1/7).
  EXPECT_EQ(nms_bev(d, 0.2f, true, 500), (std::vector<int>{0, 1, 2}));
}

TEST(LidarNms, ClassAwareVersusAgnostic) {
  const std::vector<Detection> d = {
      det(box(0, 0, 2, 2, 0), 0.9f, 0), det(box(0.2f, 0, 2, 2, 0.1f), 0.8f, 1),
      det(box(0.1f, 0.1f, 2, 2, 0), 0.7f, 0), det(box(0.3f, 0, 2, 2, 0), 0.6f, 1)};
  EXPECT_EQ(nms_bev(d, 0.01f, true, 500), (std::vector<int>{0}));
  EXPECT_EQ(nms_bev(d, 0.01f, false, 500), (std::vector<int>{0, 1}));
}

TEST(LidarNms, MaxDetectionsAndEmptyInput) {
  std::vector<Detection> d;
  for (int i = 0; i < 10; ++i) d.push_back(det(box(3.f * i, 0, 1, 1, 0), 1.f - 0.05f * i));
  EXPECT_EQ(nms_bev(d, 0.01f, true, 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(nms_bev(d, 0.01f, true, 500).size(), 10u);
  EXPECT_TRUE(nms_bev({}, 0.01f, true, 500).empty());
}

TEST(LidarNms, ThresholdIsStrict) {
  const std::vector<Detection> d = {det(box(0, 0, 1, 1, 0), 0.9f),
                                    det(box(0.5f, 0, 1, 1, 0.2f), 0.8f)};
  const float iou = bev_iou(make_bev_box(d[0].box), make_bev_box(d[1].box));
  ASSERT_GT(iou, 0.2f);
  EXPECT_EQ(nms_bev(d, iou, true, 500).size(), 2u);  // equal is not above
  EXPECT_EQ(nms_bev(d, std::nextafter(iou, 0.f), true, 500).size(), 1u);
  // Threshold 0: touching boxes (IoU 0) stay, any overlap suppresses.
  const std::vector<Detection> touching = {det(box(0, 0, 1, 1, 0), 0.9f),
                                           det(box(1, 0, 1, 1, 0), 0.8f)};
  EXPECT_EQ(nms_bev(touching, 0.f, true, 500).size(), 2u);
  EXPECT_EQ(nms_bev(d, 0.f, true, 500).size(), 1u);
}

}  // namespace
}  // namespace tarmac::lidar
