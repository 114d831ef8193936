// Rotated BEV IoU and greedy NMS, CPU reference (nms.h).
#include "perception/lidar/nms.h"

namespace tarmac::lidar {

float rotated_bev_iou(const Box3d& a, const Box3d& b) {
  return bev_iou(make_bev_box(a), make_bev_box(b));
}

std::vector<int> nms_bev(const std::vector<Detection>& sorted, float iou_threshold,
                         bool class_agnostic, int max_keep) {
  const int n = static_cast<int>(sorted.size());
  std::vector<BevBox> bev(n);  // [n]
  for (int i = 0; i < n; ++i) bev[i] = make_bev_box(sorted[i].box);
  std::vector<char> suppressed(n, 0);
  std::vector<int> keep;
  for (int i = 0; i < n && static_cast<int>(keep.size()) < max_keep; ++i) {
    if (suppressed[i]) continue;
    keep.push_back(i);
    for (int j = i + 1; j < n; ++j) {
      if (suppressed[j]) continue;
      if (!class_agnostic && sorted[j].label != sorted[i].label) continue;
      if (bev_iou(bev[i], bev[j]) > iou_threshold) suppressed[j] = 1;
    }
  }
  return keep;
}

}  // namespace tarmac::lidar
