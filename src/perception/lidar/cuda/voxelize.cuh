// CUDA pillar voxelization: the same pillars, order, coords, counts and bit-identical features
// as voxelize_cpu (rules in perception/lidar/voxelize.h), deterministically, without host
// synchronization or read-back (a run can be captured in a CUDA graph).
//   auto vox = VoxelizerCuda::create(params, 200000);   // once: device scratch
//   PillarBuffers out{d_features, d_coords, d_num_points, d_num_pillars, d_points_in_range};
//   TARMAC_RETURN_IF_ERROR((*vox)->run(d_xyzi, n, stream, out));  // per frame, async
//
// Steps (one stream, every size from the maximums or from device memory):
//   1. per point: its cell (or none), atomicMin of its index into first[cell], in-range count
//   2. per point: flag = it is the first point of its cell; exclusive scan of the flags gives
//      each first point its pillar number (pillars ordered by first point = by input order)
//   3. per point: pillar = number of its cell's first point (dropped beyond max_voxels), a
//      count per pillar, the cell of each pillar
//   4. stable radix sort of (pillar, input index): each pillar's points, in input order
//   5. exclusive scan of the counts: each pillar's first sorted position
//   6. one warp per pillar row: num_points, coords, the mean (sequential float32 sum in input
//      order, as the CPU does) and the features; rows past the pillars are written as zeros
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tarmac::lidar {

/// Caller-owned device outputs of one run (sizes for the voxelizer's params).
struct PillarBuffers {
  float* features = nullptr;           // [max_voxels, max_points_per_voxel, F]; rows >= P zero
  int32_t* coords = nullptr;           // [max_voxels, 4] (0, iz, iy, ix); rows >= P zero
  int32_t* num_points = nullptr;       // [max_voxels]; rows >= P zero
  int32_t* num_pillars = nullptr;      // [1] P
  int32_t* points_in_range = nullptr;  // [1] points whose cell is inside the grid
};

namespace gpu {

/// Grid and feature options as the kernels read them (taken from VoxelParams).
struct VoxelGridDevice {
  float min[3];     // xmin, ymin, zmin
  float size[3];    // vx, vy, vz
  float offset[3];  // centre of cell 0: size / 2 + min
  int nx, ny, nz;
  int max_voxels;
  int max_points;  // per pillar (M)
  int num_features;
  bool use_absolute_xyz;
  bool with_distance;
};

/// Device scratch of one voxelizer; max_n = its largest point count, G = nx * ny * nz.
struct VoxelScratch {
  int32_t* cell = nullptr;         // [max_n] flat cell (iz * ny + iy) * nx + ix, or -1
  int32_t* first = nullptr;        // [G] smallest input index per cell (kNoPoint when none)
  int32_t* flag = nullptr;         // [max_n] 1 for the first point of its cell
  int32_t* first_rank = nullptr;   // [max_n] exclusive scan of flag
  uint32_t* key[2] = {};           // [max_n] each, sort keys: pillar, or max_voxels (dropped)
  int32_t* index[2] = {};          // [max_n] each, sort values: input index
  int32_t* count = nullptr;        // [max_voxels] points per pillar before truncation
  int32_t* start = nullptr;        // [max_voxels] exclusive scan of count
  int32_t* pillar_cell = nullptr;  // [max_voxels] flat cell of each pillar
  void* temp = nullptr;            // CUB scratch
  size_t temp_bytes = 0;
};

/// first[] is reset with memset byte 0x7F: 0x7F7F7F7F is above every point index.
inline constexpr int32_t kNoPoint = 0x7F7F7F7F;
/// Largest point count of one run (indices stay below kNoPoint).
inline constexpr int64_t kMaxRunPoints = int64_t{1} << 30;

/// Bytes of CUB scratch for runs of up to max_n points.
cudaError_t voxelize_temp_bytes(int max_n, int max_voxels, size_t* bytes);

/// Enqueues one voxelization of xyzi [n, 4] (0 <= n <= the scratch's max_n) on `stream`.
/// On failure *failed_step names the call that failed.
cudaError_t launch_voxelize(const VoxelGridDevice& grid, const float* xyzi, int n,
                            const VoxelScratch& scratch, const PillarBuffers& out,
                            cudaStream_t stream, const char** failed_step);

}  // namespace gpu
}  // namespace tarmac::lidar

// The host API below uses Status, which nvcc cannot compile under this project's -Werror flags
// (fmt's constexpr code): the .cu files see only the launchers above.
#ifndef __CUDACC__
#include <memory>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "perception/lidar/voxelize.h"

namespace tarmac::lidar {

/// Voxelizes clouds on the GPU into caller-owned buffers. Created once for a VoxelParams and a
/// largest point count; owns its device scratch and allocates nothing per run. One run at a
/// time per object (the scratch is shared between runs); runs on one stream are ordered.
class VoxelizerCuda {
 public:
  /// Validates the params and allocates the scratch for clouds of up to max_input_points
  /// (1 to gpu::kMaxRunPoints) points.
  static StatusOr<std::unique_ptr<VoxelizerCuda>> create(const VoxelParams& params,
                                                         int64_t max_input_points);

  VoxelizerCuda(const VoxelizerCuda&) = delete;
  VoxelizerCuda& operator=(const VoxelizerCuda&) = delete;

  /// Enqueues the voxelization of d_xyzi [n, 4] (device, finite values, 0 <= n <=
  /// max_input_points) on `stream` (a cudaStream_t). Writes every element of `out` (see
  /// PillarBuffers) and returns without waiting; nothing is read back to the host.
  Status run(const float* d_xyzi, int64_t n, void* stream, const PillarBuffers& out);

  const VoxelParams& params() const { return params_; }
  int64_t max_input_points() const { return max_n_; }

 private:
  VoxelizerCuda() = default;

  VoxelParams params_;
  int64_t max_n_ = 0;
  gpu::VoxelGridDevice grid_{};
  gpu::VoxelScratch scratch_{};
  std::vector<cuda::DeviceBuffer> buffers_;  // own the memory scratch_ points into
};

}  // namespace tarmac::lidar
#endif  // __CUDACC__
