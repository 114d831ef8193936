// Rotated bird's-eye-view IoU and greedy NMS over it: the CPU reference and the arithmetic the
// CUDA NMS kernels share (inline functions, bit-identical on host and device; see decode.h
// for why every multiply-add is an explicit fmaf).
//   float iou = rotated_bev_iou(a, b);                          // exact overlap / union
//   std::vector<int> keep = nms_bev(sorted_dets, 0.01f, true, 500);
//
// The intersection is exact up to rounding: box a's corners are taken into box b's frame,
// where b is the axis-aligned rectangle |x| <= dx / 2, |y| <= dy / 2, and the quadrilateral is
// clipped against b's four sides (Sutherland-Hodgman; the clipped polygon stays convex with at
// most 8 vertices); its area comes from the shoelace formula. Intersection points are
// interpolated only between a vertex inside and one strictly outside a side, so no division is
// by zero, and identical, touching, nested and near-parallel boxes need no special case.
#pragma once

#include <vector>

#include "perception/box3d.h"
#include "perception/lidar/decode.h"

namespace tarmac::lidar {

/// A box's footprint with its heading's cosine and sine. No member initializers: the CUDA
/// kernels keep arrays of it in shared memory.
struct BevBox {
  float x, y;    // centre
  float dx, dy;  // size along the heading and across it
  float cos_h, sin_h;
};

TARMAC_LIDAR_HD BevBox make_bev_box(const Box3d& b) {
  BevBox r;
  r.x = b.x;
  r.y = b.y;
  r.dx = b.dx;
  r.dy = b.dy;
  sincos_f32(b.heading, &r.sin_h, &r.cos_h);
  return r;
}

namespace nms_detail {

/// True for finite values (v - v is NaN for NaN and infinities).
TARMAC_LIDAR_HD bool finite_f32(float v) { return v - v == 0.f; }

/// Clips the convex polygon (px, py)[n] to the half-plane `sign * coordinate <= limit`
/// (`axis` 0: x, 1: y) into (qx, qy); returns the new vertex count (at most n + 1).
TARMAC_LIDAR_HD int clip_polygon(const float* px, const float* py, int n, int axis, float sign,
                                 float limit, float* qx, float* qy) {
  int m = 0;
  for (int i = 0; i < n; ++i) {
    const int j = i + 1 == n ? 0 : i + 1;
    const float ci = axis == 0 ? px[i] : py[i], cj = axis == 0 ? px[j] : py[j];
    const float si = limit - sign * ci, sj = limit - sign * cj;  // >= 0: inside
    if (si >= 0.f) {
      qx[m] = px[i];
      qy[m] = py[i];
      ++m;
    }
    if ((si >= 0.f) != (sj >= 0.f)) {
      // The side's line crosses edge i -> j; si - sj is not 0 (one is >= 0, one < 0).
      const float t = si / (si - sj);
      const float on_side = sign * limit;
      if (axis == 0) {
        qx[m] = on_side;
        qy[m] = fmaf(t, py[j] - py[i], py[i]);
      } else {
        qx[m] = fmaf(t, px[j] - px[i], px[i]);
        qy[m] = on_side;
      }
      ++m;
    }
  }
  return m;
}

}  // namespace nms_detail

/// Intersection over union of two footprints; 0 when either has a non-finite value or no
/// positive area. Not symmetric to the last bit: NMS always passes the higher-ranked box first.
TARMAC_LIDAR_HD float bev_iou(const BevBox& a, const BevBox& b) {
  using nms_detail::finite_f32;
  if (!(a.dx > 0.f && a.dy > 0.f && b.dx > 0.f && b.dy > 0.f)) return 0.f;
  if (!(finite_f32(a.x) && finite_f32(a.y) && finite_f32(a.dx) && finite_f32(a.dy) &&
        finite_f32(a.cos_h) && finite_f32(a.sin_h) && finite_f32(b.x) && finite_f32(b.y) &&
        finite_f32(b.dx) && finite_f32(b.dy) && finite_f32(b.cos_h) && finite_f32(b.sin_h)))
    return 0.f;
  const float ahx = 0.5f * a.dx, ahy = 0.5f * a.dy;
  const float bhx = 0.5f * b.dx, bhy = 0.5f * b.dy;
  const float wx = a.x - b.x, wy = a.y - b.y;
  // Boxes whose circumscribed circles are apart do not overlap.
  const float reach = sqrtf(fmaf(ahx, ahx, ahy * ahy)) + sqrtf(fmaf(bhx, bhx, bhy * bhy));
  if (fmaf(wx, wx, wy * wy) > reach * reach) return 0.f;
  // a's centre and heading axis in b's frame (rotation by -heading_b).
  const float cx = fmaf(b.cos_h, wx, b.sin_h * wy);
  const float cy = fmaf(b.cos_h, wy, -(b.sin_h * wx));
  const float ux = fmaf(b.cos_h, a.cos_h, b.sin_h * a.sin_h);
  const float uy = fmaf(b.cos_h, a.sin_h, -(b.sin_h * a.cos_h));
  // a's corners counter-clockwise: (+x, +y), (-x, +y), (-x, -y), (+x, -y) in a's own axes.
  float px[8], py[8], qx[8], qy[8];
  for (int k = 0; k < 4; ++k) {
    const float ex = (k == 0 || k == 3) ? ahx : -ahx;
    const float ey = k < 2 ? ahy : -ahy;
    px[k] = fmaf(ex, ux, fmaf(-ey, uy, cx));
    py[k] = fmaf(ex, uy, fmaf(ey, ux, cy));
  }
  int n = nms_detail::clip_polygon(px, py, 4, 0, 1.f, bhx, qx, qy);
  n = nms_detail::clip_polygon(qx, qy, n, 0, -1.f, bhx, px, py);
  n = nms_detail::clip_polygon(px, py, n, 1, 1.f, bhy, qx, qy);
  n = nms_detail::clip_polygon(qx, qy, n, 1, -1.f, bhy, px, py);
  float twice_area = 0.f;
  for (int i = 0; i < n; ++i) {
    const int j = i + 1 == n ? 0 : i + 1;
    twice_area += fmaf(px[i], py[j], -(px[j] * py[i]));
  }
  const float area_a = a.dx * a.dy, area_b = b.dx * b.dy;
  const float inter = fminf(fmaxf(0.5f * twice_area, 0.f), fminf(area_a, area_b));
  const float uni = fmaf(a.dx, a.dy, fmaf(b.dx, b.dy, -inter));
  return uni > 0.f ? inter / uni : 0.f;
}

/// Rotated BEV IoU of two boxes (centre, dx, dy, heading; z is ignored).
float rotated_bev_iou(const Box3d& a, const Box3d& b);

/// Greedy NMS over boxes sorted by descending score: walks them in order, keeps a box unless
/// a kept box overlaps it with IoU > iou_threshold (class_agnostic false: only a kept box of
/// the same label suppresses), and stops after max_keep boxes. Returns the kept positions in
/// `sorted`, ascending.
std::vector<int> nms_bev(const std::vector<Detection>& sorted, float iou_threshold,
                         bool class_agnostic, int max_keep);

}  // namespace tarmac::lidar
