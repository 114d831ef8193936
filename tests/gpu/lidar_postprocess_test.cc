// CUDA PointPillars post-processing against the CPU reference (postprocess_cpu) on random head
// outputs of the KITTI size (248 x 216 cells, 6 anchors, 3 classes): the same detections in
// the same order, floats within 1e-5 relative (the shared arithmetic makes them equal).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "gpu_test_util.h"
#include "perception/lidar/anchors.h"
#include "perception/lidar/config.h"
#include "perception/lidar/cuda/postprocess.cuh"
#include "perception/lidar/decode.h"

namespace tarmac::lidar {
namespace {

#define ASSERT_CUDA(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

/// Owned device array.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    if (cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)) != cudaSuccess) ptr_ = nullptr;
  }
  ~DeviceArray() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return ptr_; }
  cudaError_t upload(const std::vector<T>& v) {
    return cudaMemcpy(ptr_, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice);
  }

 private:
  T* ptr_ = nullptr;
  size_t n_ = 0;
};

/// One frame's head outputs, NHWC flattened: cls [N, C], box [N, 7], dir [N, bins].
struct Head {
  std::vector<float> cls, box, dir;
};

struct HeadOptions {
  float background_mean = -8.f;  // class logits of the anchors no object touches
  float background_sd = 1.5f;
  int objects = 30;     // clusters of high-scoring anchors (overlapping candidates)
  float quantum = 0.f;  // > 0: logits rounded to multiples of it (many equal scores)
  uint64_t seed = 1;
};

Head random_head(const PointPillarsConfig& c, int h, int w, const HeadOptions& o) {
  const int num_a = c.anchors_per_location(), num_c = c.num_classes(), bins = c.num_dir_bins;
  const int rot = num_a / num_c;
  const size_t n = static_cast<size_t>(h) * w * num_a;
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> background(o.background_mean, o.background_sd);
  std::normal_distribution<float> unit(0.f, 1.f);
  Head head;
  head.cls.resize(n * num_c);
  head.box.resize(n * 7);
  head.dir.resize(n * bins);
  for (float& v : head.cls) v = background(rng);
  for (size_t a = 0; a < n; ++a) {
    float* b = head.box.data() + a * 7;
    for (int k = 0; k < 3; ++k) b[k] = 0.2f * unit(rng);   // centre, in anchor diagonals
    for (int k = 3; k < 6; ++k) b[k] = 0.15f * unit(rng);  // log size ratio
    b[6] = 0.4f * unit(rng);                               // heading residual
    for (int k = 0; k < bins; ++k) head.dir[a * bins + k] = unit(rng);
  }
  // Objects: the anchors of one class around a cell score high, falling off with distance.
  std::uniform_int_distribution<int> row(0, h - 1), col(0, w - 1), cls(0, num_c - 1);
  for (int obj = 0; obj < o.objects; ++obj) {
    const int j0 = row(rng), i0 = col(rng), k = cls(rng);
    for (int j = std::max(0, j0 - 2); j <= std::min(h - 1, j0 + 2); ++j) {
      for (int i = std::max(0, i0 - 2); i <= std::min(w - 1, i0 + 2); ++i) {
        const float dist = std::hypot(static_cast<float>(j - j0), static_cast<float>(i - i0));
        for (int r = 0; r < rot; ++r) {
          const size_t a = (static_cast<size_t>(j) * w + i) * num_a + k * rot + r;
          head.cls[a * num_c + k] =
              std::max(head.cls[a * num_c + k], 3.f - 1.5f * dist + unit(rng));
        }
      }
    }
  }
  if (o.quantum > 0)
    for (float& v : head.cls) v = std::round(v / o.quantum) * o.quantum;
  return head;
}

bool close(float a, float b) {
  if (a == b) return true;
  return std::fabs(a - b) <= 1e-5f * std::max(std::fabs(a), 1.f);
}

void expect_same(const std::vector<Detection>& cpu, const std::vector<Detection>& gpu) {
  ASSERT_EQ(cpu.size(), gpu.size());
  int exact = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const Detection &c = cpu[i], &g = gpu[i];
    ASSERT_EQ(c.label, g.label) << "detection " << i;
    ASSERT_TRUE(close(c.score, g.score))
        << "detection " << i << ": " << c.score << " vs " << g.score;
    const float cv[7] = {c.box.x, c.box.y, c.box.z, c.box.dx, c.box.dy, c.box.dz, c.box.heading};
    const float gv[7] = {g.box.x, g.box.y, g.box.z, g.box.dx, g.box.dy, g.box.dz, g.box.heading};
    for (int k = 0; k < 7; ++k)
      ASSERT_TRUE(close(cv[k], gv[k]))
          << "detection " << i << " field " << k << ": " << cv[k] << " vs " << gv[k];
    exact += std::memcmp(cv, gv, sizeof(cv)) == 0 && c.score == g.score;
  }
  // The kernels share the CPU's arithmetic: every value is expected bit-identical.
  EXPECT_EQ(exact, static_cast<int>(cpu.size()));
}

/// Runs the CPU reference and the GPU on one head; `graph` runs the GPU path through a
/// captured CUDA graph. Returns both results through the out-parameters.
void run_both(const PointPillarsConfig& c, const Head& head, bool graph,
              std::vector<Detection>* cpu, std::vector<Detection>* gpu) {
  const int h = c.feature_map_h(), w = c.feature_map_w();
  const std::vector<float> anchors = make_anchors(c, h, w);
  *cpu = postprocess_cpu(head.cls.data(), head.box.data(), head.dir.data(), anchors, c);

  auto post = PostprocessCuda::create(c, h, w);
  ASSERT_TRUE(post.is_ok()) << post.status().message();
  DeviceArray<float> d_cls(head.cls.size()), d_box(head.box.size()), d_dir(head.dir.size());
  DeviceArray<Detection> d_out(c.max_detections);
  DeviceArray<int> d_count(1);
  ASSERT_TRUE(d_cls.get() && d_box.get() && d_dir.get() && d_out.get() && d_count.get());
  ASSERT_CUDA(d_cls.upload(head.cls));
  ASSERT_CUDA(d_box.upload(head.box));
  ASSERT_CUDA(d_dir.upload(head.dir));
  cudaStream_t stream = nullptr;
  ASSERT_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  // Poison the outputs: the run must write the count and every kept detection.
  ASSERT_CUDA(cudaMemset(d_out.get(), 0xFF, c.max_detections * sizeof(Detection)));
  ASSERT_CUDA(cudaMemset(d_count.get(), 0xFF, sizeof(int)));
  if (graph) {
    cudaGraph_t g = nullptr;
    cudaGraphExec_t exec = nullptr;
    ASSERT_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    const Status st =
        (*post)->run(d_cls.get(), d_box.get(), d_dir.get(), stream, d_out.get(), d_count.get());
    ASSERT_CUDA(cudaStreamEndCapture(stream, &g));
    ASSERT_TRUE(st.is_ok()) << st.message();
    ASSERT_CUDA(cudaGraphInstantiate(&exec, g, 0));
    for (int rep = 0; rep < 2; ++rep) ASSERT_CUDA(cudaGraphLaunch(exec, stream));
    ASSERT_CUDA(cudaStreamSynchronize(stream));
    ASSERT_CUDA(cudaGraphExecDestroy(exec));
    ASSERT_CUDA(cudaGraphDestroy(g));
  } else {
    const Status st =
        (*post)->run(d_cls.get(), d_box.get(), d_dir.get(), stream, d_out.get(), d_count.get());
    ASSERT_TRUE(st.is_ok()) << st.message();
  }
  auto dets = (*post)->download(d_out.get(), d_count.get(), stream);
  ASSERT_TRUE(dets.is_ok()) << dets.status().message();
  *gpu = std::move(dets).value();
  ASSERT_CUDA(cudaStreamDestroy(stream));
}

int candidates_of(const PointPillarsConfig& c, const Head& head) {
  const int64_t n = static_cast<int64_t>(head.cls.size()) / c.num_classes();
  return static_cast<int>(top_candidates_cpu(head.cls.data(), n, c.num_classes(), c.score_threshold,
                                             std::numeric_limits<int>::max())
                              .size());
}

TEST(CudaLidarPostprocess, MoreCandidatesThanNmsPreMax) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  HeadOptions o;
  o.background_mean = -3.f;  // most of the 321408 anchors pass 0.1
  o.seed = 11;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  ASSERT_GT(candidates_of(c, head), c.nms_pre_max);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  EXPECT_GT(cpu.size(), 100u);
  EXPECT_LE(cpu.size(), static_cast<size_t>(c.max_detections));
  expect_same(cpu, gpu);
}

TEST(CudaLidarPostprocess, FewerThanMaxDetections) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  HeadOptions o;
  o.seed = 12;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  const int candidates = candidates_of(c, head);
  ASSERT_GT(candidates, 30);
  ASSERT_LT(candidates, c.nms_pre_max);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  EXPECT_GT(cpu.size(), 10u);
  EXPECT_LT(cpu.size(), static_cast<size_t>(c.max_detections));
  expect_same(cpu, gpu);
}

TEST(CudaLidarPostprocess, ZeroCandidates) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  HeadOptions o;
  o.background_mean = -20.f;
  o.objects = 0;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  EXPECT_TRUE(cpu.empty());
  EXPECT_TRUE(gpu.empty());
}

TEST(CudaLidarPostprocess, ClassAware) {
  TARMAC_REQUIRE_GPU();
  PointPillarsConfig c = pointpillars_kitti_default();
  c.class_agnostic_nms = false;
  c.nms_iou_threshold = 0.1f;
  c.max_detections = c.nms_pre_max;  // no cap: the two modes keep different counts
  HeadOptions o;
  o.objects = 200;
  o.seed = 13;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  expect_same(cpu, gpu);
  c.class_agnostic_nms = true;
  std::vector<Detection> agnostic_cpu, agnostic_gpu;
  run_both(c, head, false, &agnostic_cpu, &agnostic_gpu);
  expect_same(agnostic_cpu, agnostic_gpu);
  EXPECT_GT(cpu.size(), agnostic_cpu.size());  // other classes no longer suppress
}

TEST(CudaLidarPostprocess, EqualScoresKeepTheLowerAnchorFirst) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  HeadOptions o;
  o.background_mean = -2.5f;
  o.quantum = 0.25f;  // few distinct scores: the top-k cut and the order rest on the tie rule
  o.seed = 14;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  ASSERT_GT(candidates_of(c, head), c.nms_pre_max);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  int ties = 0;
  for (size_t i = 1; i < cpu.size(); ++i) ties += cpu[i].score == cpu[i - 1].score;
  EXPECT_GT(ties, 100);
  expect_same(cpu, gpu);
}

TEST(CudaLidarPostprocess, SmallLimitsAndOtherDirectionBins) {
  TARMAC_REQUIRE_GPU();
  PointPillarsConfig c = pointpillars_kitti_default();
  c.nms_pre_max = 1000;  // not a multiple of 64
  c.max_detections = 7;
  c.num_dir_bins = 3;
  c.dir_limit_offset = 0.5f;
  c.score_threshold = 0.3f;
  HeadOptions o;
  o.background_mean = -2.f;
  o.seed = 15;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, false, &cpu, &gpu);
  EXPECT_EQ(cpu.size(), 7u);
  expect_same(cpu, gpu);
  c.nms_pre_max = 64;
  c.max_detections = 500;
  c.nms_iou_threshold = 0.f;
  run_both(c, head, false, &cpu, &gpu);
  expect_same(cpu, gpu);
}

TEST(CudaLidarPostprocess, CapturedInACudaGraph) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  HeadOptions o;
  o.background_mean = -3.f;
  o.seed = 16;
  const Head head = random_head(c, c.feature_map_h(), c.feature_map_w(), o);
  std::vector<Detection> cpu, gpu;
  run_both(c, head, true, &cpu, &gpu);
  expect_same(cpu, gpu);
}

TEST(CudaLidarPostprocess, Deterministic) {
  TARMAC_REQUIRE_GPU();
  const PointPillarsConfig c = pointpillars_kitti_default();
  const int h = c.feature_map_h(), w = c.feature_map_w();
  HeadOptions o;
  o.background_mean = -3.f;
  o.quantum = 0.5f;
  o.seed = 17;
  const Head head = random_head(c, h, w, o);
  auto post = PostprocessCuda::create(c, h, w);
  ASSERT_TRUE(post.is_ok()) << post.status().message();
  DeviceArray<float> d_cls(head.cls.size()), d_box(head.box.size()), d_dir(head.dir.size());
  DeviceArray<Detection> d_out(c.max_detections);
  DeviceArray<int> d_count(1);
  ASSERT_CUDA(d_cls.upload(head.cls));
  ASSERT_CUDA(d_box.upload(head.box));
  ASSERT_CUDA(d_dir.upload(head.dir));
  std::vector<std::vector<Detection>> runs;
  for (int rep = 0; rep < 4; ++rep) {
    ASSERT_TRUE(
        (*post)
            ->run(d_cls.get(), d_box.get(), d_dir.get(), nullptr, d_out.get(), d_count.get())
            .is_ok());
    auto dets = (*post)->download(d_out.get(), d_count.get(), nullptr);
    ASSERT_TRUE(dets.is_ok()) << dets.status().message();
    runs.push_back(std::move(dets).value());
  }
  ASSERT_FALSE(runs[0].empty());
  for (int rep = 1; rep < 4; ++rep) {
    ASSERT_EQ(runs[rep].size(), runs[0].size());
    EXPECT_EQ(std::memcmp(runs[rep].data(), runs[0].data(), runs[0].size() * sizeof(Detection)), 0);
  }
}

TEST(CudaLidarPostprocess, RejectsBadArguments) {
  TARMAC_REQUIRE_GPU();
  PointPillarsConfig c = pointpillars_kitti_default();
  EXPECT_FALSE(PostprocessCuda::create(c, 0, 216).is_ok());
  c.nms_pre_max = kMaxGpuNmsPreMax + 1;
  EXPECT_FALSE(PostprocessCuda::create(c, 248, 216).is_ok());
  c = pointpillars_kitti_default();
  c.classes.clear();
  EXPECT_FALSE(PostprocessCuda::create(c, 248, 216).is_ok());
  auto post = PostprocessCuda::create(pointpillars_kitti_default(), 248, 216);
  ASSERT_TRUE(post.is_ok()) << post.status().message();
  EXPECT_FALSE((*post)->run(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr).is_ok());
}

}  // namespace
}  // namespace tarmac::lidar
