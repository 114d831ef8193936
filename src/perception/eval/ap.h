// Matching of predictions to ground truth and KITTI-style R40 average precision.
//   auto results = match_predictions(gt, gt_ignored, pred, scores, IouKind::kBev, 0.7);
//   std::vector<ScoredMatch> all = ...;  // over all frames
//   PrCurve c = r40_average_precision(all, num_gt);  // c.ap: R40 AP in [0, 1]
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "perception/box3d.h"

namespace tarmac {

enum class IouKind { kBev, k3d };

enum class MatchResult : unsigned char {
  kTruePositive,
  kFalsePositive,
  kIgnored,  // matched a "don't care" ground truth: neither true nor false positive
};

/// Greedy matching of one frame's predictions of one class. Predictions are visited in
/// descending score (equal scores in input order); each takes the not yet matched ground truth
/// with the highest IoU (lowest index on equal IoU) among those with IoU >= `threshold`,
/// preferring counted ground truth over ignored ones. Returns one result per prediction, in
/// input order. `gt_ignored` is empty (none ignored) or has one entry per ground truth.
std::vector<MatchResult> match_predictions(const std::vector<Box3d>& gt,
                                           const std::vector<bool>& gt_ignored,
                                           const std::vector<Box3d>& pred,
                                           const std::vector<float>& scores, IouKind kind,
                                           double threshold);

struct ScoredMatch {
  float score = 0;
  MatchResult result = MatchResult::kFalsePositive;
};

inline constexpr int kRecallPoints = 40;

/// A precision/recall curve with one point per distinct score, highest first: the point of
/// score s counts every non-ignored prediction with score >= s.
struct PrCurve {
  int num_gt = 0;
  std::vector<float> score;
  std::vector<int> tp, fp;
  std::vector<double> recall;  // empty without ground truth
  std::vector<double> precision;
  /// Interpolated precision at recall k/40, k = 1..40: the highest precision of the points with
  /// recall >= k/40, 0 when no point reaches that recall.
  std::array<double, kRecallPoints> precision_r40{};
  /// Mean of precision_r40; absent when there is no ground truth to recall.
  std::optional<double> ap;
};

/// Builds the curve and the R40 average precision from the matches of all frames.
PrCurve r40_average_precision(std::vector<ScoredMatch> matches, int num_gt);

}  // namespace tarmac
