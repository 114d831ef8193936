// The lidar pipeline's engine stage, the CPU detector, and the choice of detector.
#include "perception/lidar/pipeline.h"

#include <chrono>
#include <cstring>

#include "perception/lidar/anchors.h"
#include "perception/lidar/decode.h"
#include "perception/lidar/voxelize.h"
#include "tarmac/engine.h"

namespace tarmac::lidar {

#ifdef TARMAC_WITH_CUDA
/// The GPU detector (cuda/pipeline_cuda.cc).
StatusOr<std::unique_ptr<LidarDetector>> make_cuda_detector(const PointPillarsConfig& config,
                                                            const DetectorOptions& options);
#endif

nlohmann::json stats_to_json(const FrameStats& s) {
  return {{"points_in", s.points_in},
          {"points_dropped_nonfinite", s.points_dropped_nonfinite},
          {"points_in_range", s.points_in_range},
          {"pillars", s.pillars},
          {"ms",
           {{"voxelize", s.ms.voxelize},
            {"pfn", s.ms.pfn},
            {"scatter", s.ms.scatter},
            {"backbone", s.ms.backbone},
            {"postprocess", s.ms.postprocess},
            {"total", s.ms.total}}}};
}

int64_t pfn_rows_for(int64_t pillars, int max_voxels) {
  constexpr int64_t kStep = 1024;
  const int64_t rows = std::max<int64_t>(kStep, (pillars + kStep - 1) / kStep * kStep);
  return std::min<int64_t>(rows, max_voxels);
}

VoxelParams voxel_params(const PointPillarsConfig& c) {
  VoxelParams p;
  p.range = c.point_cloud_range;
  p.voxel_size = c.voxel_size;
  p.max_voxels = c.max_voxels;
  p.max_points_per_voxel = c.max_points_per_voxel;
  p.use_absolute_xyz = c.features.use_absolute_xyz;
  p.with_distance = c.features.with_distance;
  return p;
}

StatusOr<std::string> build_stage_plan(const std::string& onnx_path,
                                       const std::map<std::string, ShapeRange>& ranges,
                                       const DetectorOptions& options) {
  TARMAC_ASSIGN_OR_RETURN(Network net, Network::parse_onnx_file(onnx_path));
  BuildConfig c;
  c.device = options.device;
  c.fp16 = options.fp16;
  c.tf32 = options.tf32;
  c.timing_cache_file = options.device == DeviceKind::kCuda ? options.timing_cache_file : "";
  c.log = options.log;
  OptimizationProfile p;
  for (const TensorInfo& t : net.inputs()) {
    auto it = ranges.find(t.name);
    if (it == ranges.end())
      return invalid_argument("'{}': input '{}' is not one the pipeline feeds", onnx_path, t.name);
    p.inputs[t.name] = it->second;
  }
  c.profiles.push_back(std::move(p));
  auto plan = build_serialized_engine(net, c);
  if (!plan.is_ok()) return plan.status().with_context(fmt::format("building '{}'", onnx_path));
  return plan;
}

namespace {

class EngineStage final : public Stage {
 public:
  explicit EngineStage(EngineStageParams p) : p_(std::move(p)) {}
  Status init() {
    TARMAC_ASSIGN_OR_RETURN(engine_, Engine::deserialize(p_.plan));
    p_.plan.clear();
    TARMAC_ASSIGN_OR_RETURN(ctx_, engine_->create_execution_context());
    ctx_->set_use_cuda_graph(p_.use_cuda_graph);
    return Status::ok();
  }
  const char* name() const override { return p_.name.c_str(); }
  Status enqueue(FrameBuffers& f, void* stream) override {
    if (!p_.rows_from_frame.empty()) {
      Dims d = p_.rows_from_frame;
      d[0] = f.pfn_rows;
      TARMAC_RETURN_IF_ERROR(ctx_->set_input_shape(p_.input, d));
    }
    TARMAC_RETURN_IF_ERROR(ctx_->set_tensor_address(p_.input, f.*p_.input_buffer));
    for (const auto& [name, member] : p_.outputs)
      TARMAC_RETURN_IF_ERROR(ctx_->set_tensor_address(name, f.*member));
    return engine_->info().device == DeviceKind::kCuda ? ctx_->enqueue(stream) : ctx_->execute();
  }

 private:
  EngineStageParams p_;
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<ExecutionContext> ctx_;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

/// The CPU reference pipeline: the same stages on host buffers.
class CpuDetector final : public LidarDetector {
 public:
  CpuDetector(PointPillarsConfig c, std::unique_ptr<Stage> pfn, std::unique_ptr<Stage> backbone,
              int channels)
      : LidarDetector(std::move(c)),
        params_(voxel_params(config_)),
        pfn_(std::move(pfn)),
        backbone_(std::move(backbone)),
        channels_(channels) {
    const auto g = params_.grid_size();
    const size_t v = static_cast<size_t>(config_.max_voxels);
    const size_t anchors = static_cast<size_t>(config_.feature_map_h()) *
                           static_cast<size_t>(config_.feature_map_w()) *
                           static_cast<size_t>(config_.anchors_per_location());
    features_.resize(v *
                     static_cast<size_t>(params_.max_points_per_voxel * params_.num_features()));
    pillar_features_.resize(v * static_cast<size_t>(channels_));
    bev_.resize(static_cast<size_t>(channels_) * static_cast<size_t>(g[0]) *
                static_cast<size_t>(g[1]));
    cls_.resize(anchors * static_cast<size_t>(config_.num_classes()));
    box_.resize(anchors * 7);
    dir_.resize(anchors * static_cast<size_t>(config_.num_dir_bins));
    anchors_ = make_anchors(config_, config_.feature_map_h(), config_.feature_map_w());
  }

  StatusOr<FrameResult> detect(const PointCloud& cloud) override {
    using Clock = std::chrono::steady_clock;
    FrameResult r;
    const auto start = Clock::now();
    auto t = start;
    PillarSet set;
    TARMAC_RETURN_IF_ERROR(voxelize_cpu(cloud.xyzi.data(), cloud.size(), params_, &set));
    FrameBuffers f;
    f.pfn_rows = pfn_rows_for(set.num_pillars, config_.max_voxels);
    // The PFN reads pfn_rows rows: the pillars, then zero padding up to the row bucket.
    const size_t row = static_cast<size_t>(params_.max_points_per_voxel * params_.num_features());
    std::copy(set.features.begin(), set.features.end(), features_.begin());
    std::fill(
        features_.begin() + static_cast<std::ptrdiff_t>(set.features.size()),
        features_.begin() + static_cast<std::ptrdiff_t>(row * static_cast<size_t>(f.pfn_rows)),
        0.f);
    r.stats.ms.voxelize = ms_since(t);
    f.features = features_.data();
    f.pillar_features = pillar_features_.data();
    f.bev = bev_.data();
    f.cls = cls_.data();
    f.box = box_.data();
    f.dir = dir_.data();
    t = Clock::now();
    TARMAC_RETURN_IF_ERROR(pfn_->enqueue(f, nullptr));
    r.stats.ms.pfn = ms_since(t);
    t = Clock::now();
    const auto g = params_.grid_size();
    scatter_cpu(pillar_features_.data(), set.coords.data(), set.num_pillars, channels_, g[0], g[1],
                bev_.data());
    r.stats.ms.scatter = ms_since(t);
    t = Clock::now();
    TARMAC_RETURN_IF_ERROR(backbone_->enqueue(f, nullptr));
    r.stats.ms.backbone = ms_since(t);
    t = Clock::now();
    r.detections = postprocess_cpu(cls_.data(), box_.data(), dir_.data(), anchors_, config_);
    r.stats.ms.postprocess = ms_since(t);
    r.stats.ms.total = ms_since(start);
    r.stats.points_in = cloud.points_read;
    r.stats.points_dropped_nonfinite = cloud.dropped_nonfinite;
    r.stats.points_in_range = set.points_in_range;
    r.stats.pillars = set.num_pillars;
    return r;
  }

 private:
  VoxelParams params_;
  std::unique_ptr<Stage> pfn_, backbone_;
  int channels_;
  std::vector<float> features_, pillar_features_, bev_, cls_, box_, dir_, anchors_;
};

}  // namespace

StatusOr<std::unique_ptr<Stage>> make_engine_stage(const EngineStageParams& p) {
  auto s = std::make_unique<EngineStage>(p);
  TARMAC_RETURN_IF_ERROR(s->init());
  return std::unique_ptr<Stage>(std::move(s));
}

StatusOr<PipelinePlans> build_pipeline_plans(const PointPillarsConfig& c,
                                             const DetectorOptions& o) {
  const VoxelParams vp = voxel_params(c);
  TARMAC_RETURN_IF_ERROR(vp.validate());
  PipelinePlans plans;
  TARMAC_ASSIGN_OR_RETURN(Network pfn, Network::parse_onnx_file(c.pfn_onnx));
  if (pfn.inputs().size() != 1 || pfn.outputs().size() != 1)
    return invalid_argument("'{}': the PFN must have one input and one output", c.pfn_onnx);
  const Dims& out = pfn.outputs()[0].shape;
  if (out.size() != 2 || out[1] <= 0)
    return invalid_argument("'{}': the PFN output must be [pillars, channels]", c.pfn_onnx);
  plans.channels = static_cast<int>(out[1]);
  plans.pfn_input = pfn.inputs()[0].name;
  plans.pfn_output = pfn.outputs()[0].name;
  // Tactics are timed at 8192 pillars, a dense KITTI frame's count.
  plans.pfn_input_dims = {c.max_voxels, c.max_points_per_voxel, vp.num_features()};
  Dims min = plans.pfn_input_dims, opt = plans.pfn_input_dims;
  min[0] = pfn_rows_for(1, c.max_voxels);
  opt[0] = pfn_rows_for(8192, c.max_voxels);
  TARMAC_ASSIGN_OR_RETURN(
      plans.pfn,
      build_stage_plan(c.pfn_onnx, {{plans.pfn_input, {min, opt, plans.pfn_input_dims}}}, o));
  TARMAC_ASSIGN_OR_RETURN(Network bb, Network::parse_onnx_file(c.backbone_onnx));
  if (bb.inputs().size() != 1 || bb.outputs().size() != 3)
    return invalid_argument("'{}': the backbone must have one input and three outputs",
                            c.backbone_onnx);
  const auto g = vp.grid_size();
  plans.backbone_input = bb.inputs()[0].name;
  const Dims bev = {1, plans.channels, g[1], g[0]};
  TARMAC_ASSIGN_OR_RETURN(
      plans.backbone,
      build_stage_plan(c.backbone_onnx, {{plans.backbone_input, {bev, bev, bev}}}, o));
  return plans;
}

std::vector<std::pair<std::string, float * FrameBuffers::*>> head_outputs() {
  return {{"cls_preds", &FrameBuffers::cls},
          {"box_preds", &FrameBuffers::box},
          {"dir_cls_preds", &FrameBuffers::dir}};
}

StatusOr<std::unique_ptr<LidarDetector>> LidarDetector::create(const PointPillarsConfig& config,
                                                               const DetectorOptions& options) {
  if (options.device == DeviceKind::kCuda) {
#ifdef TARMAC_WITH_CUDA
    return make_cuda_detector(config, options);
#else
    return unavailable("this tarmac was built without CUDA: use --device=cpu");
#endif
  }
  TARMAC_ASSIGN_OR_RETURN(PipelinePlans plans, build_pipeline_plans(config, options));
  EngineStageParams pfn{"pfn",
                        plans.pfn,
                        plans.pfn_input,
                        &FrameBuffers::features,
                        {{plans.pfn_output, &FrameBuffers::pillar_features}},
                        false,
                        plans.pfn_input_dims};
  TARMAC_ASSIGN_OR_RETURN(auto pfn_stage, make_engine_stage(pfn));
  EngineStageParams bb{
      "backbone", plans.backbone, plans.backbone_input, &FrameBuffers::bev, head_outputs(), false,
      {}};
  TARMAC_ASSIGN_OR_RETURN(auto bb_stage, make_engine_stage(bb));
  return std::unique_ptr<LidarDetector>(
      new CpuDetector(config, std::move(pfn_stage), std::move(bb_stage), plans.channels));
}

}  // namespace tarmac::lidar
