// The GPU detector: the points go up once (pinned staging), every stage reads and writes device
// buffers on one stream, CUDA events between stages time them, and only the detections and
// three counters come back.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>

#include "backends/cuda/cuda_common.h"
#include "perception/lidar/cuda/postprocess.cuh"
#include "perception/lidar/cuda/scatter.cuh"
#include "perception/lidar/cuda/voxelize.cuh"
#include "perception/lidar/pipeline.h"

namespace tarmac::lidar {

namespace {

using cuda::DeviceBuffer;
using cuda::PinnedBuffer;

class VoxelizeStage final : public Stage {
 public:
  VoxelizeStage(VoxelParams p, int64_t capacity) : params_(p), capacity_(capacity) {}
  const char* name() const override { return "voxelize"; }
  Status enqueue(FrameBuffers& f, void* stream) override {
    if (!vox_ || f.num_points > capacity_) {
      capacity_ = std::max(capacity_, f.num_points);
      TARMAC_ASSIGN_OR_RETURN(vox_, VoxelizerCuda::create(params_, capacity_));
    }
    PillarBuffers out{f.features, f.coords, f.pillar_points, f.num_pillars, f.points_in_range};
    return vox_->run(f.points, f.num_points, stream, out);
  }

 private:
  VoxelParams params_;
  int64_t capacity_;
  std::unique_ptr<VoxelizerCuda> vox_;
};

class ScatterStage final : public Stage {
 public:
  ScatterStage(int channels, int nx, int ny) : channels_(channels), nx_(nx), ny_(ny) {}
  const char* name() const override { return "scatter"; }
  Status enqueue(FrameBuffers& f, void* stream) override {
    return scatter_cuda(f.pillar_features, f.coords, f.num_pillars, channels_, nx_, ny_, f.bev,
                        stream);
  }

 private:
  int channels_, nx_, ny_;
};

class PostprocessStage final : public Stage {
 public:
  explicit PostprocessStage(std::unique_ptr<PostprocessCuda> p) : post_(std::move(p)) {}
  const char* name() const override { return "postprocess"; }
  Status enqueue(FrameBuffers& f, void* stream) override {
    return post_->run(f.cls, f.box, f.dir, stream, f.detections, f.num_detections);
  }

 private:
  std::unique_ptr<PostprocessCuda> post_;
};

class CudaDetector final : public LidarDetector {
 public:
  explicit CudaDetector(PointPillarsConfig c) : LidarDetector(std::move(c)) {}
  ~CudaDetector() override {
    if (stream_) cudaStreamSynchronize(stream_);
    stages_.clear();
    for (cudaEvent_t e : events_)
      if (e) cudaEventDestroy(e);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status init(const DetectorOptions& o) {
    TARMAC_ASSIGN_OR_RETURN(PipelinePlans plans, build_pipeline_plans(config_, o));
    const VoxelParams vp = voxel_params(config_);
    const auto g = vp.grid_size();
    const size_t v = static_cast<size_t>(config_.max_voxels);
    const size_t anchors = static_cast<size_t>(config_.feature_map_h()) *
                           static_cast<size_t>(config_.feature_map_w()) *
                           static_cast<size_t>(config_.anchors_per_location());
    TARMAC_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    for (cudaEvent_t& e : events_) TARMAC_CUDA_CHECK(cudaEventCreate(&e));
    auto alloc = [&](size_t bytes, DeviceBuffer* b) -> Status {
      TARMAC_ASSIGN_OR_RETURN(*b, DeviceBuffer::allocate(std::max<size_t>(bytes, 4)));
      return Status::ok();
    };
    const size_t f = static_cast<size_t>(vp.max_points_per_voxel * vp.num_features());
    TARMAC_RETURN_IF_ERROR(alloc(v * f * 4, &features_));
    TARMAC_RETURN_IF_ERROR(alloc(v * 16, &coords_));
    TARMAC_RETURN_IF_ERROR(alloc(v * 4, &pillar_points_));
    TARMAC_RETURN_IF_ERROR(alloc(v * static_cast<size_t>(plans.channels) * 4, &pillar_features_));
    TARMAC_RETURN_IF_ERROR(alloc(static_cast<size_t>(plans.channels) * static_cast<size_t>(g[0]) *
                                     static_cast<size_t>(g[1]) * 4,
                                 &bev_));
    TARMAC_RETURN_IF_ERROR(alloc(anchors * static_cast<size_t>(config_.num_classes()) * 4, &cls_));
    TARMAC_RETURN_IF_ERROR(alloc(anchors * 7 * 4, &box_));
    TARMAC_RETURN_IF_ERROR(alloc(anchors * static_cast<size_t>(config_.num_dir_bins) * 4, &dir_));
    TARMAC_RETURN_IF_ERROR(
        alloc(static_cast<size_t>(config_.max_detections) * sizeof(Detection), &detections_));
    TARMAC_RETURN_IF_ERROR(alloc(16, &counters_));  // pillars, in range, detections
    TARMAC_ASSIGN_OR_RETURN(host_counters_, PinnedBuffer::allocate(16));
    TARMAC_ASSIGN_OR_RETURN(host_detections_, PinnedBuffer::allocate(detections_.bytes()));

    stages_.push_back(std::make_unique<VoxelizeStage>(vp, 300000));
    EngineStageParams pfn{"pfn",
                          plans.pfn,
                          plans.pfn_input,
                          &FrameBuffers::features,
                          {{plans.pfn_output, &FrameBuffers::pillar_features}},
                          o.use_cuda_graph,
                          plans.pfn_input_dims};
    TARMAC_ASSIGN_OR_RETURN(auto pfn_stage, make_engine_stage(pfn));
    stages_.push_back(std::move(pfn_stage));
    stages_.push_back(std::make_unique<ScatterStage>(plans.channels, g[0], g[1]));
    EngineStageParams bb{"backbone",
                         plans.backbone,
                         plans.backbone_input,
                         &FrameBuffers::bev,
                         head_outputs(),
                         o.use_cuda_graph,
                         {}};
    TARMAC_ASSIGN_OR_RETURN(auto bb_stage, make_engine_stage(bb));
    stages_.push_back(std::move(bb_stage));
    TARMAC_ASSIGN_OR_RETURN(auto post, PostprocessCuda::create(config_, config_.feature_map_h(),
                                                               config_.feature_map_w()));
    stages_.push_back(std::make_unique<PostprocessStage>(std::move(post)));
    return Status::ok();
  }

  StatusOr<FrameResult> detect(const PointCloud& cloud) override {
    const size_t bytes = cloud.xyzi.size() * sizeof(float);
    if (points_.bytes() < std::max<size_t>(bytes, 16)) {
      TARMAC_ASSIGN_OR_RETURN(points_, DeviceBuffer::allocate(std::max<size_t>(bytes, 16)));
      TARMAC_ASSIGN_OR_RETURN(staging_, PinnedBuffer::allocate(std::max<size_t>(bytes, 16)));
    }
    if (bytes) std::memcpy(staging_.get(), cloud.xyzi.data(), bytes);
    FrameBuffers f;
    f.points = static_cast<const float*>(points_.get());
    f.num_points = cloud.size();
    f.features = static_cast<float*>(features_.get());
    f.coords = static_cast<int32_t*>(coords_.get());
    f.pillar_points = static_cast<int32_t*>(pillar_points_.get());
    auto* counters = static_cast<int32_t*>(counters_.get());
    f.num_pillars = counters;
    f.points_in_range = counters + 1;
    f.num_detections = counters + 2;
    f.pillar_features = static_cast<float*>(pillar_features_.get());
    f.bev = static_cast<float*>(bev_.get());
    f.cls = static_cast<float*>(cls_.get());
    f.box = static_cast<float*>(box_.get());
    f.dir = static_cast<float*>(dir_.get());
    f.detections = static_cast<Detection*>(detections_.get());

    // events_[0] before the upload, [1 + i] after stage i, [6] after the download.
    TARMAC_CUDA_CHECK(cudaEventRecord(events_[0], stream_));
    if (bytes)
      TARMAC_CUDA_CHECK(
          cudaMemcpyAsync(points_.get(), staging_.get(), bytes, cudaMemcpyHostToDevice, stream_));
    for (size_t i = 0; i < stages_.size(); ++i) {
      Status s = stages_[i]->enqueue(f, stream_);
      if (!s.is_ok()) return s.with_context(stages_[i]->name());
      if (i == 0) {
        // The PFN runs on the pillars found (rounded up), not on max_voxels rows of padding:
        // the one host read-back of the frame before its results.
        TARMAC_CUDA_CHECK(cudaMemcpyAsync(host_counters_.get(), f.num_pillars, 4,
                                          cudaMemcpyDeviceToHost, stream_));
        TARMAC_CUDA_CHECK(cudaStreamSynchronize(stream_));
        f.pfn_rows =
            pfn_rows_for(*static_cast<const int32_t*>(host_counters_.get()), config_.max_voxels);
      }
      TARMAC_CUDA_CHECK(cudaEventRecord(events_[1 + i], stream_));
    }
    // The whole detection buffer (max_detections boxes, kilobytes) comes back with the counters
    // in one synchronization, rather than a second round trip once the count is known.
    TARMAC_CUDA_CHECK(cudaMemcpyAsync(host_counters_.get(), counters_.get(), 12,
                                      cudaMemcpyDeviceToHost, stream_));
    TARMAC_CUDA_CHECK(cudaMemcpyAsync(host_detections_.get(), detections_.get(),
                                      detections_.bytes(), cudaMemcpyDeviceToHost, stream_));
    TARMAC_CUDA_CHECK(cudaEventRecord(events_[6], stream_));
    TARMAC_CUDA_CHECK(cudaEventSynchronize(events_[6]));
    const int32_t* hc = static_cast<const int32_t*>(host_counters_.get());
    const int n = std::clamp(hc[2], 0, config_.max_detections);
    FrameResult r;
    const auto* dets = static_cast<const Detection*>(host_detections_.get());
    r.detections.assign(dets, dets + n);
    float ms[6] = {};
    for (int i = 0; i < 5; ++i)
      TARMAC_CUDA_CHECK(cudaEventElapsedTime(&ms[i], events_[static_cast<size_t>(i)],
                                             events_[static_cast<size_t>(i) + 1]));
    TARMAC_CUDA_CHECK(cudaEventElapsedTime(&ms[5], events_[0], events_[6]));
    r.stats.ms = StageTimes{ms[0], ms[1], ms[2], ms[3], ms[4], ms[5]};
    r.stats.points_in = cloud.points_read;
    r.stats.points_dropped_nonfinite = cloud.dropped_nonfinite;
    r.stats.pillars = hc[0];
    r.stats.points_in_range = hc[1];
    return r;
  }

 private:
  cudaStream_t stream_ = nullptr;
  std::array<cudaEvent_t, 7> events_{};
  std::vector<std::unique_ptr<Stage>> stages_;
  DeviceBuffer points_, features_, coords_, pillar_points_, pillar_features_, bev_, cls_, box_,
      dir_, detections_, counters_;
  PinnedBuffer staging_, host_counters_, host_detections_;
};

}  // namespace

StatusOr<std::unique_ptr<LidarDetector>> make_cuda_detector(const PointPillarsConfig& config,
                                                            const DetectorOptions& options) {
  auto d = std::make_unique<CudaDetector>(config);
  TARMAC_RETURN_IF_ERROR(d->init(options));
  return std::unique_ptr<LidarDetector>(std::move(d));
}

}  // namespace tarmac::lidar
