// Greedy matching and R40 average precision (docs/eval3d.md, "Rules").
#include "perception/eval/ap.h"

#include <algorithm>
#include <numeric>

#include "core/status.h"
#include "perception/eval/iou.h"

namespace tarmac {

std::vector<MatchResult> match_predictions(const std::vector<Box3d>& gt,
                                           const std::vector<bool>& gt_ignored,
                                           const std::vector<Box3d>& pred,
                                           const std::vector<float>& scores, IouKind kind,
                                           double threshold) {
  TARMAC_CHECK(scores.size() == pred.size());
  TARMAC_CHECK(gt_ignored.empty() || gt_ignored.size() == gt.size());
  std::vector<size_t> order(pred.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<MatchResult> results(pred.size(), MatchResult::kFalsePositive);
  std::vector<bool> taken(gt.size(), false);
  for (size_t p : order) {
    // best[0]: counted ground truth, best[1]: ignored ground truth.
    long best[2] = {-1, -1};
    double best_iou[2] = {0, 0};
    for (size_t g = 0; g < gt.size(); ++g) {
      if (taken[g]) continue;
      const double iou = kind == IouKind::kBev ? bev_iou(pred[p], gt[g]) : iou_3d(pred[p], gt[g]);
      if (!(iou >= threshold)) continue;
      const int k = !gt_ignored.empty() && gt_ignored[g] ? 1 : 0;
      if (best[k] < 0 || iou > best_iou[k]) {
        best[k] = static_cast<long>(g);
        best_iou[k] = iou;
      }
    }
    if (best[0] >= 0) {
      taken[best[0]] = true;
      results[p] = MatchResult::kTruePositive;
    } else if (best[1] >= 0) {
      taken[best[1]] = true;
      results[p] = MatchResult::kIgnored;
    }
  }
  return results;
}

PrCurve r40_average_precision(std::vector<ScoredMatch> matches, int num_gt) {
  PrCurve c;
  c.num_gt = num_gt;
  std::erase_if(matches, [](const ScoredMatch& m) { return m.result == MatchResult::kIgnored; });
  std::sort(matches.begin(), matches.end(),
            [](const ScoredMatch& a, const ScoredMatch& b) { return a.score > b.score; });
  int tp = 0, fp = 0;
  for (size_t i = 0; i < matches.size(); ++i) {
    (matches[i].result == MatchResult::kTruePositive ? tp : fp) += 1;
    if (i + 1 < matches.size() && matches[i + 1].score == matches[i].score) continue;
    c.score.push_back(matches[i].score);
    c.tp.push_back(tp);
    c.fp.push_back(fp);
    c.precision.push_back(static_cast<double>(tp) / (tp + fp));
    if (num_gt > 0) c.recall.push_back(static_cast<double>(tp) / num_gt);
  }
  if (num_gt <= 0) return c;
  // Suffix maximum of precision: the interpolated precision at or beyond each point's recall.
  // tp is non-decreasing along the curve, so "recall >= k/40" selects a suffix of points;
  // compared in integers (tp * 40 >= k * num_gt) to stay exact.
  std::vector<double> best(c.precision.size() + 1, 0.0);
  for (size_t i = c.precision.size(); i-- > 0;) best[i] = std::max(best[i + 1], c.precision[i]);
  double sum = 0;
  size_t first = 0;
  for (int k = 1; k <= kRecallPoints; ++k) {
    const long long need = static_cast<long long>(k) * num_gt;
    while (first < c.tp.size() && static_cast<long long>(c.tp[first]) * kRecallPoints < need)
      ++first;
    c.precision_r40[k - 1] = best[first];
    sum += best[first];
  }
  c.ap = sum / kRecallPoints;
  return c;
}

}  // namespace tarmac
