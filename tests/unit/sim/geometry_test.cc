// Ray-primitive intersections, normals and support functions against hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>

#include "sim/geometry.h"

namespace tarmac::sim {
namespace {

constexpr float kEps = 1e-4f;

void expect_vec(Vec3 a, Vec3 b, float tol = 1e-4f) {
  EXPECT_NEAR(a.x, b.x, tol);
  EXPECT_NEAR(a.y, b.y, tol);
  EXPECT_NEAR(a.z, b.z, tol);
}

TEST(SimGeometry, RayHitsBoxFacesCornersAndMisses) {
  ShapeSet set;
  add_box(&set, {5, 0, 0}, Mat3{}, {1, 1, 1}, 0, 0, 0);
  const Shape& box = set.shapes[0];
  EXPECT_NEAR(intersect(set, box, {0, 0, 0}, {1, 0, 0}, 100), 4.0f, kEps);
  expect_vec(surface_normal(set, box, {4, 0, 0}), {-1, 0, 0});
  EXPECT_EQ(intersect(set, box, {0, 0, 0}, {0, 1, 0}, 100), kNoHit);
  EXPECT_EQ(intersect(set, box, {0, 0, 0}, {1, 0, 0}, 3.5f), kNoHit);  // beyond t_max
  EXPECT_EQ(intersect(set, box, {5, 0, 0}, {1, 0, 0}, 100), 0.0f);     // origin inside
  // Diagonal ray through (4, 1, 1)-(6, -1, -1): enters the x = 4 face at t = 4 / |(1, 0.1, 0)|.
  const Vec3 d = normalize({1, 0.1f, 0});
  EXPECT_NEAR(intersect(set, box, {0, 0, 0}, d, 100), 4.0f / d.x, kEps);

  // A box turned 45 degrees about z is hit at its corner edge.
  add_box(&set, {10, 0, 0}, frame_yaw(0.78539816f), {1, 1, 1}, 0, 0, 0);
  EXPECT_NEAR(intersect(set, set.shapes[1], {0, 0, 0}, {1, 0, 0}, 100), 10 - std::sqrt(2.f), 1e-3f);
}

TEST(SimGeometry, RayHitsCylinderSideAndCaps) {
  ShapeSet set;
  add_frustum(&set, {5, 0, -1}, {5, 0, 1}, 1, 1, 0, 0, 0);  // vertical cylinder, radius 1
  const Shape& c = set.shapes[0];
  EXPECT_NEAR(intersect(set, c, {0, 0, 0}, {1, 0, 0}, 100), 4.0f, kEps);
  expect_vec(surface_normal(set, c, {4, 0, 0}), {-1, 0, 0});
  EXPECT_NEAR(intersect(set, c, {5, 0, 5}, {0, 0, -1}, 100), 4.0f, kEps);  // top cap
  expect_vec(surface_normal(set, c, {5, 0, 1}), {0, 0, 1});
  EXPECT_EQ(intersect(set, c, {0, 0, 1.5f}, {1, 0, 0}, 100), kNoHit);  // passes above
  // Off-centre chord: y = 0.6 meets x^2 + y^2 = 1 at x = -0.8.
  EXPECT_NEAR(intersect(set, c, {0, 0.6f, 0}, {1, 0, 0}, 100), 5 - 0.8f, kEps);

  add_frustum(&set, {3, 0, 0}, {7, 0, 0}, 0.5f, 0.5f, 0, 0, 0);  // along x: hits the end cap
  EXPECT_NEAR(intersect(set, set.shapes[1], {0, 0, 0}, {1, 0, 0}, 100), 3.0f, kEps);
  expect_vec(surface_normal(set, set.shapes[1], {3, 0, 0}), {-1, 0, 0});
}

TEST(SimGeometry, RayHitsConeFrustum) {
  ShapeSet set;
  add_frustum(&set, {0, 0, 0}, {0, 0, 2}, 1, 0, 0, 0, 0);  // cone: radius 1 at z=0, 0 at z=2
  const Shape& cone = set.shapes[0];
  // At z = 1 the radius is 0.5.
  EXPECT_NEAR(intersect(set, cone, {-5, 0, 1}, {1, 0, 0}, 100), 4.5f, kEps);
  // Slope 1/2: the outward normal leans up by atan(1/2).
  expect_vec(surface_normal(set, cone, {-0.5f, 0, 1}), normalize({-1, 0, 0.5f}));
  EXPECT_EQ(intersect(set, cone, {-5, 0, 2.5f}, {1, 0, 0}, 100), kNoHit);
  EXPECT_NEAR(intersect(set, cone, {0.2f, 0, -3}, {0, 0, 1}, 100), 3.0f, kEps);  // base cap
}

TEST(SimGeometry, RayHitsEllipsoid) {
  ShapeSet set;
  add_ellipsoid(&set, {10, 0, 0}, Mat3{}, {2, 1, 1}, 0, 0, 0);
  const Shape& e = set.shapes[0];
  EXPECT_NEAR(intersect(set, e, {0, 0, 0}, {1, 0, 0}, 100), 8.0f, kEps);
  EXPECT_NEAR(intersect(set, e, {10, -5, 0}, {0, 1, 0}, 100), 4.0f, kEps);
  expect_vec(surface_normal(set, e, {10, -1, 0}), {0, -1, 0});
  EXPECT_EQ(intersect(set, e, {0, 0, 1.5f}, {1, 0, 0}, 100), kNoHit);
}

TEST(SimGeometry, RayHitsConvexPrism) {
  ShapeSet set;
  const Vec3 quad[4] = {{4, -1, 0}, {6, -1, 0}, {6, 1, 0}, {4, 1, 0}};
  add_prism(&set, quad, {0, 0, 1}, 0, 0, 0);
  const Shape& p = set.shapes[0];
  EXPECT_NEAR(intersect(set, p, {0, 0, 0.5f}, {1, 0, 0}, 100), 4.0f, kEps);
  expect_vec(surface_normal(set, p, {4, 0, 0.5f}), {-1, 0, 0});
  EXPECT_NEAR(intersect(set, p, {5, 0, 3}, {0, 0, -1}, 100), 2.0f, kEps);
  expect_vec(surface_normal(set, p, {5, 0, 1}), {0, 0, 1});
  EXPECT_EQ(intersect(set, p, {0, 0, 2}, {1, 0, 0}, 100), kNoHit);
  // A swept (sheared) prism: the quad moves +1 in x as it rises by 1.
  const Vec3 q2[4] = {{0, -1, 0}, {1, -1, 0}, {1, 1, 0}, {0, 1, 0}};
  add_prism(&set, q2, {1, 0, 1}, 0, 0, 0);
  // At height 0.5 the slab spans x in [0.5, 1.5].
  EXPECT_NEAR(intersect(set, set.shapes[1], {-3, 0, 0.5f}, {1, 0, 0}, 100), 3.5f, kEps);
}

TEST(SimGeometry, SupportGivesTightExtents) {
  ShapeSet set;
  add_box(&set, {0, 0, 0}, frame_yaw(1.57079633f), {2, 1, 0.5f}, 0, 0, 0);
  EXPECT_NEAR(support(set, set.shapes[0], {1, 0, 0}), 1.0f, 1e-4f);
  EXPECT_NEAR(support(set, set.shapes[0], {0, 1, 0}), 2.0f, 1e-4f);
  add_frustum(&set, {0, 0, 0}, {0, 0, 2}, 0.5f, 0.25f, 0, 0, 0);
  EXPECT_NEAR(support(set, set.shapes[1], {1, 0, 0}), 0.5f, 1e-5f);
  EXPECT_NEAR(support(set, set.shapes[1], {0, 0, 1}), 2.0f, 1e-5f);
  EXPECT_NEAR(support(set, set.shapes[1], {0, 0, -1}), 0.0f, 1e-5f);
  add_ellipsoid(&set, {1, 0, 0}, Mat3{}, {3, 2, 1}, 0, 0, 0);
  EXPECT_NEAR(support(set, set.shapes[2], {0, 1, 0}), 2.0f, 1e-5f);
  EXPECT_NEAR(support(set, set.shapes[2], {1, 0, 0}), 4.0f, 1e-5f);
}

TEST(SimGeometry, TransformKeepsIntersections) {
  ShapeSet set;
  add_box(&set, {5, 2, 0}, frame_yaw(0.3f), {1, 0.5f, 0.7f}, 0, 0, 0);
  const Vec3 quad[4] = {{4, -1, 0}, {6, -1, 0}, {6, 1, 0}, {4, 1, 0}};
  add_prism(&set, quad, {0, 0, 1}, 0, 0, 0);
  const Vec3 o{1, 1, 0.2f};
  const Vec3 to_box = normalize(Vec3{5, 2, 0.1f} - o), to_prism = normalize(Vec3{5, 0, 0.5f} - o);
  const float t_box = intersect(set, set.shapes[0], o, to_box, 100);
  const float t_prism = intersect(set, set.shapes[1], o, to_prism, 100);
  ASSERT_LT(t_box, kNoHit);
  ASSERT_LT(t_prism, kNoHit);
  ShapeSet moved = set;
  const Mat3 rot = frame_yaw(-0.7f);
  transform_shapes(&moved, o, rot);
  EXPECT_NEAR(intersect(moved, moved.shapes[0], {0, 0, 0}, rot.apply(to_box), 100), t_box, 1e-4f);
  EXPECT_NEAR(intersect(moved, moved.shapes[1], {0, 0, 0}, rot.apply(to_prism), 100), t_prism,
              1e-4f);
}

}  // namespace
}  // namespace tarmac::sim
