// Exact overlap of rotated 3D boxes: bird's-eye-view (BEV) IoU and 3D IoU.
//   double bev = bev_iou(a, b);  // rotated rectangles in the x-y plane
//   double v = iou_3d(a, b);     // BEV intersection area x z-overlap / union volume
#pragma once

#include <array>
#include <vector>

#include "perception/box3d.h"

namespace tarmac {

struct Point2d {
  double x = 0, y = 0;
};

/// The box's four BEV corners, counter-clockwise: front-right, front-left, back-left,
/// back-right (front = +dx/2 along the heading, left = +dy/2).
std::array<Point2d, 4> bev_corners(const Box3d& b);

/// Area of the intersection of two convex polygons given counter-clockwise (Sutherland-Hodgman
/// clipping of `subject` by each edge of `clip`). Never negative, never NaN.
double convex_intersection_area(const std::vector<Point2d>& subject,
                                const std::vector<Point2d>& clip);

/// Area of the intersection of the boxes' BEV rectangles.
double bev_intersection_area(const Box3d& a, const Box3d& b);

/// Intersection over union of the BEV rectangles, in [0, 1]; 0 when both are degenerate.
double bev_iou(const Box3d& a, const Box3d& b);

/// Intersection over union of the 3D boxes (z is the box centre), in [0, 1].
double iou_3d(const Box3d& a, const Box3d& b);

}  // namespace tarmac
