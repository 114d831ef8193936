// Pillar voxelization kernels (steps in voxelize.cuh). Bit-identical to voxelize_cpu: every
// float operation is an explicit round-to-nearest intrinsic (__fsub_rn, __fdiv_rn, __fmul_rn,
// __fadd_rn, __fsqrt_rn), which nvcc never contracts into an FMA or turns into a reciprocal,
// and each pillar's sums run in input order in one thread. Integer atomics only, so every run
// gives the same result.
#include <algorithm>

#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include "perception/lidar/cuda/voxelize.cuh"

namespace tarmac::lidar::gpu {
namespace {

/// Threads per block of every kernel here: whole warps (the in-range count uses a ballot and
/// the pillar kernel gives one warp to each pillar).
constexpr int kBlock = 256;
constexpr int kWarp = 32;
static_assert(kBlock % kWarp == 0, "blocks are whole warps");
constexpr int kPillarsPerBlock = kBlock / kWarp;

unsigned int blocks_for(int64_t n, int per_block) {
  const int64_t b = (n + per_block - 1) / per_block;
  return static_cast<unsigned int>(b < 1 ? 1 : b);
}

/// Bits of the sort keys: pillar numbers 0 .. max_voxels - 1 and the drop key max_voxels.
int key_bits(int max_voxels) {
  int bits = 1;
  while ((int64_t{1} << bits) <= max_voxels) ++bits;
  return bits;
}

/// Step 1: cell of each point (-1 when outside the grid), the smallest input index of each cell
/// and the number of in-range points.
///   xyzi: [n, 4]; cell: [n]; first: [nx * ny * nz]; points_in_range: [1]
__global__ void locate_points(const float* __restrict__ xyzi, int n, VoxelGridDevice g,
                              int32_t* __restrict__ cell, int32_t* __restrict__ first,
                              int32_t* __restrict__ points_in_range) {
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  bool in_range = false;
  if (i < n) {
    const float* pt = xyzi + 4 * static_cast<int64_t>(i);
    const float fx = floorf(__fdiv_rn(__fsub_rn(pt[0], g.min[0]), g.size[0]));
    const float fy = floorf(__fdiv_rn(__fsub_rn(pt[1], g.min[1]), g.size[1]));
    const float fz = floorf(__fdiv_rn(__fsub_rn(pt[2], g.min[2]), g.size[2]));
    // Compared as floats (as the CPU does): NaN fails, huge values never reach the int cast.
    in_range = fx >= 0.f && fx < static_cast<float>(g.nx) && fy >= 0.f &&
               fy < static_cast<float>(g.ny) && fz >= 0.f && fz < static_cast<float>(g.nz);
    int32_t c = -1;
    if (in_range) {
      c = (static_cast<int>(fz) * g.ny + static_cast<int>(fy)) * g.nx + static_cast<int>(fx);
      atomicMin(first + c, i);
    }
    cell[i] = c;
  }
  // Every lane reaches the ballot: the grid has no early exit.
  const unsigned int ballot = __ballot_sync(0xffffffffu, in_range);
  if ((threadIdx.x % kWarp) == 0 && ballot != 0) atomicAdd(points_in_range, __popc(ballot));
}

/// Step 2: flag[i] = 1 when point i is the first point of its cell.
///   cell, flag: [n]; first: [nx * ny * nz]
__global__ void mark_first_points(const int32_t* __restrict__ cell, int n,
                                  const int32_t* __restrict__ first, int32_t* __restrict__ flag) {
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  if (i >= n) return;
  const int32_t c = cell[i];
  flag[i] = c >= 0 && first[c] == i ? 1 : 0;
}

/// Step 3: the pillar of each point (its cell's first point's rank; max_voxels when dropped),
/// the count of each kept pillar, the cell of each kept pillar, and P.
///   cell, flag, first_rank, key, index: [n]; first: [G]; count, pillar_cell: [max_voxels]
__global__ void assign_pillars(const int32_t* __restrict__ cell, int n,
                               const int32_t* __restrict__ first, const int32_t* __restrict__ flag,
                               const int32_t* __restrict__ first_rank, int max_voxels,
                               uint32_t* __restrict__ key, int32_t* __restrict__ index,
                               int32_t* __restrict__ count, int32_t* __restrict__ pillar_cell,
                               int32_t* __restrict__ num_pillars) {
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  if (i >= n) return;
  const int32_t c = cell[i];
  uint32_t k = static_cast<uint32_t>(max_voxels);
  if (c >= 0) {
    const int32_t f = first[c];
    const int32_t pillar = first_rank[f];
    if (pillar < max_voxels) {
      k = static_cast<uint32_t>(pillar);
      atomicAdd(count + pillar, 1);
      if (f == i) pillar_cell[pillar] = c;
    }
  }
  key[i] = k;
  index[i] = i;
  if (i == n - 1) *num_pillars = min(first_rank[i] + flag[i], max_voxels);
}

/// Step 6: one warp per pillar row p < max_voxels writes num_points[p], coords[p] and
/// features[p] (zeros for rows without points).
///   xyzi: [n, 4]; count, start, pillar_cell: [max_voxels]; sorted_index: [n];
///   features: [max_voxels, M, F]; coords: [max_voxels, 4]; num_points: [max_voxels]
__global__ void write_pillars(const float* __restrict__ xyzi, VoxelGridDevice g,
                              const int32_t* __restrict__ count, const int32_t* __restrict__ start,
                              const int32_t* __restrict__ sorted_index,
                              const int32_t* __restrict__ pillar_cell, float* __restrict__ features,
                              int32_t* __restrict__ coords, int32_t* __restrict__ num_points) {
  const int p =
      static_cast<int>(blockIdx.x) * kPillarsPerBlock + static_cast<int>(threadIdx.x) / kWarp;
  const int lane = static_cast<int>(threadIdx.x) % kWarp;
  if (p >= g.max_voxels) return;  // whole warps leave together; no warp-wide calls follow
  const int M = g.max_points, F = g.num_features;
  const int np = min(count[p], M);
  float* row = features + static_cast<int64_t>(p) * M * F;          // [M, F]
  for (int e = np * F + lane; e < M * F; e += kWarp) row[e] = 0.f;  // padded slots
  int ix = 0, iy = 0, iz = 0;
  if (np > 0) {
    const int32_t c = pillar_cell[p];
    ix = c % g.nx;
    iy = (c / g.nx) % g.ny;
    iz = c / (g.nx * g.ny);
  }
  if (lane == 0) {
    num_points[p] = np;
    int32_t* cp = coords + 4 * static_cast<int64_t>(p);
    cp[0] = 0;
    cp[1] = iz;
    cp[2] = iy;
    cp[3] = ix;
  }
  if (np == 0) return;

  const int32_t* idx = sorted_index + start[p];  // this pillar's points in input order
  // The mean: every lane sums the same points in the same order as the CPU (loads broadcast).
  float sx = 0.f, sy = 0.f, sz = 0.f;
  for (int k = 0; k < np; ++k) {
    const float* pt = xyzi + 4 * static_cast<int64_t>(idx[k]);
    sx = __fadd_rn(sx, pt[0]);
    sy = __fadd_rn(sy, pt[1]);
    sz = __fadd_rn(sz, pt[2]);
  }
  const float cnt = static_cast<float>(np);
  const float mx = __fdiv_rn(sx, cnt), my = __fdiv_rn(sy, cnt), mz = __fdiv_rn(sz, cnt);
  const float xc = __fadd_rn(__fmul_rn(static_cast<float>(ix), g.size[0]), g.offset[0]);
  const float yc = __fadd_rn(__fmul_rn(static_cast<float>(iy), g.size[1]), g.offset[1]);
  const float zc = __fadd_rn(__fmul_rn(static_cast<float>(iz), g.size[2]), g.offset[2]);
  for (int k = lane; k < np; k += kWarp) {
    const float* pt = xyzi + 4 * static_cast<int64_t>(idx[k]);
    const float x = pt[0], y = pt[1], z = pt[2], intensity = pt[3];
    float* f = row + static_cast<int64_t>(k) * F;  // [F]
    int j = 0;
    if (g.use_absolute_xyz) {
      f[j++] = x;
      f[j++] = y;
      f[j++] = z;
    }
    f[j++] = intensity;
    f[j++] = __fsub_rn(x, mx);
    f[j++] = __fsub_rn(y, my);
    f[j++] = __fsub_rn(z, mz);
    f[j++] = __fsub_rn(x, xc);
    f[j++] = __fsub_rn(y, yc);
    f[j++] = __fsub_rn(z, zc);
    if (g.with_distance) {
      f[j++] = __fsqrt_rn(__fadd_rn(__fadd_rn(__fmul_rn(x, x), __fmul_rn(y, y)), __fmul_rn(z, z)));
    }
  }
}

}  // namespace

cudaError_t voxelize_temp_bytes(int max_n, int max_voxels, size_t* bytes) {
  size_t scan_points = 0, scan_pillars = 0, sort = 0;
  cudaError_t e =
      cub::DeviceScan::ExclusiveSum(nullptr, scan_points, static_cast<const int32_t*>(nullptr),
                                    static_cast<int32_t*>(nullptr), max_n);
  if (e != cudaSuccess) return e;
  e = cub::DeviceScan::ExclusiveSum(nullptr, scan_pillars, static_cast<const int32_t*>(nullptr),
                                    static_cast<int32_t*>(nullptr), max_voxels);
  if (e != cudaSuccess) return e;
  cub::DoubleBuffer<uint32_t> keys(nullptr, nullptr);
  cub::DoubleBuffer<int32_t> values(nullptr, nullptr);
  e = cub::DeviceRadixSort::SortPairs(nullptr, sort, keys, values, max_n, 0, key_bits(max_voxels));
  if (e != cudaSuccess) return e;
  *bytes = std::max(std::max(scan_points, scan_pillars), sort);
  return cudaSuccess;
}

cudaError_t launch_voxelize(const VoxelGridDevice& g, const float* xyzi, int n,
                            const VoxelScratch& s, const PillarBuffers& out, cudaStream_t stream,
                            const char** failed_step) {
#define TARMAC_VOXELIZE_STEP(expr) \
  do {                             \
    const cudaError_t e_ = (expr); \
    if (e_ != cudaSuccess) {       \
      *failed_step = #expr;        \
      return e_;                   \
    }                              \
  } while (0)
  const int64_t cells = int64_t{g.nx} * g.ny * g.nz;
  const size_t pillar_bytes = sizeof(int32_t) * static_cast<size_t>(g.max_voxels);
  TARMAC_VOXELIZE_STEP(cudaMemsetAsync(out.points_in_range, 0, sizeof(int32_t), stream));
  TARMAC_VOXELIZE_STEP(cudaMemsetAsync(out.num_pillars, 0, sizeof(int32_t), stream));
  TARMAC_VOXELIZE_STEP(cudaMemsetAsync(s.count, 0, pillar_bytes, stream));
  const int32_t* sorted_index = s.index[0];
  if (n > 0) {
    TARMAC_VOXELIZE_STEP(
        cudaMemsetAsync(s.first, 0x7F, sizeof(int32_t) * static_cast<size_t>(cells), stream));
    locate_points<<<blocks_for(n, kBlock), kBlock, 0, stream>>>(xyzi, n, g, s.cell, s.first,
                                                                out.points_in_range);
    TARMAC_VOXELIZE_STEP(cudaGetLastError());
    mark_first_points<<<blocks_for(n, kBlock), kBlock, 0, stream>>>(s.cell, n, s.first, s.flag);
    TARMAC_VOXELIZE_STEP(cudaGetLastError());
    size_t temp_bytes = s.temp_bytes;  // CUB fails (no overrun) if a step needs more
    TARMAC_VOXELIZE_STEP(
        cub::DeviceScan::ExclusiveSum(s.temp, temp_bytes, s.flag, s.first_rank, n, stream));
    assign_pillars<<<blocks_for(n, kBlock), kBlock, 0, stream>>>(
        s.cell, n, s.first, s.flag, s.first_rank, g.max_voxels, s.key[0], s.index[0], s.count,
        s.pillar_cell, out.num_pillars);
    TARMAC_VOXELIZE_STEP(cudaGetLastError());
    // Radix sort is stable: equal pillars keep the input order of their points.
    cub::DoubleBuffer<uint32_t> keys(s.key[0], s.key[1]);
    cub::DoubleBuffer<int32_t> values(s.index[0], s.index[1]);
    temp_bytes = s.temp_bytes;
    TARMAC_VOXELIZE_STEP(cub::DeviceRadixSort::SortPairs(s.temp, temp_bytes, keys, values, n, 0,
                                                         key_bits(g.max_voxels), stream));
    sorted_index = values.Current();  // which buffer holds the result is known on the host
  }
  size_t temp_bytes = s.temp_bytes;
  TARMAC_VOXELIZE_STEP(
      cub::DeviceScan::ExclusiveSum(s.temp, temp_bytes, s.count, s.start, g.max_voxels, stream));
  write_pillars<<<blocks_for(g.max_voxels, kPillarsPerBlock), kBlock, 0, stream>>>(
      xyzi, g, s.count, s.start, sorted_index, s.pillar_cell, out.features, out.coords,
      out.num_points);
  TARMAC_VOXELIZE_STEP(cudaGetLastError());
#undef TARMAC_VOXELIZE_STEP
  return cudaSuccess;
}

}  // namespace tarmac::lidar::gpu
