// CPU reference of the pillar voxelization and the BEV scatter (rules in voxelize.h).
#include "perception/lidar/voxelize.h"

#include <algorithm>
#include <cmath>

namespace tarmac::lidar {
namespace {

constexpr const char* kAxis[3] = {"x", "y", "z"};

/// a * b rounded to float32 before anything else uses it. GCC contracts a * b + c into one
/// FMA across statements in C++ on FMA targets (its default -ffp-contract=fast), which would
/// differ from the CUDA kernels' __fmul_rn + __fadd_rn; the volatile store forbids that.
float mul_rn(float a, float b) {
  volatile float product = a * b;
  return product;
}

/// Cells along one axis, in double; NaN when the extent or size is not finite.
double cells_along(const VoxelParams& p, int a) {
  return (static_cast<double>(p.range[a + 3]) - static_cast<double>(p.range[a])) /
         static_cast<double>(p.voxel_size[a]);
}

}  // namespace

Status VoxelParams::validate() const {
  int64_t cells = 1;
  for (int a = 0; a < 3; ++a) {
    const float lo = range[a], hi = range[a + 3], size = voxel_size[a];
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
      return invalid_argument("voxel params: range along {} is [{}, {}], expected finite min < max",
                              kAxis[a], lo, hi);
    }
    if (!std::isfinite(size) || !(size > 0.f)) {
      return invalid_argument("voxel params: voxel size along {} is {}, expected > 0", kAxis[a],
                              size);
    }
    const double c = std::round(cells_along(*this, a));
    if (!(c >= 1.0) || c > static_cast<double>(kMaxGridCells)) {
      return invalid_argument(
          "voxel params: {} cells along {} (range {} / voxel size {}); expected 1 to {}", c,
          kAxis[a], static_cast<double>(hi) - lo, size, kMaxGridCells);
    }
    cells *= static_cast<int64_t>(c);
    if (cells > kMaxGridCells) {
      return invalid_argument("voxel params: the grid has more than {} cells", kMaxGridCells);
    }
  }
  if (max_voxels < 1 || max_voxels > kMaxVoxelsLimit) {
    return invalid_argument("voxel params: max_voxels {} is outside [1, {}]", max_voxels,
                            kMaxVoxelsLimit);
  }
  if (max_points_per_voxel < 1 || max_points_per_voxel > kMaxPointsPerVoxelLimit) {
    return invalid_argument("voxel params: max_points_per_voxel {} is outside [1, {}]",
                            max_points_per_voxel, kMaxPointsPerVoxelLimit);
  }
  if (int64_t{max_voxels} * max_points_per_voxel > kMaxPillarSlots) {
    return invalid_argument("voxel params: max_voxels {} × max_points_per_voxel {} exceeds {}",
                            max_voxels, max_points_per_voxel, kMaxPillarSlots);
  }
  return Status::ok();
}

std::array<int, 3> VoxelParams::grid_size() const {
  std::array<int, 3> g{};
  for (int a = 0; a < 3; ++a) {
    const double c = std::round(cells_along(*this, a));
    g[a] = c >= 1.0 && c <= static_cast<double>(kMaxGridCells) ? static_cast<int>(c) : 0;
  }
  return g;
}

Status voxelize_cpu(const float* xyzi, int64_t n, const VoxelParams& p, PillarSet* out) {
  TARMAC_RETURN_IF_ERROR(p.validate());
  if (out == nullptr) return invalid_argument("voxelize_cpu: no output");
  if (n < 0 || (n > 0 && xyzi == nullptr)) {
    return invalid_argument("voxelize_cpu: {} points at {}", n, static_cast<const void*>(xyzi));
  }
  const std::array<int, 3> grid = p.grid_size();
  const int nx = grid[0], ny = grid[1], nz = grid[2];
  const int M = p.max_points_per_voxel;
  const int F = p.num_features();
  const float xmin = p.range[0], ymin = p.range[1], zmin = p.range[2];
  const float vx = p.voxel_size[0], vy = p.voxel_size[1], vz = p.voxel_size[2];

  constexpr int32_t kUnseen = -1, kDropped = -2;
  std::vector<int32_t> pillar_of_cell(static_cast<size_t>(nx) * ny * nz, kUnseen);  // [nz, ny, nx]
  std::vector<int64_t> slot_point;  // [P, M] input index of each kept point

  PillarSet& s = *out;
  s = PillarSet{};
  s.max_points = M;
  s.num_features = F;
  for (int64_t i = 0; i < n; ++i) {
    const float* pt = xyzi + 4 * i;
    const float fx = std::floor((pt[0] - xmin) / vx);
    const float fy = std::floor((pt[1] - ymin) / vy);
    const float fz = std::floor((pt[2] - zmin) / vz);
    // Compared as floats: a NaN fails every test and a huge value never reaches the int cast.
    if (!(fx >= 0.f && fx < static_cast<float>(nx) && fy >= 0.f && fy < static_cast<float>(ny) &&
          fz >= 0.f && fz < static_cast<float>(nz))) {
      continue;
    }
    ++s.points_in_range;
    const int ix = static_cast<int>(fx), iy = static_cast<int>(fy), iz = static_cast<int>(fz);
    int32_t& pid = pillar_of_cell[(static_cast<size_t>(iz) * ny + iy) * nx + ix];
    if (pid == kUnseen) {
      if (s.num_pillars < p.max_voxels) {
        pid = s.num_pillars++;
        s.coords.insert(s.coords.end(), {0, iz, iy, ix});
        s.num_points.push_back(0);
        slot_point.resize(static_cast<size_t>(s.num_pillars) * M, -1);
      } else {
        pid = kDropped;
      }
    }
    if (pid == kDropped) continue;
    int32_t& count = s.num_points[static_cast<size_t>(pid)];
    if (count >= M) continue;
    slot_point[static_cast<size_t>(pid) * M + count] = i;
    ++count;
    ++s.points_kept;
  }

  const float offset[3] = {p.center_offset(0), p.center_offset(1), p.center_offset(2)};
  s.features.assign(static_cast<size_t>(s.num_pillars) * M * F, 0.f);
  for (int pi = 0; pi < s.num_pillars; ++pi) {
    const size_t pz = static_cast<size_t>(pi);
    const int np = s.num_points[pz];
    const int64_t* slots = slot_point.data() + pz * M;
    float sx = 0.f, sy = 0.f, sz = 0.f;
    for (int k = 0; k < np; ++k) {  // input order, one rounding per addition
      const float* pt = xyzi + 4 * slots[k];
      sx = sx + pt[0];
      sy = sy + pt[1];
      sz = sz + pt[2];
    }
    const float count = static_cast<float>(np);
    const float mx = sx / count, my = sy / count, mz = sz / count;
    const int32_t* c = s.coords.data() + 4 * pz;  // (0, iz, iy, ix)
    const float xc = mul_rn(static_cast<float>(c[3]), vx) + offset[0];
    const float yc = mul_rn(static_cast<float>(c[2]), vy) + offset[1];
    const float zc = mul_rn(static_cast<float>(c[1]), vz) + offset[2];
    for (int k = 0; k < np; ++k) {
      const float* pt = xyzi + 4 * slots[k];
      const float x = pt[0], y = pt[1], z = pt[2], intensity = pt[3];
      float* f = s.features.data() + (pz * M + k) * F;  // [F]
      int j = 0;
      if (p.use_absolute_xyz) {
        f[j++] = x;
        f[j++] = y;
        f[j++] = z;
      }
      f[j++] = intensity;
      f[j++] = x - mx;
      f[j++] = y - my;
      f[j++] = z - mz;
      f[j++] = x - xc;
      f[j++] = y - yc;
      f[j++] = z - zc;
      if (p.with_distance) f[j++] = std::sqrt(mul_rn(x, x) + mul_rn(y, y) + mul_rn(z, z));
    }
  }
  return Status::ok();
}

void scatter_cpu(const float* pillar_features, const int32_t* coords, int num_pillars, int channels,
                 int nx, int ny, float* bev) {
  const int64_t plane = int64_t{nx} * ny;
  std::fill(bev, bev + plane * channels, 0.f);
  for (int p = 0; p < num_pillars; ++p) {
    const int32_t iy = coords[4 * p + 2], ix = coords[4 * p + 3];
    if (iy < 0 || iy >= ny || ix < 0 || ix >= nx) continue;
    const float* src = pillar_features + int64_t{p} * channels;  // [C]
    float* dst = bev + int64_t{iy} * nx + ix;                    // bev[0, iy, ix]
    for (int c = 0; c < channels; ++c) dst[c * plane] = src[c];
  }
}

}  // namespace tarmac::lidar
