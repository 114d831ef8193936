// CUDA PointPillarScatter: per-pillar features into the bird's-eye-view pseudo-image, the same
// canvas as scatter_cpu. The pillar count is read on the device (graph-capturable).
//   TARMAC_RETURN_IF_ERROR(scatter_cuda(d_pillar_features, out.coords, out.num_pillars, 64, nx,
//                                       ny, d_bev, stream));
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace tarmac::lidar::gpu {

/// Blocks of the scatter's grid-stride loop: the pillar count is only known on the device, so
/// the grid is fixed (enough resident threads to fill an H100: 1024 × 256 ≈ 132 SMs × 2048).
inline constexpr int kScatterBlocks = 1024;
inline constexpr int kScatterThreads = 256;

/// Zeroes bev [channels, ny, nx] and writes bev[c, iy, ix] = pillar_features[p, c] for
/// p < *num_pillars, (iy, ix) = (coords[p, 2], coords[p, 3]); pillars outside the canvas are
/// skipped. pillar_features: [>= P, channels]; coords: [>= P, 4]; num_pillars: [1] (device).
cudaError_t launch_scatter_bev(const float* pillar_features, const int32_t* coords,
                               const int32_t* num_pillars, int channels, int nx, int ny, float* bev,
                               cudaStream_t stream);

}  // namespace tarmac::lidar::gpu

// Host API (Status does not compile under nvcc with this project's flags); it is defined with
// the voxelizer's host code in voxelize.cc.
#ifndef __CUDACC__
#include "core/status.h"

namespace tarmac::lidar {

/// Enqueues the scatter on `stream` (a cudaStream_t): cudaMemsetAsync of the canvas, then the
/// valid pillars (count read from d_num_pillars on the device). No host synchronization.
///   d_pillar_features: [max_voxels, channels]; d_coords: [max_voxels, 4] (0, iz, iy, ix);
///   d_num_pillars: [1]; d_bev: [channels, ny, nx]
Status scatter_cuda(const float* d_pillar_features, const int32_t* d_coords,
                    const int32_t* d_num_pillars, int channels, int nx, int ny, float* d_bev,
                    void* stream);

}  // namespace tarmac::lidar
#endif  // __CUDACC__
