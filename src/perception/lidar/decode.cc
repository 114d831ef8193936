// CPU reference of PointPillars post-processing (decode.h).
#include "perception/lidar/decode.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "perception/lidar/config.h"
#include "perception/lidar/nms.h"

namespace tarmac::lidar {

DecodeParams decode_params(const PointPillarsConfig& c) {
  DecodeParams p;
  p.num_classes = c.num_classes();
  p.num_dir_bins = c.num_dir_bins;
  p.dir_offset = c.dir_offset;
  p.dir_limit_offset = c.dir_limit_offset;
  p.dir_period = static_cast<float>(2.0 * std::numbers::pi / std::max(1, c.num_dir_bins));
  return p;
}

std::vector<Candidate> top_candidates_cpu(const float* cls, int64_t num_anchors, int num_classes,
                                          float score_threshold, int max_count) {
  std::vector<Candidate> all;
  for (int64_t n = 0; n < num_anchors; ++n) {
    Candidate c;
    c.score = anchor_score(cls + n * num_classes, num_classes, &c.label);
    if (!(c.score >= score_threshold)) continue;
    c.anchor = static_cast<int32_t>(n);
    all.push_back(c);
  }
  // A strict total order (descending score, then ascending anchor index), so the selection
  // does not depend on the sort algorithm.
  const auto before = [](const Candidate& a, const Candidate& b) {
    return a.score > b.score || (a.score == b.score && a.anchor < b.anchor);
  };
  const size_t keep = std::min(all.size(), static_cast<size_t>(std::max(0, max_count)));
  std::partial_sort(all.begin(), all.begin() + keep, all.end(), before);
  all.resize(keep);
  return all;
}

std::vector<Detection> postprocess_cpu(const float* cls, const float* box, const float* dir,
                                       const std::vector<float>& anchors,
                                       const PointPillarsConfig& c) {
  const DecodeParams p = decode_params(c);
  const int64_t num_anchors = static_cast<int64_t>(anchors.size() / 7);
  const std::vector<Candidate> candidates =
      top_candidates_cpu(cls, num_anchors, p.num_classes, c.score_threshold, c.nms_pre_max);
  std::vector<Detection> sorted(candidates.size());  // [K], descending score
  for (size_t k = 0; k < candidates.size(); ++k) {
    const int64_t n = candidates[k].anchor;
    sorted[k].box = decode_box(anchors.data() + n * 7, box + n * 7, dir + n * p.num_dir_bins, p);
    sorted[k].score = candidates[k].score;
    sorted[k].label = candidates[k].label;
  }
  const std::vector<int> keep =
      nms_bev(sorted, c.nms_iou_threshold, c.class_agnostic_nms, c.max_detections);
  std::vector<Detection> out;
  out.reserve(keep.size());
  for (const int k : keep) out.push_back(sorted[k]);
  return out;
}

}  // namespace tarmac::lidar
