// PointPillars anchors: OpenPCDet's AnchorGenerator (align_center false) for one feature map.
//   auto cfg = tarmac::lidar::pointpillars_kitti_default();
//   std::vector<float> anchors = make_anchors(cfg, 248, 216);  // [248 * 216 * 6, 7]
#pragma once

#include <vector>

#include "perception/lidar/config.h"

namespace tarmac::lidar {

/// Anchors of a feature map of `feature_h` rows (y) by `feature_w` columns (x):
/// [feature_h * feature_w * A, 7] rows (x, y, z, dx, dy, dz, heading), A = the config's
/// anchors_per_location(). Flat anchor index n = (j * W + i) * A + a with a = class * R + r
/// (R rotations per class), the order of the head's channels. Centres span the point-cloud
/// range corner to corner: x_i = xmin + i * (xmax - xmin) / (W - 1), y_j likewise, computed in
/// double and rounded to float as OpenPCDet's torch.arange does; z is the class's z_center.
/// A map of one column (or row) puts every anchor at xmin (ymin).
std::vector<float> make_anchors(const PointPillarsConfig& c, int feature_h, int feature_w);

}  // namespace tarmac::lidar
