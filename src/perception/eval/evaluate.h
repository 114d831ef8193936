// Dataset-level 3D detection evaluation: per class, overall and per distance bin, BEV and 3D
// R40 average precision (docs/eval3d.md).
//   Eval3dConfig cfg;                       // classes from the data, KITTI IoU thresholds
//   TARMAC_ASSIGN_OR_RETURN(cfg.bin_edges, parse_bin_edges("0,20,40"));
//   TARMAC_ASSIGN_OR_RETURN(Eval3dReport r, evaluate_3d(frames, cfg));
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "perception/eval/ap.h"
#include "perception/eval/labels.h"

namespace tarmac {

struct Eval3dConfig {
  /// Classes to evaluate; empty: every class of the ground truth, sorted by name.
  std::vector<std::string> classes;
  /// IoU threshold per class; classes not listed use default_iou_threshold().
  std::map<std::string, double> iou_thresholds;
  /// Distance bin edges in metres, increasing: bins [e0, e1), [e1, e2), ..., [en, inf).
  std::vector<double> bin_edges = {0, 20, 40};
};

/// KITTI's thresholds: 0.7 for cars and other large vehicles, 0.5 for everything else
/// (pedestrians, cyclists, small objects). Case-insensitive.
double default_iou_threshold(const std::string& cls);

/// "Car,Pedestrian" -> {"Car", "Pedestrian"}.
StatusOr<std::vector<std::string>> parse_class_list(const std::string& spec);
/// "Car:0.7,Pedestrian:0.5" -> thresholds in (0, 1].
StatusOr<std::map<std::string, double>> parse_iou_thresholds(const std::string& spec);
/// "0,20,40" -> {0, 20, 40}: finite, non-negative, strictly increasing.
StatusOr<std::vector<double>> parse_bin_edges(const std::string& spec);

/// The BEV distance of a box centre from the sensor, sqrt(x^2 + y^2).
double bev_range(const Box3d& b);

/// Results of one class within one range (all distances, or one bin).
struct RangeResult {
  std::string name;  // "all", "0-20m", "40m+"
  double min_range = 0;
  std::optional<double> max_range;  // absent: unbounded
  int num_gt = 0;                   // counted ground truth
  int num_ignored_gt = 0;           // "don't care" ground truth (0 points)
  int num_pred = 0;
  PrCurve bev, box3d;
};

struct ClassResult {
  std::string name;
  double iou_threshold = 0.5;
  RangeResult overall;
  std::vector<RangeResult> bins;
};

struct Eval3dReport {
  int num_frames = 0;
  std::vector<double> bin_edges;
  std::vector<ClassResult> classes;
  /// Mean AP over the classes whose AP is defined, overall then per bin; absent when none is.
  std::vector<std::optional<double>> mean_ap_bev, mean_ap_3d;
  /// Predictions of classes that were not evaluated, by class.
  std::map<std::string, int> unevaluated_predictions;
};

/// Evaluates the frames. Errors: a class of `classes` that appears in neither the ground truth
/// nor the predictions, an IoU threshold for a class that is not evaluated, bad bin edges.
StatusOr<Eval3dReport> evaluate_3d(const std::vector<FrameLabels>& frames,
                                   const Eval3dConfig& config);

}  // namespace tarmac
