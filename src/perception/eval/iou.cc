// Rotated-box overlap by Sutherland-Hodgman clipping in double precision.
//
// Robustness: the clipper computes an edge crossing only where the two endpoints lie strictly
// on opposite sides of the clipping line, so its denominator is never zero (near-parallel and
// touching edges produce duplicate vertices, which add no area, never a division by zero). Both
// boxes are moved so that the first one's centre is the origin, which keeps the coordinates
// small and the cross products accurate for boxes far from the sensor.
#include "perception/eval/iou.h"

#include <algorithm>
#include <cmath>

namespace tarmac {

namespace {

double cross(const Point2d& o, const Point2d& a, const Point2d& b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

double polygon_area(const std::vector<Point2d>& p) {
  if (p.size() < 3) return 0;
  double twice = 0;
  for (size_t i = 0, j = p.size() - 1; i < p.size(); j = i++)
    twice += p[j].x * p[i].y - p[i].x * p[j].y;
  return 0.5 * twice;
}

std::array<Point2d, 4> corners_about(const Box3d& b, double ox, double oy) {
  const double c = std::cos(static_cast<double>(b.heading));
  const double s = std::sin(static_cast<double>(b.heading));
  const double hx = 0.5 * b.dx, hy = 0.5 * b.dy;
  const double cx = b.x - ox, cy = b.y - oy;
  // Local (+hx, -hy), (+hx, +hy), (-hx, +hy), (-hx, -hy): counter-clockwise.
  const double lx[4] = {hx, hx, -hx, -hx};
  const double ly[4] = {-hy, hy, hy, -hy};
  std::array<Point2d, 4> out;
  for (int i = 0; i < 4; ++i) out[i] = {cx + lx[i] * c - ly[i] * s, cy + lx[i] * s + ly[i] * c};
  return out;
}

double z_overlap(const Box3d& a, const Box3d& b) {
  const double lo = std::max(a.z - 0.5 * a.dz, b.z - 0.5 * b.dz);
  const double hi = std::min(a.z + 0.5 * a.dz, b.z + 0.5 * b.dz);
  return std::max(0.0, hi - lo);
}

double bev_area(const Box3d& b) {
  return std::max(0.0, static_cast<double>(b.dx)) * std::max(0.0, static_cast<double>(b.dy));
}

double safe_ratio(double inter, double uni) {
  if (!(inter > 0) || !(uni > 0)) return 0;
  return std::clamp(inter / uni, 0.0, 1.0);
}

}  // namespace

std::array<Point2d, 4> bev_corners(const Box3d& b) { return corners_about(b, 0, 0); }

double convex_intersection_area(const std::vector<Point2d>& subject,
                                const std::vector<Point2d>& clip) {
  if (subject.size() < 3 || clip.size() < 3) return 0;
  std::vector<Point2d> poly = subject, next;
  poly.reserve(subject.size() + clip.size());
  next.reserve(subject.size() + clip.size());
  for (size_t e = 0; e < clip.size() && poly.size() >= 3; ++e) {
    const Point2d& p = clip[e];
    const Point2d& q = clip[(e + 1) % clip.size()];
    next.clear();
    for (size_t i = 0; i < poly.size(); ++i) {
      const Point2d& a = poly[i];
      const Point2d& b = poly[(i + 1) % poly.size()];
      const double da = cross(p, q, a);  // >= 0: a is on the inner (left) side
      const double db = cross(p, q, b);
      if (da >= 0) next.push_back(a);
      if ((da >= 0 && db < 0) || (da < 0 && db >= 0)) {
        const double t = da / (da - db);  // |da - db| >= |da|, |db| and > 0
        next.push_back({a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)});
      }
    }
    poly.swap(next);
  }
  return std::max(0.0, polygon_area(poly));
}

double bev_intersection_area(const Box3d& a, const Box3d& b) {
  const double ha = 0.5 * std::hypot(static_cast<double>(a.dx), static_cast<double>(a.dy));
  const double hb = 0.5 * std::hypot(static_cast<double>(b.dx), static_cast<double>(b.dy));
  const double dist = std::hypot(static_cast<double>(b.x) - a.x, static_cast<double>(b.y) - a.y);
  if (!(dist <= ha + hb)) return 0;  // circumscribed circles apart (or a NaN)
  const auto ca = corners_about(a, a.x, a.y);
  const auto cb = corners_about(b, a.x, a.y);
  const double area = convex_intersection_area({ca.begin(), ca.end()}, {cb.begin(), cb.end()});
  return std::min(area, std::min(bev_area(a), bev_area(b)));
}

double bev_iou(const Box3d& a, const Box3d& b) {
  const double inter = bev_intersection_area(a, b);
  return safe_ratio(inter, bev_area(a) + bev_area(b) - inter);
}

double iou_3d(const Box3d& a, const Box3d& b) {
  const double dz = z_overlap(a, b);
  if (!(dz > 0)) return 0;
  const double inter = bev_intersection_area(a, b) * dz;
  const double va = bev_area(a) * a.dz, vb = bev_area(b) * b.dz;
  return safe_ratio(inter, va + vb - inter);
}

}  // namespace tarmac
