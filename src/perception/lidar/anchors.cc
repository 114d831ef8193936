// PointPillars anchor generation (layout and formulas in anchors.h).
#include "perception/lidar/anchors.h"

#include <cstddef>

namespace tarmac::lidar {

std::vector<float> make_anchors(const PointPillarsConfig& c, int feature_h, int feature_w) {
  if (feature_h <= 0 || feature_w <= 0 || c.classes.empty()) return {};
  const int a_count = c.anchors_per_location();
  std::vector<float> out(static_cast<size_t>(feature_h) * feature_w * a_count * 7);  // [H*W*A, 7]
  const double xmin = c.point_cloud_range[0], xmax = c.point_cloud_range[3];
  const double ymin = c.point_cloud_range[1], ymax = c.point_cloud_range[4];
  const double x_step = feature_w > 1 ? (xmax - xmin) / (feature_w - 1) : 0.0;
  const double y_step = feature_h > 1 ? (ymax - ymin) / (feature_h - 1) : 0.0;
  float* dst = out.data();
  for (int j = 0; j < feature_h; ++j) {
    const float y = static_cast<float>(ymin + y_step * j);
    for (int i = 0; i < feature_w; ++i) {
      const float x = static_cast<float>(xmin + x_step * i);
      for (const AnchorClass& k : c.classes) {
        for (const float rotation : k.rotations) {
          dst[0] = x;
          dst[1] = y;
          dst[2] = k.z_center;
          dst[3] = k.size[0];
          dst[4] = k.size[1];
          dst[5] = k.size[2];
          dst[6] = rotation;
          dst += 7;
        }
      }
    }
  }
  return out;
}

}  // namespace tarmac::lidar
