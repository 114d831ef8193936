// Host side of the CUDA voxelizer and scatter: parameter checks, scratch allocation (once, at
// creation) and the Status wrappers of the launchers in voxelize.cu and scatter.cu.
#include "perception/lidar/cuda/voxelize.cuh"

#include <algorithm>
#include <array>
#include <type_traits>

#include "perception/lidar/cuda/scatter.cuh"

namespace tarmac::lidar {

StatusOr<std::unique_ptr<VoxelizerCuda>> VoxelizerCuda::create(const VoxelParams& params,
                                                               int64_t max_input_points) {
  TARMAC_RETURN_IF_ERROR(params.validate());
  if (max_input_points < 1 || max_input_points > gpu::kMaxRunPoints) {
    return invalid_argument("VoxelizerCuda: max_input_points {} is outside [1, {}]",
                            max_input_points, gpu::kMaxRunPoints);
  }
  std::unique_ptr<VoxelizerCuda> v(new VoxelizerCuda());
  v->params_ = params;
  v->max_n_ = max_input_points;

  const std::array<int, 3> grid = params.grid_size();
  gpu::VoxelGridDevice& g = v->grid_;
  for (int a = 0; a < 3; ++a) {
    g.min[a] = params.range[a];
    g.size[a] = params.voxel_size[a];
    g.offset[a] = params.center_offset(a);  // the same float32 value voxelize_cpu uses
  }
  g.nx = grid[0];
  g.ny = grid[1];
  g.nz = grid[2];
  g.max_voxels = params.max_voxels;
  g.max_points = params.max_points_per_voxel;
  g.num_features = params.num_features();
  g.use_absolute_xyz = params.use_absolute_xyz;
  g.with_distance = params.with_distance;

  const size_t n = static_cast<size_t>(max_input_points);
  const size_t cells = static_cast<size_t>(g.nx) * g.ny * g.nz;
  const size_t pillars = static_cast<size_t>(g.max_voxels);
  size_t temp_bytes = 0;
  TARMAC_CUDA_CHECK(
      gpu::voxelize_temp_bytes(static_cast<int>(max_input_points), g.max_voxels, &temp_bytes));
  temp_bytes = std::max<size_t>(temp_bytes, 16);
  const auto alloc = [&v](size_t bytes, auto** ptr) -> Status {
    TARMAC_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, cuda::DeviceBuffer::allocate(bytes));
    *ptr = static_cast<std::remove_pointer_t<decltype(ptr)>>(b.get());
    v->buffers_.push_back(std::move(b));
    return Status::ok();
  };
  gpu::VoxelScratch& s = v->scratch_;
  const size_t i4 = sizeof(int32_t);
  TARMAC_RETURN_IF_ERROR(alloc(i4 * n, &s.cell));
  TARMAC_RETURN_IF_ERROR(alloc(i4 * cells, &s.first));
  TARMAC_RETURN_IF_ERROR(alloc(i4 * n, &s.flag));
  TARMAC_RETURN_IF_ERROR(alloc(i4 * n, &s.first_rank));
  for (int b = 0; b < 2; ++b) {
    TARMAC_RETURN_IF_ERROR(alloc(sizeof(uint32_t) * n, &s.key[b]));
    TARMAC_RETURN_IF_ERROR(alloc(i4 * n, &s.index[b]));
  }
  TARMAC_RETURN_IF_ERROR(alloc(i4 * pillars, &s.count));
  TARMAC_RETURN_IF_ERROR(alloc(i4 * pillars, &s.start));
  TARMAC_RETURN_IF_ERROR(alloc(i4 * pillars, &s.pillar_cell));
  TARMAC_RETURN_IF_ERROR(alloc(temp_bytes, &s.temp));
  s.temp_bytes = temp_bytes;
  return v;
}

Status VoxelizerCuda::run(const float* d_xyzi, int64_t n, void* stream, const PillarBuffers& out) {
  if (n < 0 || n > max_n_) {
    return invalid_argument("VoxelizerCuda::run: {} points, expected 0 to {}", n, max_n_);
  }
  if (n > 0 && d_xyzi == nullptr) {
    return invalid_argument("VoxelizerCuda::run: {} points but no point buffer", n);
  }
  if (out.features == nullptr || out.coords == nullptr || out.num_points == nullptr ||
      out.num_pillars == nullptr || out.points_in_range == nullptr) {
    return invalid_argument("VoxelizerCuda::run: an output buffer of PillarBuffers is null");
  }
  const char* step = "launch_voxelize";
  const cudaError_t e = gpu::launch_voxelize(grid_, d_xyzi, static_cast<int>(n), scratch_, out,
                                             static_cast<cudaStream_t>(stream), &step);
  if (e != cudaSuccess) {
    return cuda::cuda_error(e, step, __FILE__, __LINE__).with_context("VoxelizerCuda::run");
  }
  return Status::ok();
}

Status scatter_cuda(const float* d_pillar_features, const int32_t* d_coords,
                    const int32_t* d_num_pillars, int channels, int nx, int ny, float* d_bev,
                    void* stream) {
  if (channels < 1 || nx < 1 || ny < 1) {
    return invalid_argument("scatter_cuda: canvas [{}, {}, {}] is empty", channels, ny, nx);
  }
  if (d_pillar_features == nullptr || d_coords == nullptr || d_num_pillars == nullptr ||
      d_bev == nullptr) {
    return invalid_argument("scatter_cuda: a buffer is null");
  }
  TARMAC_CUDA_CHECK(gpu::launch_scatter_bev(d_pillar_features, d_coords, d_num_pillars, channels,
                                            nx, ny, d_bev, static_cast<cudaStream_t>(stream)));
  return Status::ok();
}

}  // namespace tarmac::lidar
