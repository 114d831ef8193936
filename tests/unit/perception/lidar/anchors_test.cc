// PointPillars anchors: count, layout (cell, class, rotation) and the corner-to-corner centres.
#include "perception/lidar/anchors.h"

#include <gtest/gtest.h>

namespace tarmac::lidar {
namespace {

/// Anchor n of a [N, 7] array.
const float* anchor(const std::vector<float>& a, size_t n) { return a.data() + n * 7; }

TEST(LidarAnchors, KittiCountAndCorners) {
  const PointPillarsConfig c = pointpillars_kitti_default();
  const int h = c.feature_map_h(), w = c.feature_map_w();  // 248, 216
  const std::vector<float> a = make_anchors(c, h, w);
  ASSERT_EQ(a.size(), size_t{248} * 216 * 6 * 7);

  // The first cell: x = xmin, y = ymin; Car at rotation 0 then 1.57, z = -1.78 + 1.56 / 2.
  const float* first = anchor(a, 0);
  EXPECT_EQ(first[0], 0.f);
  EXPECT_EQ(first[1], -39.68f);
  EXPECT_FLOAT_EQ(first[2], -1.0f);
  EXPECT_EQ(first[3], 3.9f);
  EXPECT_EQ(first[4], 1.6f);
  EXPECT_EQ(first[5], 1.56f);
  EXPECT_EQ(first[6], 0.f);
  EXPECT_EQ(anchor(a, 1)[6], 1.57f);
  EXPECT_EQ(anchor(a, 1)[3], 3.9f);
  // a = class * 2 + rotation: Pedestrian, then Cyclist.
  EXPECT_EQ(anchor(a, 2)[3], 0.8f);
  EXPECT_EQ(anchor(a, 2)[6], 0.f);
  EXPECT_FLOAT_EQ(anchor(a, 3)[2], 0.265f);
  EXPECT_EQ(anchor(a, 4)[3], 1.76f);
  EXPECT_EQ(anchor(a, 5)[6], 1.57f);

  // The last cell is the far corner of the range (xmax, ymax), to float rounding.
  const float* last = anchor(a, a.size() / 7 - 1);
  EXPECT_NEAR(last[0], 69.12f, 1e-5);
  EXPECT_NEAR(last[1], 39.68f, 1e-5);
  EXPECT_EQ(last[3], 1.76f);
  EXPECT_EQ(last[6], 1.57f);
}

TEST(LidarAnchors, CellOrderIsRowMajorOverYThenX) {
  const PointPillarsConfig c = pointpillars_kitti_default();
  const int w = 216;
  const std::vector<float> a = make_anchors(c, 248, w);
  const double x_step = 69.12 / 215, y_step = 79.36 / 247;
  for (const auto& [j, i] : {std::pair{0, 1}, std::pair{1, 0}, std::pair{100, 57},
                             std::pair{247, 215}, std::pair{123, 200}}) {
    for (int k = 0; k < 6; ++k) {
      const float* p = anchor(a, (static_cast<size_t>(j) * w + i) * 6 + k);
      EXPECT_NEAR(p[0], i * x_step, 2e-5) << j << " " << i;
      EXPECT_NEAR(p[1], -39.68 + j * y_step, 2e-5) << j << " " << i;
    }
  }
  // Every anchor of a cell shares its centre's x and y exactly.
  for (int k = 1; k < 6; ++k) {
    EXPECT_EQ(anchor(a, 6 * 777 + k)[0], anchor(a, 6 * 777)[0]);
    EXPECT_EQ(anchor(a, 6 * 777 + k)[1], anchor(a, 6 * 777)[1]);
  }
}

TEST(LidarAnchors, SmallMapExactValues) {
  PointPillarsConfig c = pointpillars_kitti_default();
  c.point_cloud_range = {-2.f, -1.f, -3.f, 2.f, 1.f, 1.f};
  c.classes = {{"Box", {2.f, 1.f, 0.5f}, {0.f, 0.5f, 1.f}, 0.25f}};
  const std::vector<float> a = make_anchors(c, 2, 3);  // H = 2 (y), W = 3 (x)
  ASSERT_EQ(a.size(), size_t{2} * 3 * 3 * 7);
  const float xs[] = {-2.f, 0.f, 2.f}, ys[] = {-1.f, 1.f};
  for (int j = 0; j < 2; ++j) {
    for (int i = 0; i < 3; ++i) {
      for (int r = 0; r < 3; ++r) {
        const float* p = anchor(a, (j * 3 + i) * 3 + r);
        EXPECT_EQ(p[0], xs[i]);
        EXPECT_EQ(p[1], ys[j]);
        EXPECT_EQ(p[2], 0.25f);
        EXPECT_EQ(p[3], 2.f);
        EXPECT_EQ(p[4], 1.f);
        EXPECT_EQ(p[5], 0.5f);
        EXPECT_EQ(p[6], 0.5f * r);
      }
    }
  }
}

TEST(LidarAnchors, DegenerateMaps) {
  const PointPillarsConfig c = pointpillars_kitti_default();
  EXPECT_TRUE(make_anchors(c, 0, 216).empty());
  const std::vector<float> one = make_anchors(c, 1, 1);  // every anchor at (xmin, ymin)
  ASSERT_EQ(one.size(), size_t{6} * 7);
  EXPECT_EQ(one[0], 0.f);
  EXPECT_EQ(one[1], -39.68f);
}

}  // namespace
}  // namespace tarmac::lidar
