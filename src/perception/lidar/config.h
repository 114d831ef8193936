// PointPillars pipeline configuration: the point-cloud grid, the pillar features, the anchor
// classes and the post-processing settings, with OpenPCDet's KITTI pointpillar.yaml as defaults.
//   auto cfg = tarmac::lidar::load_config("models/pointpillars/pipeline.json");
//   if (!cfg.is_ok()) return cfg.status();
//   const int h = cfg->feature_map_h(), w = cfg->feature_map_w();  // 248, 216 for KITTI
//
// JSON keys (an unknown key, a value of the wrong type or out of range is an error that names
// the key; required keys are marked, every other key has the KITTI default shown):
//   point_cloud_range     required  [xmin, ymin, zmin, xmax, ymax, zmax], metres, lidar frame;
//                                   max > min on every axis
//   voxel_size            required  [vx, vy, vz] > 0; grid = round((max - min) / size) >= 1
//   max_voxels            40000     pillars kept per frame (the first ones in point order)
//   max_points_per_voxel  32        points kept per pillar
//   features              {"use_absolute_xyz": true, "with_distance": false} (PillarVFE)
//   classes               required  non-empty array, in the head's class order, of
//                                   {"name": "Car", "size": [dx, dy, dz], "rotations": [0, 1.57],
//                                    and exactly one of "z_center" (anchor box centre) or
//                                    "anchor_bottom_height" (OpenPCDet's; centre = it + dz / 2)}
//                                   names are unique, non-empty, without white space
//   feature_map_stride    2         grid cells per feature-map cell (feature map = grid / stride,
//                                   integer division as OpenPCDet's grid_size // stride)
//   dir_offset            0.78539   direction classifier (OpenPCDet DIR_OFFSET)
//   dir_limit_offset      0.0       OpenPCDet DIR_LIMIT_OFFSET
//   num_dir_bins          2         OpenPCDet NUM_DIR_BINS (>= 1)
//   score_threshold       0.1       in [0, 1]; boxes with sigmoid score >= it are candidates
//   nms_iou_threshold     0.01      in [0, 1]; a box is suppressed when its BEV IoU with a kept
//                                   box is > it
//   nms_pre_max           4096      candidates entering NMS (the best by score), >= 1
//   max_detections        500       boxes kept after NMS, >= 1
//   class_agnostic_nms    true      false: boxes suppress only boxes of their own class
//   pfn_onnx              required  pillar feature net model (input "voxel_features")
//   backbone_onnx         required  backbone + head model (input "spatial_features")
// The two model paths are relative to the folder of the JSON file (absolute paths stay as
// they are); the loaded config holds them resolved.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "core/status.h"

namespace tarmac::lidar {

/// One anchor class: a box size and the headings anchors of this class take at every
/// feature-map cell.
struct AnchorClass {
  std::string name;
  std::array<float, 3> size = {0, 0, 0};  // dx (along heading), dy, dz; metres
  std::vector<float> rotations;           // radians
  float z_center = 0;                     // the anchor box centre height, metres
};

/// PillarVFE's optional point features.
struct PillarFeatures {
  bool use_absolute_xyz = true;
  bool with_distance = false;
};

/// Everything the PointPillars pipeline needs; the defaults are OpenPCDet's KITTI model
/// except `classes` (see pointpillars_kitti_default()) and the model paths.
struct PointPillarsConfig {
  std::array<float, 6> point_cloud_range = {0.f, -39.68f, -3.f, 69.12f, 39.68f, 1.f};
  std::array<float, 3> voxel_size = {0.16f, 0.16f, 4.f};
  int max_voxels = 40000;
  int max_points_per_voxel = 32;
  PillarFeatures features;
  std::vector<AnchorClass> classes;
  int feature_map_stride = 2;
  float dir_offset = 0.78539f;
  float dir_limit_offset = 0.f;
  int num_dir_bins = 2;
  float score_threshold = 0.1f;
  float nms_iou_threshold = 0.01f;
  int nms_pre_max = 4096;
  int max_detections = 500;
  bool class_agnostic_nms = true;
  std::string pfn_onnx;       // resolved path
  std::string backbone_onnx;  // resolved path

  /// Voxel grid size along x, y, z: round((max - min) / voxel size).
  int grid_x() const;
  int grid_y() const;
  int grid_z() const;
  /// Head output size: grid / feature_map_stride (248 x 216 for KITTI).
  int feature_map_h() const { return grid_y() / feature_map_stride; }
  int feature_map_w() const { return grid_x() / feature_map_stride; }
  int num_classes() const { return static_cast<int>(classes.size()); }
  /// Anchors per feature-map cell: the sum over classes of their rotation counts.
  int anchors_per_location() const;
  std::vector<std::string> class_names() const;
};

/// OpenPCDet's KITTI pointpillar.yaml: Car (3.9, 1.6, 1.56) bottom -1.78, Pedestrian
/// (0.8, 0.6, 1.73) bottom -0.6, Cyclist (1.76, 0.6, 1.73) bottom -0.6, rotations [0, 1.57];
/// no model paths.
PointPillarsConfig pointpillars_kitti_default();

/// Checks the invariants every stage relies on (the checks parse_config applies after
/// reading the keys); for configs built in code.
Status validate_config(const PointPillarsConfig& c);

/// Parses the JSON text of a config; relative model paths are resolved against `base_dir`.
StatusOr<PointPillarsConfig> parse_config(const std::string& text, const std::string& base_dir);

/// Reads and parses a config file; model paths are relative to the file's folder.
StatusOr<PointPillarsConfig> load_config(const std::string& json_path);

}  // namespace tarmac::lidar
