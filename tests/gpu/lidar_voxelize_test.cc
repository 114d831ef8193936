// CUDA pillar voxelizer and BEV scatter against the CPU reference: the same pillars, order,
// coords and counts, bit-identical features and canvas, on random clouds (overflowing
// max_points_per_voxel and max_voxels, empty, all out of range), the KITTI frames, repeated
// runs, and replayed from a CUDA graph (run() and scatter_cuda() never synchronize).
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "gpu_test_util.h"
#include "perception/lidar/cuda/scatter.cuh"
#include "perception/lidar/cuda/voxelize.cuh"
#include "perception/lidar/point_cloud_io.h"
#include "perception/lidar/voxelize.h"

namespace tarmac::lidar {
namespace {

#define CUDA_OK(expr) ASSERT_EQ(cudaSuccess, (expr)) << #expr

/// Owned device memory as a typed pointer.
template <typename T>
struct Device {
  cuda::DeviceBuffer buffer;
  T* get() const { return static_cast<T*>(buffer.get()); }
};

template <typename T>
void device_alloc(size_t count, Device<T>* d) {
  auto b = cuda::DeviceBuffer::allocate(sizeof(T) * std::max<size_t>(count, 1));
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  d->buffer = std::move(b).value();
}

template <typename T>
void upload(const std::vector<T>& host, Device<T>* d) {
  ASSERT_NO_FATAL_FAILURE(device_alloc(host.size(), d));
  if (!host.empty()) {
    CUDA_OK(cudaMemcpy(d->get(), host.data(), sizeof(T) * host.size(), cudaMemcpyHostToDevice));
  }
  // The copy runs on the legacy stream, which the tests' non-blocking streams do not wait for.
  CUDA_OK(cudaDeviceSynchronize());
}

template <typename T>
void download(const Device<T>& d, size_t count, std::vector<T>* host) {
  host->resize(count);
  CUDA_OK(cudaMemcpy(host->data(), d.get(), sizeof(T) * count, cudaMemcpyDeviceToHost));
}

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { EXPECT_EQ(cudaSuccess, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~Stream() {
    if (s) cudaStreamDestroy(s);
  }
};

/// Device outputs of one voxelizer, prefilled with 0xFF bytes so rows the run leaves unwritten
/// show up.
struct DevicePillars {
  Device<float> features;      // [max_voxels, M, F]
  Device<int32_t> coords;      // [max_voxels, 4]
  Device<int32_t> num_points;  // [max_voxels]
  Device<int32_t> counters;    // [2] num_pillars, points_in_range
  PillarBuffers view;
};

void make_outputs(const VoxelParams& p, DevicePillars* d) {
  const size_t V = static_cast<size_t>(p.max_voxels);
  const size_t slots = V * static_cast<size_t>(p.max_points_per_voxel * p.num_features());
  ASSERT_NO_FATAL_FAILURE(device_alloc(slots, &d->features));
  ASSERT_NO_FATAL_FAILURE(device_alloc(V * 4, &d->coords));
  ASSERT_NO_FATAL_FAILURE(device_alloc(V, &d->num_points));
  ASSERT_NO_FATAL_FAILURE(device_alloc(2, &d->counters));
  CUDA_OK(cudaMemset(d->features.get(), 0xFF, sizeof(float) * slots));
  CUDA_OK(cudaMemset(d->coords.get(), 0xFF, sizeof(int32_t) * V * 4));
  CUDA_OK(cudaMemset(d->num_points.get(), 0xFF, sizeof(int32_t) * V));
  CUDA_OK(cudaMemset(d->counters.get(), 0xFF, sizeof(int32_t) * 2));
  CUDA_OK(cudaDeviceSynchronize());  // before any use on a non-blocking stream
  d->view = {d->features.get(), d->coords.get(), d->num_points.get(), d->counters.get(),
             d->counters.get() + 1};
}

/// The outputs as the host sees them.
struct HostPillars {
  int32_t num_pillars = 0, points_in_range = 0;
  std::vector<float> features;
  std::vector<int32_t> coords, num_points;
};

void fetch(const DevicePillars& d, const VoxelParams& p, HostPillars* h) {
  const size_t V = static_cast<size_t>(p.max_voxels);
  std::vector<int32_t> counters;
  ASSERT_NO_FATAL_FAILURE(download(d.counters, 2, &counters));
  h->num_pillars = counters[0];
  h->points_in_range = counters[1];
  ASSERT_NO_FATAL_FAILURE(
      download(d.features, V * static_cast<size_t>(p.max_points_per_voxel * p.num_features()),
               &h->features));
  ASSERT_NO_FATAL_FAILURE(download(d.coords, V * 4, &h->coords));
  ASSERT_NO_FATAL_FAILURE(download(d.num_points, V, &h->num_points));
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

/// Exact equality with the CPU reference; rows past P all zero.
void expect_identical(const HostPillars& g, const PillarSet& ref, const VoxelParams& p) {
  ASSERT_EQ(g.num_pillars, ref.num_pillars);
  EXPECT_EQ(g.points_in_range, ref.points_in_range);
  const size_t P = static_cast<size_t>(ref.num_pillars);
  const size_t F = static_cast<size_t>(p.num_features());
  const size_t row = static_cast<size_t>(p.max_points_per_voxel) * F;
  for (size_t i = 0; i < g.coords.size(); ++i) {
    const int32_t want = i < P * 4 ? ref.coords[i] : 0;
    if (g.coords[i] != want) {
      FAIL() << "coords of pillar " << i / 4 << " [" << i % 4 << "]: GPU " << g.coords[i]
             << ", CPU " << want;
    }
  }
  int64_t kept = 0;
  for (size_t i = 0; i < g.num_points.size(); ++i) {
    const int32_t want = i < P ? ref.num_points[i] : 0;
    if (g.num_points[i] != want) {
      FAIL() << "num_points of pillar " << i << ": GPU " << g.num_points[i] << ", CPU " << want;
    }
    kept += g.num_points[i];
  }
  EXPECT_EQ(kept, ref.points_kept);
  for (size_t i = 0; i < g.features.size(); ++i) {
    const float want = i < P * row ? ref.features[i] : 0.f;
    if (bits_of(g.features[i]) != bits_of(want)) {
      FAIL() << "feature " << i % F << " of slot " << (i % row) / F << " of pillar " << i / row
             << ": GPU " << g.features[i] << " (0x" << std::hex << bits_of(g.features[i])
             << "), CPU " << want << " (0x" << bits_of(want) << std::dec << ")";
    }
  }
}

/// Voxelizes `cloud` both ways (the GPU `runs` times on one voxelizer made for max_points
/// points, or for the cloud's size when 0) and expects identity.
void expect_cuda_matches_cpu(const std::vector<float>& cloud, const VoxelParams& p, int runs = 1,
                             int64_t max_points = 0) {
  const int64_t n = static_cast<int64_t>(cloud.size() / 4);
  PillarSet ref;
  const Status st = voxelize_cpu(cloud.data(), n, p, &ref);
  ASSERT_TRUE(st.is_ok()) << st.message();
  auto vox = VoxelizerCuda::create(p, max_points > 0 ? max_points : std::max<int64_t>(n, 1));
  ASSERT_TRUE(vox.is_ok()) << vox.status().message();
  Device<float> d_cloud;
  ASSERT_NO_FATAL_FAILURE(upload(cloud, &d_cloud));
  DevicePillars out;
  ASSERT_NO_FATAL_FAILURE(make_outputs(p, &out));
  Stream stream;
  for (int r = 0; r < runs; ++r) {
    SCOPED_TRACE("run " + std::to_string(r));
    const Status rs = (*vox)->run(d_cloud.get(), n, stream.s, out.view);
    ASSERT_TRUE(rs.is_ok()) << rs.message();
    CUDA_OK(cudaStreamSynchronize(stream.s));
    HostPillars got;
    ASSERT_NO_FATAL_FAILURE(fetch(out, p, &got));
    ASSERT_NO_FATAL_FAILURE(expect_identical(got, ref, p));
  }
}

/// Uniform points over the range widened by a margin (some outside every bound), plus tight
/// clusters (pillars with far more than max_points_per_voxel points), shuffled so each
/// cluster's points are spread through the input order.
std::vector<float> random_cloud(const VoxelParams& p, int n, int clusters, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u01(0.f, 1.f);
  std::vector<std::array<float, 4>> pts;
  for (int i = 0; i < n; ++i) {
    std::array<float, 4> pt{};
    for (int a = 0; a < 3; ++a) {
      const float lo = p.range[a], hi = p.range[a + 3], margin = 0.05f * (hi - lo);
      pt[a] = lo - margin + u01(rng) * (hi - lo + 2 * margin);
    }
    pt[3] = u01(rng);
    pts.push_back(pt);
  }
  for (int k = 0; k < clusters; ++k) {
    float centre[3];
    for (int a = 0; a < 3; ++a) centre[a] = p.range[a] + u01(rng) * (p.range[a + 3] - p.range[a]);
    const int size = 20 + static_cast<int>(rng() % 80);
    for (int i = 0; i < size; ++i) {
      std::array<float, 4> pt{};
      for (int a = 0; a < 3; ++a) pt[a] = centre[a] + (u01(rng) - 0.5f) * 0.3f * p.voxel_size[a];
      pt[3] = u01(rng);
      pts.push_back(pt);
    }
  }
  std::shuffle(pts.begin(), pts.end(), rng);
  std::vector<float> c;
  c.reserve(pts.size() * 4);
  for (const auto& pt : pts) c.insert(c.end(), pt.begin(), pt.end());
  return c;
}

TEST(CudaLidarVoxelize, RandomCloudsMatchCpu) {
  TARMAC_REQUIRE_GPU();
  VoxelParams kitti;
  struct Case {
    std::string name;
    VoxelParams p;
    int n, clusters;
  };
  std::vector<Case> cases;
  cases.push_back({"kitti", kitti, 30000, 50});
  VoxelParams few = kitti;
  few.max_voxels = 700;  // far fewer than the pillars hit
  cases.push_back({"max_voxels overflow", few, 20000, 40});
  VoxelParams m5 = kitti;
  m5.max_points_per_voxel = 5;
  cases.push_back({"5 points per pillar", m5, 20000, 40});
  VoxelParams m40 = kitti;
  m40.max_points_per_voxel = 40;  // more slots than a warp has lanes
  m40.max_voxels = 3000;
  cases.push_back({"40 points per pillar", m40, 20000, 40});
  VoxelParams rel = kitti;
  rel.use_absolute_xyz = false;
  rel.with_distance = true;
  cases.push_back({"relative xyz with distance", rel, 20000, 40});
  VoxelParams dist = kitti;
  dist.with_distance = true;
  cases.push_back({"absolute xyz with distance", dist, 20000, 10});
  VoxelParams voxels3d;  // nz > 1: coords carry iz
  voxels3d.range = {-20.f, -20.f, -3.f, 20.f, 20.f, 1.f};
  voxels3d.voxel_size = {0.4f, 0.4f, 0.5f};
  voxels3d.max_voxels = 20000;
  cases.push_back({"3d voxels", voxels3d, 25000, 60});
  VoxelParams nus;  // nuScenes-like 0.2 m pillars over a 102.4 m square
  nus.range = {-51.2f, -51.2f, -5.f, 51.2f, 51.2f, 3.f};
  nus.voxel_size = {0.2f, 0.2f, 8.f};
  nus.max_points_per_voxel = 20;
  cases.push_back({"nuscenes grid", nus, 60000, 80});
  uint64_t seed = 1;
  for (const Case& c : cases) {
    for (int rep = 0; rep < 2; ++rep) {
      SCOPED_TRACE(c.name + " seed " + std::to_string(seed));
      ASSERT_NO_FATAL_FAILURE(
          expect_cuda_matches_cpu(random_cloud(c.p, c.n, c.clusters, seed++), c.p));
    }
  }
}

TEST(CudaLidarVoxelize, EmptyOutOfRangeAndTinyClouds) {
  TARMAC_REQUIRE_GPU();
  const VoxelParams p;
  {
    SCOPED_TRACE("empty");
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu({}, p));
  }
  {
    SCOPED_TRACE("all out of range");
    std::vector<float> out_of_range;
    for (int i = 0; i < 1000; ++i) {
      const float s = static_cast<float>(i);
      out_of_range.insert(out_of_range.end(), {-1.f - s, 0.f, 0.f, 0.f, 10.f, 40.f + s, 0.f, 0.f,
                                               10.f, 0.f, 1.f + s, 0.f, 69.12f, 0.f, 0.f, 0.f});
    }
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(out_of_range, p));
  }
  {
    SCOPED_TRACE("one point");
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu({10.f, 0.f, -1.f, 0.5f}, p));
  }
  {
    SCOPED_TRACE("one pillar, 100 points");
    std::vector<float> one;
    for (int i = 0; i < 100; ++i) {
      one.insert(one.end(), {10.01f + 0.001f * static_cast<float>(i), 0.05f, -1.f, 0.01f * i});
    }
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(one, p));
  }
  {
    SCOPED_TRACE("max_voxels 1");
    VoxelParams one = p;
    one.max_voxels = 1;
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(random_cloud(one, 5000, 5, 99), one));
  }
}

TEST(CudaLidarVoxelize, NonFinitePointsFilteredByIo) {
  TARMAC_REQUIRE_GPU();
  const VoxelParams p;
  std::vector<float> cloud = random_cloud(p, 5000, 10, 5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < cloud.size(); i += 4 * 97) cloud[i + (i / 4) % 4] = (i % 3) ? nan : inf;
  std::string bytes(cloud.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), cloud.data(), bytes.size());
  auto read = parse_point_cloud(bytes, PointFormat::kKittiBin, "cloud.bin");
  ASSERT_TRUE(read.is_ok()) << read.status().message();
  EXPECT_GT(read->dropped_nonfinite, 0);
  ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(read->xyzi, p));
  // Unfiltered, a point with a non-finite coordinate is outside the grid on both sides.
  std::vector<float> raw;
  for (size_t i = 0; i < cloud.size(); i += 4) {
    if (std::isfinite(cloud[i + 3]))
      raw.insert(raw.end(), cloud.begin() + i, cloud.begin() + i + 4);
  }
  ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(raw, p));
}

std::string kitti_dir() { return std::string(TARMAC_SOURCE_DIR) + "/../shared/data/kitti"; }

TEST(CudaLidarVoxelize, KittiFramesMatchCpu) {
  TARMAC_REQUIRE_GPU();
  int found = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string path = kitti_dir() + "/00000" + std::to_string(i) + ".bin";
    if (!std::filesystem::exists(path)) continue;
    ++found;
    SCOPED_TRACE(path);
    auto cloud = read_point_cloud(path);
    ASSERT_TRUE(cloud.is_ok()) << cloud.status().message();
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(cloud->xyzi, VoxelParams{}));
    VoxelParams small = VoxelParams{};
    small.max_voxels = 4000;  // a real frame overflowing max_voxels
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(cloud->xyzi, small));
  }
  if (found == 0) GTEST_SKIP() << "no KITTI frames (000000.bin ... 000004.bin) in " << kitti_dir();
}

TEST(CudaLidarVoxelize, RepeatedRunsAreIdentical) {
  TARMAC_REQUIRE_GPU();
  VoxelParams p;
  p.max_voxels = 2000;
  ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(random_cloud(p, 40000, 200, 77), p, 5));
}

TEST(CudaLidarVoxelize, CloudsSmallerThanTheMaximum) {
  TARMAC_REQUIRE_GPU();
  const VoxelParams p;
  for (int n : {0, 1, 3000, 60000, 150000}) {
    SCOPED_TRACE(std::to_string(n) + " points, scratch for 150000");
    const std::vector<float> cloud = n > 0 ? random_cloud(p, n, 0, 1000 + n) : std::vector<float>{};
    ASSERT_NO_FATAL_FAILURE(expect_cuda_matches_cpu(cloud, p, 1, 150000));
  }
}

TEST(CudaLidarVoxelize, RunRefusesBadArguments) {
  TARMAC_REQUIRE_GPU();
  const VoxelParams p;
  EXPECT_FALSE(VoxelizerCuda::create(p, 0).is_ok());
  VoxelParams bad = p;
  bad.voxel_size[1] = 0.f;
  EXPECT_FALSE(VoxelizerCuda::create(bad, 100).is_ok());
  auto vox = VoxelizerCuda::create(p, 100);
  ASSERT_TRUE(vox.is_ok()) << vox.status().message();
  DevicePillars out;
  ASSERT_NO_FATAL_FAILURE(make_outputs(p, &out));
  Device<float> cloud;
  ASSERT_NO_FATAL_FAILURE(device_alloc(101 * 4, &cloud));
  EXPECT_FALSE((*vox)->run(cloud.get(), 101, nullptr, out.view).is_ok());
  EXPECT_FALSE((*vox)->run(nullptr, 10, nullptr, out.view).is_ok());
  PillarBuffers missing = out.view;
  missing.points_in_range = nullptr;
  EXPECT_FALSE((*vox)->run(cloud.get(), 10, nullptr, missing).is_ok());
}

/// Random pillar features [max_voxels, channels] (every row, so rows >= P must be ignored).
std::vector<float> random_features(int rows, int channels, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  std::vector<float> f(static_cast<size_t>(rows) * channels);
  for (float& v : f) v = u(rng);
  return f;
}

TEST(CudaLidarScatter, MatchesCpu) {
  TARMAC_REQUIRE_GPU();
  const int C = 64;
  for (int variant = 0; variant < 2; ++variant) {
    VoxelParams p;
    if (variant == 1) p.max_voxels = 1500;
    SCOPED_TRACE("max_voxels " + std::to_string(p.max_voxels));
    const auto [nx, ny, nz] = p.grid_size();
    const std::vector<float> cloud = random_cloud(p, 30000, 30, 300 + variant);
    PillarSet ref;
    ASSERT_TRUE(
        voxelize_cpu(cloud.data(), static_cast<int64_t>(cloud.size() / 4), p, &ref).is_ok());
    auto vox = VoxelizerCuda::create(p, static_cast<int64_t>(cloud.size() / 4));
    ASSERT_TRUE(vox.is_ok()) << vox.status().message();
    Device<float> d_cloud, d_pf, d_bev;
    ASSERT_NO_FATAL_FAILURE(upload(cloud, &d_cloud));
    const std::vector<float> pf = random_features(p.max_voxels, C, 400 + variant);
    ASSERT_NO_FATAL_FAILURE(upload(pf, &d_pf));
    const size_t canvas = static_cast<size_t>(C) * nx * ny;
    ASSERT_NO_FATAL_FAILURE(device_alloc(canvas, &d_bev));
    CUDA_OK(cudaMemset(d_bev.get(), 0x7F, sizeof(float) * canvas));  // stale values
    CUDA_OK(cudaDeviceSynchronize());
    DevicePillars out;
    ASSERT_NO_FATAL_FAILURE(make_outputs(p, &out));
    Stream stream;
    ASSERT_TRUE((*vox)
                    ->run(d_cloud.get(), static_cast<int64_t>(cloud.size() / 4), stream.s, out.view)
                    .is_ok());
    const Status ss = scatter_cuda(d_pf.get(), out.view.coords, out.view.num_pillars, C, nx, ny,
                                   d_bev.get(), stream.s);
    ASSERT_TRUE(ss.is_ok()) << ss.message();
    CUDA_OK(cudaStreamSynchronize(stream.s));
    std::vector<float> got;
    ASSERT_NO_FATAL_FAILURE(download(d_bev, canvas, &got));
    std::vector<float> want(canvas);
    scatter_cpu(pf.data(), ref.coords.data(), ref.num_pillars, C, nx, ny, want.data());
    for (size_t i = 0; i < canvas; ++i) {
      if (bits_of(got[i]) != bits_of(want[i])) FAIL() << "canvas element " << i;
    }
    (void)nz;
  }
}

TEST(CudaLidarVoxelize, RunAndScatterReplayFromACudaGraph) {
  TARMAC_REQUIRE_GPU();
  const VoxelParams p;
  const int C = 8;
  const auto [nx, ny, nz] = p.grid_size();
  (void)nz;
  const int n = 20000;
  auto vox = VoxelizerCuda::create(p, n);
  ASSERT_TRUE(vox.is_ok()) << vox.status().message();
  Device<float> d_cloud, d_pf, d_bev;
  ASSERT_NO_FATAL_FAILURE(device_alloc(static_cast<size_t>(n) * 4, &d_cloud));
  const std::vector<float> pf = random_features(p.max_voxels, C, 5);
  ASSERT_NO_FATAL_FAILURE(upload(pf, &d_pf));
  const size_t canvas = static_cast<size_t>(C) * nx * ny;
  ASSERT_NO_FATAL_FAILURE(device_alloc(canvas, &d_bev));
  DevicePillars out;
  ASSERT_NO_FATAL_FAILURE(make_outputs(p, &out));
  Stream stream;
  // Capture fails if run() or scatter_cuda() synchronizes or copies to the host.
  CUDA_OK(cudaStreamBeginCapture(stream.s, cudaStreamCaptureModeThreadLocal));
  const Status rs = (*vox)->run(d_cloud.get(), n, stream.s, out.view);
  const Status ss = scatter_cuda(d_pf.get(), out.view.coords, out.view.num_pillars, C, nx, ny,
                                 d_bev.get(), stream.s);
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(stream.s, &graph);
  ASSERT_TRUE(rs.is_ok()) << rs.message();
  ASSERT_TRUE(ss.is_ok()) << ss.message();
  CUDA_OK(end);
  cudaGraphExec_t exec = nullptr;
  CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  // Two different clouds through the same graph (same n, new contents).
  for (uint64_t seed : {11u, 12u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<float> cloud = random_cloud(p, n - 3000, 30, seed);
    cloud.resize(static_cast<size_t>(n) * 4, -100.f);  // padding points, out of range
    CUDA_OK(cudaMemcpy(d_cloud.get(), cloud.data(), sizeof(float) * cloud.size(),
                       cudaMemcpyHostToDevice));
    CUDA_OK(cudaDeviceSynchronize());
    CUDA_OK(cudaGraphLaunch(exec, stream.s));
    CUDA_OK(cudaStreamSynchronize(stream.s));
    PillarSet ref;
    ASSERT_TRUE(voxelize_cpu(cloud.data(), n, p, &ref).is_ok());
    HostPillars got;
    ASSERT_NO_FATAL_FAILURE(fetch(out, p, &got));
    ASSERT_NO_FATAL_FAILURE(expect_identical(got, ref, p));
    std::vector<float> bev, want(canvas);
    ASSERT_NO_FATAL_FAILURE(download(d_bev, canvas, &bev));
    scatter_cpu(pf.data(), ref.coords.data(), ref.num_pillars, C, nx, ny, want.data());
    for (size_t i = 0; i < canvas; ++i) {
      if (bits_of(bev[i]) != bits_of(want[i])) FAIL() << "canvas element " << i;
    }
  }
  CUDA_OK(cudaGraphExecDestroy(exec));
  CUDA_OK(cudaGraphDestroy(graph));
}

}  // namespace
}  // namespace tarmac::lidar
