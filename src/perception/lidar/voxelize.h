// PointPillars voxelization (CPU reference): the range filter, pillars with their per-point
// features (OpenPCDet's PillarVFE input) and the scatter of per-pillar features to the
// bird's-eye-view pseudo-image. The CUDA kernels in cuda/ reproduce these results bit for bit.
//   VoxelParams params;  // OpenPCDet KITTI PointPillars
//   PillarSet pillars;
//   TARMAC_RETURN_IF_ERROR(voxelize_cpu(cloud.xyzi.data(), cloud.size(), params, &pillars));
//   // ... PFN: pillars.features [P, 32, 10] -> pillar_features [P, 64] ...
//   scatter_cpu(pillar_features.data(), pillars.coords.data(), pillars.num_pillars, 64, nx, ny,
//               bev.data());  // bev [64, ny, nx]
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace tarmac::lidar {

/// Largest grid (nx * ny * nz cells) accepted: the CUDA voxelizer keeps one int per cell.
inline constexpr int64_t kMaxGridCells = int64_t{1} << 26;
/// Largest max_voxels and max_points_per_voxel accepted, and their largest product.
inline constexpr int kMaxVoxelsLimit = 1 << 22;
inline constexpr int kMaxPointsPerVoxelLimit = 1024;
inline constexpr int64_t kMaxPillarSlots = int64_t{1} << 26;

/// Voxel grid and pillar-feature options (defaults: OpenPCDet's KITTI PointPillars).
struct VoxelParams {
  /// xmin, ymin, zmin, xmax, ymax, zmax in metres (lidar frame).
  std::array<float, 6> range = {0.f, -39.68f, -3.f, 69.12f, 39.68f, 1.f};
  /// vx, vy, vz in metres.
  std::array<float, 3> voxel_size = {0.16f, 0.16f, 4.f};
  int max_voxels = 40000;
  int max_points_per_voxel = 32;
  /// PillarVFE USE_ABSLOTE_XYZ: keep x, y, z (else only the intensity) as the first features.
  bool use_absolute_xyz = true;
  /// PillarVFE WITH_DISTANCE: append the distance sqrt(x² + y² + z²) to the origin.
  bool with_distance = false;

  /// Finite range with min < max, positive finite voxel sizes, a grid of at least one and at
  /// most kMaxGridCells cells, and max_voxels / max_points_per_voxel within the limits above.
  Status validate() const;
  /// (nx, ny, nz), each round((max - min) / size) (computed in double). Needs validate().
  std::array<int, 3> grid_size() const;
  /// Features per point slot as PillarVFE builds them:
  /// 4 + (use_absolute_xyz ? 6 : 3) + (with_distance ? 1 : 0); 10 for the defaults.
  int num_features() const { return 4 + (use_absolute_xyz ? 6 : 3) + (with_distance ? 1 : 0); }
  /// Centre of cell 0 along axis a (0 x, 1 y, 2 z): voxel_size[a] / 2 + range[a] in float32.
  float center_offset(int axis) const { return voxel_size[axis] / 2.f + range[axis]; }
};

/// Pillars of one cloud (host memory).
struct PillarSet {
  int num_pillars = 0;              // P
  int64_t points_in_range = 0;      // points whose cell is inside the grid
  int64_t points_kept = 0;          // points in the pillars (sum of num_points)
  int max_points = 0;               // M = max_points_per_voxel
  int num_features = 0;             // F
  std::vector<int32_t> coords;      // [P, 4] (batch 0, iz, iy, ix)
  std::vector<int32_t> num_points;  // [P]
  std::vector<float> features;      // [P, M, F]; slots >= num_points[p] are zero
};

/// Voxelizes n points xyzi [n, 4] (finite values; a NaN point falls outside the grid).
///
/// Rules (shared with the CUDA voxelizer and the Python reference):
/// - Cell of a point: ix = floor((x - xmin) / vx), likewise iy (y, ymin, vy) and iz (z, zmin,
///   vz); each is one float32 subtraction and one float32 division (IEEE, round to nearest, no
///   fused or reciprocal forms) followed by floor. The point is in range iff 0 <= ix < nx,
///   0 <= iy < ny and 0 <= iz < nz (compared before the conversion to int).
/// - Pillars are numbered in the order of their first in-range point in the input. When more
///   than max_voxels pillars occur, the first max_voxels are kept and every point of a later
///   pillar is dropped. A pillar keeps its first max_points_per_voxel points in input order;
///   later ones are dropped.
/// - coords[p] = (0, iz, iy, ix); num_points[p] = the points kept in pillar p.
/// - Features of kept point k of pillar p (x, y, z, i its values), in this order:
///   [x, y, z, i] (use_absolute_xyz) or [i] (otherwise), then x - mx, y - my, z - mz, then
///   x - xc, y - yc, z - zc, then sqrt(x*x + y*y + z*z) (with_distance, summed in that order).
///   mx = sx / float(num_points[p]) with sx = ((0 + x0) + x1) + ... over the kept points in
///   input order, in float32 (my, mz alike); xc = float(ix) * vx + center_offset(0) with the
///   product rounded before the addition (yc, zc alike). Every operation is one float32 IEEE
///   operation, so the CUDA kernels match bit for bit. Padded slots are +0.
Status voxelize_cpu(const float* xyzi, int64_t n, const VoxelParams& p, PillarSet* out);

/// Scatters per-pillar features into a zeroed canvas: bev[c, iy, ix] = pillar_features[p, c]
/// with (iy, ix) = (coords[p, 2], coords[p, 3]) (pillars have nz = 1; iz is not used). A pillar
/// whose (iy, ix) lies outside the canvas is skipped.
///   pillar_features: [num_pillars, channels]; coords: [num_pillars, 4]; bev: [channels, ny, nx]
void scatter_cpu(const float* pillar_features, const int32_t* coords, int num_pillars, int channels,
                 int nx, int ny, float* bev);

}  // namespace tarmac::lidar
