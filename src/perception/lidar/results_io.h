// Detection result writers: KITTI label lines, the lidar-frame label lines of OpenPCDet's
// custom datasets (what `tarmac eval` reads), and JSON.
//   nlohmann::json frame = results_to_json("000042", dets, cfg.class_names(), stats);
//   std::string kitti = to_kitti_lines(dets, cfg.class_names());
//
// KITTI lines (the 16 columns of KITTI's object label format plus the score):
//   type truncated occluded alpha left top right bottom height width length x y z rotation_y
//   score
// Without a camera calibration the lidar box is taken to KITTI's camera frame by the axis
// change alone: camera x = -lidar y, camera y = -lidar z, camera z = lidar x (KITTI's
// velodyne-to-camera rotation without its small translation and the rectification). Columns:
//   - type: the class name;
//   - truncated -1 and occluded -1: unknown for detections (KITTI evaluation ignores both for
//     results; OpenPCDet writes the same);
//   - alpha: the observation angle rotation_y - atan2(x, z) from the camera-frame location,
//     normalized to [-pi, pi) (OpenPCDet's formula, exact for this axis-change frame);
//   - left top right bottom: 0 0 0 0, because the image box needs the camera projection.
//     KITTI's official evaluation drops detections whose image box is under 25 pixels high,
//     so these lines suit BEV / 3D evaluations that do not filter on the image box, not the
//     official benchmark;
//   - height width length: dz dy dx;
//   - x y z: the bottom-face centre, (-y, -(z - dz / 2), x);
//   - rotation_y: -heading - pi / 2, normalized to [-pi, pi);
//   - score.
// A label outside the class list is written as "class_<label>".
//
// JSON of one frame:
//   {"frame": "000042",
//    "boxes": [{"x", "y", "z", "dx", "dy", "dz", "heading", "score",
//               "label": "Car", "label_index": 0}, ...],
//    "stats": {...caller-provided...}}
// in the lidar frame, box centre, as the `frames` entries of the results files `tarmac eval`
// reads. Floats are written with the shortest decimal that reads back as the same float.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "perception/box3d.h"

namespace tarmac::lidar {

/// A box in KITTI's camera frame (axis change only, see above).
struct KittiBox {
  float x = 0, y = 0, z = 0;  // bottom-face centre
  float height = 0, width = 0, length = 0;
  float rotation_y = 0;  // [-pi, pi)
  float alpha = 0;       // [-pi, pi)
};
KittiBox to_kitti_box(const Box3d& b);

/// One KITTI label line per detection, each ending in '\n'.
std::string to_kitti_lines(const std::vector<Detection>& dets,
                           const std::vector<std::string>& class_names);

/// One `x y z dx dy dz heading class score` line per detection (lidar frame, box centre),
/// each ending in '\n'.
std::string to_box_lines(const std::vector<Detection>& dets,
                         const std::vector<std::string>& class_names);

/// The "boxes" array of the JSON schema above.
nlohmann::json detections_to_json(const std::vector<Detection>& dets,
                                  const std::vector<std::string>& class_names);

/// The JSON object of one frame (schema above); `stats` is stored as given (an object, or
/// null to leave "stats" out).
nlohmann::json results_to_json(const std::string& frame, const std::vector<Detection>& dets,
                               const std::vector<std::string>& class_names,
                               const nlohmann::json& stats);

/// Writes text to a file atomically (a temporary file in the same folder, then a rename).
Status write_text_file(const std::string& path, const std::string& text);

}  // namespace tarmac::lidar
