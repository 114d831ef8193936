#include "perception/eval/ap.h"

#include <gtest/gtest.h>

namespace tarmac {
namespace {

using MR = MatchResult;

Box3d car(float x, float y, float heading = 0) { return Box3d{x, y, 0, 4, 2, 1.5f, heading}; }

TEST(EvalAp, TwoGroundTruthThreePredictions) {
  // 2 ground truth; predictions by score: 0.9 TP, 0.8 FP, 0.7 TP.
  // Curve points (recall, precision): (1/2, 1), (1/2, 1/2), (1, 2/3).
  // Recall points k/40 <= 1/2 (k = 1..20): best precision at recall >= k/40 is 1.
  // Recall points k = 21..40: only the last point reaches them: 2/3.
  // AP = (20 * 1 + 20 * 2/3) / 40 = 5/6.
  const PrCurve c = r40_average_precision(
      {{0.7f, MR::kTruePositive}, {0.9f, MR::kTruePositive}, {0.8f, MR::kFalsePositive}}, 2);
  ASSERT_TRUE(c.ap.has_value());
  EXPECT_NEAR(*c.ap, 5.0 / 6.0, 1e-12);
  ASSERT_EQ(c.precision.size(), 3u);
  EXPECT_EQ(c.score, (std::vector<float>{0.9f, 0.8f, 0.7f}));
  EXPECT_EQ(c.tp, (std::vector<int>{1, 1, 2}));
  EXPECT_EQ(c.fp, (std::vector<int>{0, 1, 1}));
  EXPECT_DOUBLE_EQ(c.recall[2], 1.0);
  EXPECT_DOUBLE_EQ(c.precision_r40[19], 1.0);
  EXPECT_DOUBLE_EQ(c.precision_r40[20], 2.0 / 3.0);
}

TEST(EvalAp, FalsePositiveFirst) {
  // 2 ground truth; 0.9 FP, 0.8 TP. Points (0, 0) and (1/2, 1/2): recall points 1..20 get 1/2,
  // 21..40 get 0. AP = 20 * 0.5 / 40 = 0.25.
  const PrCurve c =
      r40_average_precision({{0.9f, MR::kFalsePositive}, {0.8f, MR::kTruePositive}}, 2);
  EXPECT_NEAR(*c.ap, 0.25, 1e-12);
}

TEST(EvalAp, RecallBetweenRecallPoints) {
  // 3 ground truth, one TP: recall 1/3 reaches k/40 for k <= 13 (13/40 = 0.325 <= 1/3, 14/40 =
  // 0.35 > 1/3). AP = 13 / 40.
  const PrCurve c = r40_average_precision({{0.5f, MR::kTruePositive}}, 3);
  EXPECT_NEAR(*c.ap, 13.0 / 40.0, 1e-12);
}

TEST(EvalAp, EqualScoresFormOnePoint) {
  // One ground truth, two predictions of the same score (one TP, one FP): one point (1, 1/2)
  // whatever their order, AP = 0.5.
  for (bool tp_first : {true, false}) {
    std::vector<ScoredMatch> m = {{0.5f, MR::kTruePositive}, {0.5f, MR::kFalsePositive}};
    if (!tp_first) std::swap(m[0], m[1]);
    const PrCurve c = r40_average_precision(m, 1);
    ASSERT_EQ(c.precision.size(), 1u);
    EXPECT_NEAR(*c.ap, 0.5, 1e-12);
  }
}

TEST(EvalAp, IgnoredPredictionsAreNeitherTrueNorFalse) {
  const PrCurve c = r40_average_precision(
      {{0.9f, MR::kIgnored}, {0.8f, MR::kTruePositive}, {0.95f, MR::kIgnored}}, 1);
  EXPECT_NEAR(*c.ap, 1.0, 1e-12);
  EXPECT_EQ(c.score.size(), 1u);
}

TEST(EvalAp, NoPredictionsAndNoGroundTruth) {
  const PrCurve none = r40_average_precision({}, 4);
  ASSERT_TRUE(none.ap.has_value());
  EXPECT_EQ(*none.ap, 0.0);
  const PrCurve no_gt = r40_average_precision({{0.3f, MR::kFalsePositive}}, 0);
  EXPECT_FALSE(no_gt.ap.has_value());
  EXPECT_TRUE(no_gt.recall.empty());
}

TEST(EvalMatch, HighestScoreTakesTheGroundTruth) {
  // Both predictions overlap the one ground truth; the higher-scored one (listed second) wins
  // even though the other overlaps it better; the other becomes a false positive.
  const std::vector<Box3d> gt = {car(10, 0)};
  const std::vector<Box3d> pred = {car(10, 0), car(10.3f, 0)};
  const auto r = match_predictions(gt, {}, pred, {0.5f, 0.9f}, IouKind::kBev, 0.7);
  EXPECT_EQ(r, (std::vector<MR>{MR::kFalsePositive, MR::kTruePositive}));
}

TEST(EvalMatch, PredictionTakesTheHighestIouGroundTruth) {
  const std::vector<Box3d> gt = {car(10, 0), car(10.6f, 0)};
  const std::vector<Box3d> pred = {car(10.5f, 0)};
  const auto r = match_predictions(gt, {}, pred, {0.9f}, IouKind::kBev, 0.5);
  EXPECT_EQ(r, (std::vector<MR>{MR::kTruePositive}));
  // The second prediction then finds the remaining ground truth.
  const auto r2 =
      match_predictions(gt, {}, {car(10.5f, 0), car(10, 0)}, {0.9f, 0.8f}, IouKind::kBev, 0.5);
  EXPECT_EQ(r2, (std::vector<MR>{MR::kTruePositive, MR::kTruePositive}));
}

TEST(EvalMatch, BevAndThreeDimensionalIouDiffer) {
  // Same footprint, z shifted by half the height: BEV IoU 1, 3D IoU 0.75 / 2.25 = 1/3.
  const Box3d g{0, 0, 0, 4, 2, 1.5f, 0};
  const Box3d p{0, 0, 0.75f, 4, 2, 1.5f, 0};
  EXPECT_EQ(match_predictions({g}, {}, {p}, {1.f}, IouKind::kBev, 0.99)[0], MR::kTruePositive);
  EXPECT_EQ(match_predictions({g}, {}, {p}, {1.f}, IouKind::k3d, 0.5)[0], MR::kFalsePositive);
  EXPECT_EQ(match_predictions({g}, {}, {p}, {1.f}, IouKind::k3d, 0.3)[0], MR::kTruePositive);
}

TEST(EvalMatch, IgnoredGroundTruthAbsorbsOnePrediction) {
  const std::vector<Box3d> gt = {car(10, 0), car(30, 0)};
  const std::vector<bool> ignored = {false, true};
  const std::vector<Box3d> pred = {car(30, 0), car(30.1f, 0), car(10, 0.1f)};
  const auto r = match_predictions(gt, ignored, pred, {0.9f, 0.8f, 0.7f}, IouKind::kBev, 0.7);
  EXPECT_EQ(r, (std::vector<MR>{MR::kIgnored, MR::kFalsePositive, MR::kTruePositive}));
}

TEST(EvalMatch, CountedGroundTruthIsPreferredOverIgnored) {
  // The prediction overlaps an ignored box better, but a counted one above the threshold too.
  const std::vector<Box3d> gt = {car(10, 0), car(10.4f, 0)};
  const auto r = match_predictions(gt, {true, false}, {car(10.1f, 0)}, {0.9f}, IouKind::kBev, 0.7);
  EXPECT_EQ(r[0], MR::kTruePositive);
}

}  // namespace
}  // namespace tarmac
