// PointPillarScatter kernel: one thread per (pillar, channel) element in a grid-stride loop;
// reads of the pillar features are coalesced (channel fastest), writes land in one plane per
// channel. Pillars own distinct cells, so no two threads write the same canvas element.
#include "perception/lidar/cuda/scatter.cuh"

namespace tarmac::lidar::gpu {
namespace {

static_assert(kScatterThreads % 32 == 0, "blocks are whole warps");

/// pillar_features: [P, C]; coords: [P, 4] (0, iz, iy, ix); bev: [C, ny, nx]
__global__ void scatter_pillars(const float* __restrict__ pillar_features,
                                const int32_t* __restrict__ coords,
                                const int32_t* __restrict__ num_pillars, int channels, int nx,
                                int ny, float* __restrict__ bev) {
  const int64_t total = static_cast<int64_t>(*num_pillars) * channels;
  const int64_t plane = static_cast<int64_t>(nx) * ny;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += stride) {
    const int64_t p = t / channels, c = t % channels;
    const int32_t iy = coords[4 * p + 2], ix = coords[4 * p + 3];
    if (iy < 0 || iy >= ny || ix < 0 || ix >= nx) continue;
    bev[c * plane + static_cast<int64_t>(iy) * nx + ix] = pillar_features[t];
  }
}

}  // namespace

cudaError_t launch_scatter_bev(const float* pillar_features, const int32_t* coords,
                               const int32_t* num_pillars, int channels, int nx, int ny, float* bev,
                               cudaStream_t stream) {
  const size_t canvas = sizeof(float) * static_cast<size_t>(channels) * nx * ny;
  const cudaError_t e = cudaMemsetAsync(bev, 0, canvas, stream);
  if (e != cudaSuccess) return e;
  scatter_pillars<<<kScatterBlocks, kScatterThreads, 0, stream>>>(
      pillar_features, coords, num_pillars, channels, nx, ny, bev);
  return cudaGetLastError();
}

}  // namespace tarmac::lidar::gpu
