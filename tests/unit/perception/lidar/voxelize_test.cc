// CPU pillar voxelization and BEV scatter: the parameter checks, the range filter on cell
// borders, the truncation rules, hand-computed features, and a brute-force cross-check.
#include "perception/lidar/voxelize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "perception/lidar/point_cloud_io.h"

namespace tarmac::lidar {
namespace {

/// A 4 × 4 × 1 grid of 1 m cells over [0, 4) × [0, 4) × [0, 1).
VoxelParams unit_grid() {
  VoxelParams p;
  p.range = {0.f, 0.f, 0.f, 4.f, 4.f, 1.f};
  p.voxel_size = {1.f, 1.f, 1.f};
  return p;
}

PillarSet voxelize(const std::vector<float>& xyzi, const VoxelParams& p) {
  PillarSet s;
  const Status st = voxelize_cpu(xyzi.data(), static_cast<int64_t>(xyzi.size() / 4), p, &s);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return s;
}

/// Features of slot k of pillar pi.
std::vector<float> slot(const PillarSet& s, int pi, int k) {
  const size_t at = (static_cast<size_t>(pi) * s.max_points + k) * s.num_features;
  return {s.features.begin() + static_cast<std::ptrdiff_t>(at),
          s.features.begin() + static_cast<std::ptrdiff_t>(at + s.num_features)};
}

TEST(LidarVoxelParams, KittiDefaults) {
  const VoxelParams p;
  ASSERT_TRUE(p.validate().is_ok()) << p.validate().message();
  EXPECT_EQ(p.grid_size(), (std::array<int, 3>{432, 496, 1}));
  EXPECT_EQ(p.num_features(), 10);
  VoxelParams q = p;
  q.use_absolute_xyz = false;
  EXPECT_EQ(q.num_features(), 7);
  q.with_distance = true;
  EXPECT_EQ(q.num_features(), 8);
  q.use_absolute_xyz = true;
  EXPECT_EQ(q.num_features(), 11);
  EXPECT_EQ(p.center_offset(0), 0.08f);
  EXPECT_EQ(p.center_offset(2), -1.f);
}

TEST(LidarVoxelParams, ValidateRefusesBadGrids) {
  const auto refused = [](VoxelParams p, const std::string& fragment) {
    const Status s = p.validate();
    EXPECT_FALSE(s.is_ok()) << fragment;
    EXPECT_NE(s.message().find(fragment), std::string::npos) << s.message();
  };
  VoxelParams p;
  p.voxel_size[0] = 0.f;
  refused(p, "voxel size along x");
  p = {};
  p.voxel_size[1] = -0.16f;
  refused(p, "voxel size along y");
  p = {};
  p.voxel_size[2] = std::numeric_limits<float>::quiet_NaN();
  refused(p, "voxel size along z");
  p = {};
  p.range[3] = p.range[0];
  refused(p, "range along x");
  p = {};
  p.range[1] = std::numeric_limits<float>::infinity();
  refused(p, "range along y");
  p = {};
  p.voxel_size = {1e-4f, 1e-4f, 1e-4f};
  refused(p, "cells");
  p = {};
  p.voxel_size[2] = 100.f;  // round(4 / 100) = 0 cells
  refused(p, "cells along z");
  p = {};
  p.max_voxels = 0;
  refused(p, "max_voxels");
  p = {};
  p.max_points_per_voxel = 5000;
  refused(p, "max_points_per_voxel");
  p = {};
  p.max_voxels = kMaxVoxelsLimit;
  p.max_points_per_voxel = 1000;
  refused(p, "exceeds");
}

TEST(LidarVoxelize, BadArguments) {
  PillarSet s;
  const float pt[4] = {1, 1, 0.5f, 0};
  EXPECT_FALSE(voxelize_cpu(pt, -1, unit_grid(), &s).is_ok());
  EXPECT_FALSE(voxelize_cpu(nullptr, 1, unit_grid(), &s).is_ok());
  EXPECT_FALSE(voxelize_cpu(pt, 1, unit_grid(), nullptr).is_ok());
  VoxelParams bad = unit_grid();
  bad.voxel_size[0] = 0;
  EXPECT_FALSE(voxelize_cpu(pt, 1, bad, &s).is_ok());
}

TEST(LidarVoxelize, EmptyCloud) {
  PillarSet s;
  ASSERT_TRUE(voxelize_cpu(nullptr, 0, VoxelParams{}, &s).is_ok());
  EXPECT_EQ(s.num_pillars, 0);
  EXPECT_EQ(s.points_in_range, 0);
  EXPECT_TRUE(s.features.empty());
  EXPECT_EQ(s.num_features, 10);
  EXPECT_EQ(s.max_points, 32);
}

TEST(LidarVoxelize, CellBordersAndEachBound) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Kept: on the lower bounds, on inner borders (belong to the upper cell), just below the
  // upper bounds, and -0.
  const std::vector<float> kept = {0.f,   0.f,   0.f,   1.f,   // cell (0, 0, 0)
                                   1.f,   2.f,   0.5f,  1.f,   // (ix 1, iy 2)
                                   3.99f, 3.99f, 0.99f, 1.f,   // (3, 3)
                                   -0.f,  3.f,   -0.f,  1.f};  // (0, 3)
  // Dropped: on each upper bound, just below each lower bound, NaN.
  const std::vector<float> dropped = {4.f, 1.f, 0.5f,   1.f, 1.f,  4.f, 0.5f, 1.f,    1.f,  1.f,
                                      1.f, 1.f, -1e-7f, 1.f, 0.5f, 1.f, 1.f,  -1e-7f, 0.5f, 1.f,
                                      1.f, 1.f, -1e-7f, 1.f, nan,  1.f, 0.5f, 1.f};
  std::vector<float> cloud = dropped;
  cloud.insert(cloud.end(), kept.begin(), kept.end());
  const PillarSet s = voxelize(cloud, unit_grid());
  EXPECT_EQ(s.points_in_range, 4);
  EXPECT_EQ(s.points_kept, 4);
  ASSERT_EQ(s.num_pillars, 4);
  EXPECT_EQ(s.coords, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 3, 3, 0, 0, 3, 0}));
  EXPECT_EQ(s.num_points, (std::vector<int32_t>{1, 1, 1, 1}));

  // KITTI grid: x = xmax and y = ymax are outside, x = xmin and y = ymin inside.
  const VoxelParams k;
  const PillarSet t = voxelize({0.f, -39.68f, -3.f, 0.f, 69.12f, 0.f, 0.f,   0.f, 10.f, 39.68f,
                                0.f, 0.f,     10.f, 0.f, 1.f,    0.f, 0.16f, 0.f, 0.f,  0.f},
                               k);
  EXPECT_EQ(t.points_in_range, 2);
  ASSERT_EQ(t.num_pillars, 2);
  EXPECT_EQ(t.coords, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 248, 1}));
}

TEST(LidarVoxelize, FirstPointsOfAFullPillarAreKept) {
  VoxelParams p = unit_grid();
  std::vector<float> cloud;
  for (int i = 0; i < 40; ++i) {
    cloud.insert(cloud.end(),
                 {1.f + 0.02f * static_cast<float>(i), 2.5f, 0.5f, static_cast<float>(i)});
    if (i == 5) cloud.insert(cloud.end(), {3.5f, 3.5f, 0.5f, 100.f});  // a second pillar
  }
  const PillarSet s = voxelize(cloud, p);
  EXPECT_EQ(s.points_in_range, 41);
  EXPECT_EQ(s.points_kept, 33);
  ASSERT_EQ(s.num_pillars, 2);
  EXPECT_EQ(s.num_points, (std::vector<int32_t>{32, 1}));
  for (int k = 0; k < 32; ++k) EXPECT_EQ(slot(s, 0, k)[3], static_cast<float>(k)) << k;
  EXPECT_EQ(slot(s, 1, 0)[3], 100.f);
  for (int k = 1; k < 32; ++k) {
    for (float v : slot(s, 1, k)) EXPECT_EQ(v, 0.f);
  }
}

TEST(LidarVoxelize, PillarsBeyondMaxVoxelsAreDropped) {
  VoxelParams p = unit_grid();
  p.max_voxels = 3;
  const auto pt = [](float x, float y, float i) { return std::vector<float>{x, y, 0.5f, i}; };
  std::vector<float> cloud;
  for (const auto& v : {pt(2.5f, 0.5f, 0), pt(0.5f, 0.5f, 1), pt(2.5f, 0.5f, 2), pt(3.5f, 3.5f, 3),
                        pt(1.5f, 1.5f, 4),  // 4th pillar: dropped
                        pt(0.5f, 0.5f, 5), pt(1.5f, 1.5f, 6), pt(0.5f, 3.5f, 7),  // 5th: dropped
                        pt(3.5f, 3.5f, 8)}) {
    cloud.insert(cloud.end(), v.begin(), v.end());
  }
  const PillarSet s = voxelize(cloud, p);
  EXPECT_EQ(s.points_in_range, 9);
  EXPECT_EQ(s.points_kept, 6);
  ASSERT_EQ(s.num_pillars, 3);
  EXPECT_EQ(s.coords, (std::vector<int32_t>{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 3}));
  EXPECT_EQ(s.num_points, (std::vector<int32_t>{2, 2, 2}));
  EXPECT_EQ(slot(s, 0, 1)[3], 2.f);
  EXPECT_EQ(slot(s, 1, 1)[3], 5.f);
  EXPECT_EQ(slot(s, 2, 1)[3], 8.f);
}

TEST(LidarVoxelize, HandComputedFeatures) {
  VoxelParams p = unit_grid();
  const PillarSet s = voxelize({0.25f, 0.5f, 0.25f, 7.f,   // pillar 0, cell (0, 0)
                                2.5f, 1.25f, 0.5f, 1.f,    // pillar 1, cell (ix 2, iy 1)
                                0.75f, 0.5f, 0.75f, 9.f},  // pillar 0
                               p);
  ASSERT_EQ(s.num_pillars, 2);
  EXPECT_EQ(s.num_features, 10);
  // Mean (0.5, 0.5, 0.5), centre (0.5, 0.5, 0.5).
  EXPECT_EQ(slot(s, 0, 0), (std::vector<float>{0.25f, 0.5f, 0.25f, 7.f, -0.25f, 0.f, -0.25f, -0.25f,
                                               0.f, -0.25f}));
  EXPECT_EQ(slot(s, 0, 1),
            (std::vector<float>{0.75f, 0.5f, 0.75f, 9.f, 0.25f, 0.f, 0.25f, 0.25f, 0.f, 0.25f}));
  // Centre (2.5, 1.5, 0.5).
  EXPECT_EQ(slot(s, 1, 0),
            (std::vector<float>{2.5f, 1.25f, 0.5f, 1.f, 0.f, 0.f, 0.f, 0.f, -0.25f, 0.f}));
  EXPECT_EQ(s.coords, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 1, 2}));
  for (int k = 2; k < 32; ++k) {
    for (float v : slot(s, 0, k)) EXPECT_EQ(v, 0.f);
  }

  // Without absolute xyz: [i, cluster, centre]; with distance: sqrt(x² + y² + z²) appended.
  p.use_absolute_xyz = false;
  p.with_distance = true;
  const PillarSet t = voxelize({3.f, 0.f, 0.f, 2.f, 0.f, 2.f, 0.5f, 4.f, 3.f, 0.5f, 0.f, 6.f}, p);
  ASSERT_EQ(t.num_pillars, 2);
  EXPECT_EQ(t.num_features, 8);
  EXPECT_EQ(slot(t, 0, 0), (std::vector<float>{2.f, 0.f, -0.25f, 0.f, -0.5f, -0.5f, -0.5f, 3.f}));
  EXPECT_EQ(slot(t, 0, 1),
            (std::vector<float>{6.f, 0.f, 0.25f, 0.f, -0.5f, 0.f, -0.5f, std::sqrt(9.25f)}));
  EXPECT_EQ(slot(t, 1, 0),
            (std::vector<float>{4.f, 0.f, 0.f, 0.f, -0.5f, -0.5f, 0.f, std::sqrt(4.25f)}));
}

TEST(LidarVoxelize, MatchesABruteForceReferenceOnRandomClouds) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 20; ++trial) {
    VoxelParams p;
    p.range = {-2.f, -3.f, -1.f, 2.f, 3.f, 1.f};
    p.voxel_size = {0.5f, 0.5f, 1.f};
    p.max_voxels = trial % 2 ? 10 : 1000;
    p.max_points_per_voxel = 1 + trial;
    std::uniform_real_distribution<float> u(-4.f, 4.f);
    const int n = 50 + 40 * trial;
    std::vector<float> cloud(static_cast<size_t>(n) * 4);
    for (float& v : cloud) v = u(rng);
    const PillarSet s = voxelize(cloud, p);
    // Reference: a map from cell to the indices of its points, in input order.
    const auto g = p.grid_size();
    std::map<std::array<int, 3>, std::vector<int>> cells;
    std::vector<std::array<int, 3>> order;
    int64_t in_range = 0;
    for (int i = 0; i < n; ++i) {
      std::array<int, 3> c{};
      bool inside = true;
      for (int a = 0; a < 3; ++a) {
        const float f = std::floor((cloud[4 * i + a] - p.range[a]) / p.voxel_size[a]);
        inside = inside && f >= 0 && f < static_cast<float>(g[a]);
        c[a] = static_cast<int>(f);
      }
      if (!inside) continue;
      ++in_range;
      if (cells[c].empty()) order.push_back(c);
      cells[c].push_back(i);
    }
    EXPECT_EQ(s.points_in_range, in_range);
    const int P = std::min<int>(static_cast<int>(order.size()), p.max_voxels);
    ASSERT_EQ(s.num_pillars, P);
    int64_t kept = 0;
    for (int pi = 0; pi < P; ++pi) {
      const auto& c = order[static_cast<size_t>(pi)];
      EXPECT_EQ(s.coords[4 * pi + 1], c[2]);
      EXPECT_EQ(s.coords[4 * pi + 2], c[1]);
      EXPECT_EQ(s.coords[4 * pi + 3], c[0]);
      const auto& pts = cells[c];
      const int np = std::min<int>(static_cast<int>(pts.size()), p.max_points_per_voxel);
      ASSERT_EQ(s.num_points[pi], np);
      kept += np;
      for (int k = 0; k < np; ++k) {
        const auto f = slot(s, pi, k);
        for (int a = 0; a < 4; ++a) EXPECT_EQ(f[a], cloud[4 * pts[k] + a]);
      }
    }
    EXPECT_EQ(s.points_kept, kept);
  }
}

TEST(LidarVoxelize, KittiFrameWhenPresent) {
  const std::string path = std::string(TARMAC_SOURCE_DIR) + "/../shared/data/kitti/000000.bin";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no KITTI frame at " << path;
  auto cloud = read_point_cloud(path);
  ASSERT_TRUE(cloud.is_ok()) << cloud.status().message();
  const PillarSet s = voxelize(cloud->xyzi, VoxelParams{});
  EXPECT_GT(s.num_pillars, 1000);
  EXPECT_LE(s.num_pillars, 40000);
  EXPECT_GT(s.points_in_range, s.num_pillars);
  EXPECT_LE(s.points_kept, s.points_in_range);
  int64_t sum = 0;
  for (int32_t c : s.num_points) {
    EXPECT_GE(c, 1);
    EXPECT_LE(c, 32);
    sum += c;
  }
  EXPECT_EQ(sum, s.points_kept);
}

TEST(LidarScatter, WritesPillarsIntoAZeroedCanvas) {
  const int C = 3, nx = 4, ny = 3;
  const std::vector<float> features = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // [3, 3]
  const std::vector<int32_t> coords = {0, 0, 2, 1,                  // (iy 2, ix 1)
                                       0, 0, 0, 3,                  // (0, 3)
                                       0, 0, 5, 0};                 // outside the canvas: skipped
  std::vector<float> bev(C * ny * nx, 42.f);
  scatter_cpu(features.data(), coords.data(), 3, C, nx, ny, bev.data());
  std::vector<float> want(C * ny * nx, 0.f);
  for (int c = 0; c < C; ++c) {
    want[(c * ny + 2) * nx + 1] = features[c];
    want[(c * ny + 0) * nx + 3] = features[C + c];
  }
  EXPECT_EQ(bev, want);
  scatter_cpu(features.data(), coords.data(), 0, C, nx, ny, bev.data());
  EXPECT_EQ(bev, std::vector<float>(C * ny * nx, 0.f));
}

}  // namespace
}  // namespace tarmac::lidar
