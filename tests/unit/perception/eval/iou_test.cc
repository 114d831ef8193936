#include "perception/eval/iou.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

namespace tarmac {
namespace {

Box3d box(float x, float y, float dx, float dy, float heading = 0, float z = 0, float dz = 2) {
  return Box3d{x, y, z, dx, dy, dz, heading};
}

TEST(EvalIou, AxisAlignedHalfOverlap) {
  // Two 2x2 squares shifted by 1 along x: intersection 1x2 = 2, union 4 + 4 - 2 = 6.
  EXPECT_NEAR(bev_intersection_area(box(0, 0, 2, 2), box(1, 0, 2, 2)), 2.0, 1e-12);
  EXPECT_NEAR(bev_iou(box(0, 0, 2, 2), box(1, 0, 2, 2)), 1.0 / 3.0, 1e-12);
  // 4x2 vs 2x4 crossing at the origin: intersection 2x2 = 4, union 8 + 8 - 4 = 12.
  EXPECT_NEAR(bev_iou(box(0, 0, 4, 2), box(0, 0, 2, 4)), 1.0 / 3.0, 1e-12);
}

TEST(EvalIou, SquareAgainstSquareRotated45Degrees) {
  // Square [-1, 1]^2 and the same square turned by 45 degrees (|x| + |y| <= sqrt 2). The
  // intersection is the square minus four corner triangles with legs 2 - sqrt 2:
  //   area = 4 - 4 * (2 - sqrt2)^2 / 2 = 8 sqrt2 - 8,  IoU = area / (8 - area) = 1 / sqrt2.
  const double s2 = std::sqrt(2.0);
  const Box3d a = box(0, 0, 2, 2), b = box(0, 0, 2, 2, static_cast<float>(std::numbers::pi / 4));
  EXPECT_NEAR(bev_intersection_area(a, b), 8 * s2 - 8, 1e-6);
  EXPECT_NEAR(bev_iou(a, b), 1 / s2, 1e-6);
  EXPECT_NEAR(bev_iou(b, a), 1 / s2, 1e-6);
}

TEST(EvalIou, IdenticalBoxesGiveOne) {
  for (float heading : {0.f, 0.3f, 1.5707964f, 3.1415927f, -2.f}) {
    const Box3d a = box(61.3f, -17.2f, 4.2f, 1.8f, heading, -0.9f, 1.6f);
    EXPECT_NEAR(bev_iou(a, a), 1.0, 1e-9) << heading;
    EXPECT_NEAR(iou_3d(a, a), 1.0, 1e-9) << heading;
  }
  // Turning a box by pi gives the same rectangle.
  EXPECT_NEAR(bev_iou(box(5, 5, 4, 2, 0), box(5, 5, 4, 2, 3.14159265f)), 1.0, 1e-6);
}

TEST(EvalIou, DisjointAndTouchingBoxesGiveZero) {
  EXPECT_EQ(bev_iou(box(0, 0, 2, 2), box(10, 0, 2, 2)), 0.0);
  EXPECT_EQ(bev_iou(box(0, 0, 2, 2), box(0, 2.5f, 2, 2, 0.4f)), 0.0);
  // Sharing an edge, and sharing only a corner.
  EXPECT_NEAR(bev_iou(box(0, 0, 2, 2), box(2, 0, 2, 2)), 0.0, 1e-12);
  EXPECT_NEAR(bev_iou(box(0, 0, 2, 2), box(2, 2, 2, 2)), 0.0, 1e-12);
  // A diamond whose tip touches the square's edge.
  const float tip = 1 + std::sqrt(2.f);
  EXPECT_NEAR(bev_iou(box(0, 0, 2, 2), box(tip, 0, 2, 2, static_cast<float>(std::numbers::pi / 4))),
              0.0, 1e-6);
  // Same footprint, z ranges only touching.
  EXPECT_EQ(iou_3d(box(0, 0, 2, 2, 0, 0, 2), box(0, 0, 2, 2, 0, 2, 2)), 0.0);
}

TEST(EvalIou, NestedBoxes) {
  // A 1x1 box inside a 4x4 box: intersection 1, union 16.
  EXPECT_NEAR(bev_iou(box(0, 0, 4, 4), box(0.5f, -0.5f, 1, 1)), 1.0 / 16, 1e-12);
  EXPECT_NEAR(bev_iou(box(0.5f, -0.5f, 1, 1, 0.7f), box(0, 0, 4, 4)), 1.0 / 16, 1e-9);
  // Nested in 3D too: volume 1*1*1 inside 4*4*4.
  EXPECT_NEAR(iou_3d(box(0, 0, 4, 4, 0, 0, 4), box(0, 0, 1, 1, 0.2f, 0.5f, 1)), 1.0 / 64, 1e-9);
}

TEST(EvalIou, ThreeDimensionalPartialZOverlap) {
  // Same 2x2 footprint; z from -1 to 1 and from 0 to 2: intersection 4 * 1, union 8 + 8 - 4.
  const Box3d a = box(0, 0, 2, 2, 0, 0, 2), b = box(0, 0, 2, 2, 0, 1, 2);
  EXPECT_NEAR(bev_iou(a, b), 1.0, 1e-12);
  EXPECT_NEAR(iou_3d(a, b), 4.0 / 12.0, 1e-12);
  // Half the footprint (area 2) and half the height (1): 2 / (8 + 8 - 2).
  EXPECT_NEAR(iou_3d(a, box(1, 0, 2, 2, 0, 1, 2)), 2.0 / 14.0, 1e-12);
}

TEST(EvalIou, NearParallelEdgesStayFinite) {
  const Box3d a = box(0, 0, 4, 2);
  for (float eps : {1e-7f, 1e-6f, 1e-4f, -1e-7f}) {
    const Box3d b = box(1, 0.5f, 4, 2, eps);
    const double iou = bev_iou(a, b);
    ASSERT_TRUE(std::isfinite(iou)) << eps;
    // Axis-aligned value: overlap 3 x 1.5 = 4.5 over 8 + 8 - 4.5.
    EXPECT_NEAR(iou, 4.5 / 11.5, 1e-3) << eps;
  }
  // Edges collinear with each other over a length.
  // [-1, 1]^2 against [-1, 1] x [-1, 3]: intersection 4, union 4 + 8 - 4.
  EXPECT_NEAR(bev_iou(box(0, 0, 2, 2), box(0, 1, 2, 4)), 4.0 / 8.0, 1e-12);
}

TEST(EvalIou, RandomBoxesAreSymmetricAndBounded) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pos(-3, 3), size(0.2f, 5), ang(-4, 4);
  for (int i = 0; i < 2000; ++i) {
    const Box3d a = box(pos(rng), pos(rng), size(rng), size(rng), ang(rng), pos(rng), size(rng));
    const Box3d b = box(pos(rng), pos(rng), size(rng), size(rng), ang(rng), pos(rng), size(rng));
    const double ab = bev_iou(a, b), ba = bev_iou(b, a);
    ASSERT_TRUE(ab >= 0 && ab <= 1) << i;
    EXPECT_NEAR(ab, ba, 1e-9) << i;
    const double v = iou_3d(a, b);
    ASSERT_TRUE(v >= 0 && v <= 1) << i;
    EXPECT_LE(v, 1.0);
  }
}

TEST(EvalIou, ConvexIntersectionOfTriangleAndSquare) {
  // Triangle (0,0), (2,0), (0,2) against the unit square: the whole square except nothing,
  // since x + y <= 2 holds on it: area 1.
  const std::vector<Point2d> tri = {{0, 0}, {2, 0}, {0, 2}};
  const std::vector<Point2d> sq = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
  EXPECT_NEAR(convex_intersection_area(tri, sq), 1.0, 1e-12);
  // Shifted by (0.5, 0.5): square [0.5,1.5]^2 minus the triangle above x + y = 2 (area 1/2).
  const std::vector<Point2d> sq2 = {{0.5, 0.5}, {1.5, 0.5}, {1.5, 1.5}, {0.5, 1.5}};
  EXPECT_NEAR(convex_intersection_area(tri, sq2), 0.5, 1e-12);
  EXPECT_EQ(convex_intersection_area(tri, {}), 0.0);
}

TEST(EvalIou, CornersAreCounterClockwiseFromFrontRight) {
  const auto c = bev_corners(box(1, 2, 4, 2, static_cast<float>(std::numbers::pi / 2)));
  // Heading +90 degrees: the front points along +y; front-right is (1 + 1, 2 + 2).
  EXPECT_NEAR(c[0].x, 2, 1e-6);
  EXPECT_NEAR(c[0].y, 4, 1e-6);
  EXPECT_NEAR(c[1].x, 0, 1e-6);
  EXPECT_NEAR(c[1].y, 4, 1e-6);
  EXPECT_NEAR(c[2].x, 0, 1e-6);
  EXPECT_NEAR(c[2].y, 0, 1e-6);
}

}  // namespace
}  // namespace tarmac
