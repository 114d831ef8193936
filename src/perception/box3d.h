// Box3d and Detection: the 3D box every perception stage, the simulator and the evaluation
// share. Frame: the lidar sensor's (x forward, y left, z up), metres, radians.
//   Box3d b{10.f, 2.f, -0.8f, 3.9f, 1.6f, 1.56f, 0.3f};  // centre, size, heading
#pragma once

#include <string>

namespace tarmac {

/// A 3D box: centre (x, y, z), size along its own axes (dx = length along the heading,
/// dy = width, dz = height) and heading, the rotation about +z from +x (OpenPCDet's box
/// convention, the one of its custom-dataset label lines `x y z dx dy dz heading class`).
struct Box3d {
  float x = 0, y = 0, z = 0;
  float dx = 0, dy = 0, dz = 0;
  float heading = 0;
};

/// A detected (or ground-truth, score 1) box with its class index into the model's class list.
struct Detection {
  Box3d box;
  float score = 1.f;
  int label = 0;
};

}  // namespace tarmac
