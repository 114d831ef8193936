// The PointPillars lidar pipeline: stages behind one interface, passing device (or, on the
// CPU, host) pointers in a FrameBuffers and a stream between them.
//   auto cfg = load_config("pointpillars.json");
//   DetectorOptions o;
//   o.fp16 = true;
//   auto det = LidarDetector::create(*cfg, o);          // builds the PFN and backbone engines
//   auto cloud = read_point_cloud("000000.bin");
//   auto r = (*det)->detect(*cloud);                     // r->detections, r->stats
//
// Stages, in order (each a Stage made by a factory from its parameters):
//   voxelize   points -> pillar features [V, M, F], coords [V, 4], counts (V = max_voxels)
//   pfn        the PFN engine (pfn.onnx): [V, M, F] -> pillar features [V, 64]
//   scatter    pillar features + coords -> BEV pseudo-image [1, 64, ny, nx]
//   backbone   the backbone + head engine (backbone.onnx) -> cls / box / dir maps
//   postprocess anchors, decode, score threshold, rotated-BEV NMS -> detections
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "perception/box3d.h"
#include "perception/lidar/config.h"
#include "perception/lidar/point_cloud_io.h"
#include "perception/lidar/voxelize.h"
#include "tarmac/builder.h"

namespace tarmac::lidar {

/// Every buffer a frame passes through (device memory on CUDA, host memory on the CPU).
struct FrameBuffers {
  const float* points = nullptr;  // [n, 4]
  int64_t num_points = 0;
  /// Pillar rows the PFN runs on: the pillar count rounded up (pfn_rows_for), so that the PFN
  /// does not compute max_voxels rows of padding; set after voxelization.
  int64_t pfn_rows = 0;
  float* features = nullptr;           // [max_voxels, M, F]
  int32_t* coords = nullptr;           // [max_voxels, 4]
  int32_t* pillar_points = nullptr;    // [max_voxels]
  int32_t* num_pillars = nullptr;      // [1]
  int32_t* points_in_range = nullptr;  // [1]
  float* pillar_features = nullptr;    // [max_voxels, C]
  float* bev = nullptr;                // [1, C, ny, nx]
  float* cls = nullptr;                // [1, H, W, A * classes]
  float* box = nullptr;                // [1, H, W, A * 7]
  float* dir = nullptr;                // [1, H, W, A * bins]
  Detection* detections = nullptr;     // [max_detections]
  int32_t* num_detections = nullptr;   // [1]
};

/// One stage: reads and writes the frame's buffers, enqueued on `stream` (a cudaStream_t; null
/// on the CPU, where stages run synchronously).
class Stage {
 public:
  virtual ~Stage() = default;
  virtual const char* name() const = 0;
  virtual Status enqueue(FrameBuffers& frame, void* stream) = 0;
};

struct DetectorOptions {
  DeviceKind device = DeviceKind::kCuda;
  bool fp16 = false;
  /// TF32 tensor-core math for float32 convolutions and GEMMs (as the engine builder's default).
  bool tf32 = true;
  /// Replay each engine as a CUDA graph.
  bool use_cuda_graph = true;
  /// Tactic timing cache for the two engines' builds ("" = none).
  std::string timing_cache_file;
  std::function<void(const std::string&)> log;
};

/// Milliseconds per stage (device time between CUDA events on the GPU, wall time on the CPU);
/// total also covers the points' upload and the detections' download.
struct StageTimes {
  double voxelize = 0, pfn = 0, scatter = 0, backbone = 0, postprocess = 0, total = 0;
};

struct FrameStats {
  int64_t points_in = 0;                 // records read
  int64_t points_dropped_nonfinite = 0;  // dropped by the reader
  int64_t points_in_range = 0;           // inside the grid
  int64_t pillars = 0;                   // kept (at most max_voxels)
  StageTimes ms;
};

struct FrameResult {
  std::vector<Detection> detections;  // descending score
  FrameStats stats;
};

nlohmann::json stats_to_json(const FrameStats& s);

/// The voxelizer's parameters of a config.
VoxelParams voxel_params(const PointPillarsConfig& c);

/// The PFN's row count for `pillars`: rounded up to a multiple of 1024 (few distinct shapes,
/// each built and captured once), at least 1024 and at most max_voxels.
int64_t pfn_rows_for(int64_t pillars, int max_voxels);

class LidarDetector {
 public:
  virtual ~LidarDetector() = default;
  /// Builds the PFN and backbone engines from the config's ONNX files for `options.device`.
  static StatusOr<std::unique_ptr<LidarDetector>> create(const PointPillarsConfig& config,
                                                         const DetectorOptions& options);
  virtual StatusOr<FrameResult> detect(const PointCloud& cloud) = 0;
  const PointPillarsConfig& config() const { return config_; }

 protected:
  explicit LidarDetector(PointPillarsConfig c) : config_(std::move(c)) {}
  PointPillarsConfig config_;
};

/// The engine stage: runs a plan's engine with its input and outputs bound to frame buffers
/// (members of FrameBuffers named by pointer-to-member).
struct EngineStageParams {
  std::string name;
  std::string plan;  // serialized (build_serialized_engine)
  std::string input;
  float* FrameBuffers::*input_buffer = nullptr;
  std::vector<std::pair<std::string, float * FrameBuffers::*>> outputs;
  bool use_cuda_graph = true;
  /// When set, the input's first dimension is FrameBuffers::pfn_rows at each run; the other
  /// dimensions are these (from index 1).
  Dims rows_from_frame;
};
StatusOr<std::unique_ptr<Stage>> make_engine_stage(const EngineStageParams& p);

/// Builds the plan of an ONNX file with a shape range for every input (name -> range).
StatusOr<std::string> build_stage_plan(const std::string& onnx_path,
                                       const std::map<std::string, ShapeRange>& ranges,
                                       const DetectorOptions& options);

/// The PFN and backbone plans built for the config's shapes (max_voxels pillars), their tensor
/// names and the PFN's channel count.
struct PipelinePlans {
  std::string pfn, backbone;
  std::string pfn_input, pfn_output, backbone_input;
  Dims pfn_input_dims;  // [max_voxels, M, F]
  int channels = 0;
};
StatusOr<PipelinePlans> build_pipeline_plans(const PointPillarsConfig& c, const DetectorOptions& o);
/// The head's outputs by OpenPCDet's names (cls_preds, box_preds, dir_cls_preds), so their order
/// in the ONNX file does not matter.
std::vector<std::pair<std::string, float * FrameBuffers::*>> head_outputs();

}  // namespace tarmac::lidar
