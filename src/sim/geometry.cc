#include "sim/geometry.h"

#include <algorithm>
#include <utility>

namespace tarmac::sim {

namespace {

constexpr float kTiny = 1e-12f;

float intersect_box(Vec3 o, Vec3 d, Vec3 h, float t_max) {
  float t0 = 0, t1 = t_max;
  const float oo[3] = {o.x, o.y, o.z}, dd[3] = {d.x, d.y, d.z}, hh[3] = {h.x, h.y, h.z};
  for (int i = 0; i < 3; ++i) {
    if (std::fabs(dd[i]) < kTiny) {
      if (std::fabs(oo[i]) > hh[i]) return kNoHit;
      continue;
    }
    const float inv = 1.0f / dd[i];
    float ta = (-hh[i] - oo[i]) * inv, tb = (hh[i] - oo[i]) * inv;
    if (ta > tb) std::swap(ta, tb);
    t0 = std::max(t0, ta);
    t1 = std::min(t1, tb);
    if (t0 > t1) return kNoHit;
  }
  return t0 < t_max ? t0 : kNoHit;
}

// Frustum about local z over [-h, h], radius r0 at -h and r1 at +h: x^2 + y^2 = (a + k z)^2.
float intersect_frustum(Vec3 o, Vec3 d, Vec3 size, float t_max) {
  const float r0 = size.x, r1 = size.y, h = size.z;
  const float a = 0.5f * (r0 + r1), k = (r1 - r0) / (2.0f * h);
  const float m = a + k * o.z;
  if (std::fabs(o.z) <= h && m >= 0 && o.x * o.x + o.y * o.y <= m * m) return 0;
  float best = t_max;
  bool hit = false;
  auto try_side = [&](float t) {
    if (t < 0 || t >= best) return;
    const float z = o.z + t * d.z;
    if (std::fabs(z) <= h && a + k * z >= 0) {
      best = t;
      hit = true;
    }
  };
  const float qa = d.x * d.x + d.y * d.y - k * k * d.z * d.z;
  const float qb = o.x * d.x + o.y * d.y - k * m * d.z;
  const float qc = o.x * o.x + o.y * o.y - m * m;
  if (std::fabs(qa) > kTiny) {
    const float disc = qb * qb - qa * qc;
    if (disc >= 0) {
      const float s = std::sqrt(disc);
      const float q = qb >= 0 ? -(qb + s) : -(qb - s);  // stable form of the two roots
      const float ta = q / qa, tb = q != 0 ? qc / q : ta;
      try_side(std::min(ta, tb));
      try_side(std::max(ta, tb));
    }
  } else if (std::fabs(qb) > kTiny) {
    try_side(-qc / (2.0f * qb));
  }
  if (std::fabs(d.z) > kTiny) {
    for (int side = -1; side <= 1; side += 2) {
      const float rc = side < 0 ? r0 : r1;
      const float t = (static_cast<float>(side) * h - o.z) / d.z;
      if (t < 0 || t >= best) continue;
      const float x = o.x + t * d.x, y = o.y + t * d.y;
      if (x * x + y * y <= rc * rc) {
        best = t;
        hit = true;
      }
    }
  }
  return hit ? best : kNoHit;
}

float intersect_ellipsoid(Vec3 o, Vec3 d, Vec3 r, float t_max) {
  const Vec3 os{o.x / r.x, o.y / r.y, o.z / r.z}, ds{d.x / r.x, d.y / r.y, d.z / r.z};
  const float c = dot(os, os) - 1.0f;
  if (c <= 0) return 0;
  const float a = dot(ds, ds), b = dot(os, ds);
  const float disc = b * b - a * c;
  if (disc < 0 || a < kTiny) return kNoHit;
  const float t = (-b - std::sqrt(disc)) / a;
  return t >= 0 && t < t_max ? t : kNoHit;
}

float intersect_convex(const ShapeSet& set, const Shape& s, Vec3 o, Vec3 d, float t_max) {
  float t0 = 0, t1 = t_max;
  for (uint32_t i = 0; i < s.num_planes; ++i) {
    const Plane& p = set.planes[s.first_plane + i];
    const float dn = dot(p.n, d), dist = p.d - dot(p.n, o);
    if (std::fabs(dn) < kTiny) {
      if (dist < 0) return kNoHit;
      continue;
    }
    const float t = dist / dn;
    if (dn < 0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
    if (t0 > t1) return kNoHit;
  }
  return t0 < t_max ? t0 : kNoHit;
}

Shape make_shape(ShapeKind kind, Vec3 center, const Mat3& rot, Vec3 size, uint8_t material,
                 uint8_t part, uint16_t object) {
  Shape s;
  s.kind = kind;
  s.center = center;
  s.rot = rot;
  s.size = size;
  s.material = material;
  s.part = part;
  s.object = object;
  return s;
}

}  // namespace

Mat3 frame_yaw_pitch(float yaw, float pitch) {
  const float cy = std::cos(yaw), sy = std::sin(yaw), cp = std::cos(pitch), sp = std::sin(pitch);
  Mat3 m;
  m.r[0] = {cp * cy, cp * sy, sp};
  m.r[1] = {-sy, cy, 0};
  m.r[2] = {-sp * cy, -sp * sy, cp};
  return m;
}

Mat3 frame_from_axis(Vec3 axis) {
  const Vec3 w = normalize(axis);
  const Vec3 helper = std::fabs(w.z) < 0.9f ? Vec3{0, 0, 1} : Vec3{1, 0, 0};
  const Vec3 u = normalize(cross(helper, w));
  Mat3 m;
  m.r[0] = u;
  m.r[1] = cross(w, u);
  m.r[2] = w;
  return m;
}

Mat3 compose(const Mat3& parent, const Mat3& child) {
  Mat3 m;
  for (int i = 0; i < 3; ++i) m.r[i] = parent.apply_t(child.r[i]);
  return m;
}

void add_box(ShapeSet* set, Vec3 center, const Mat3& rot, Vec3 half, uint8_t material, uint8_t part,
             uint16_t object) {
  set->shapes.push_back(make_shape(ShapeKind::kBox, center, rot, half, material, part, object));
}

void add_frustum(ShapeSet* set, Vec3 p0, Vec3 p1, float r0, float r1, uint8_t material,
                 uint8_t part, uint16_t object) {
  const Vec3 axis = p1 - p0;
  const float len = length(axis);
  set->shapes.push_back(make_shape(ShapeKind::kFrustum, (p0 + p1) * 0.5f, frame_from_axis(axis),
                                   {r0, r1, 0.5f * len}, material, part, object));
}

void add_ellipsoid(ShapeSet* set, Vec3 center, const Mat3& rot, Vec3 radii, uint8_t material,
                   uint8_t part, uint16_t object) {
  set->shapes.push_back(
      make_shape(ShapeKind::kEllipsoid, center, rot, radii, material, part, object));
}

void add_prism(ShapeSet* set, const Vec3 quad[4], Vec3 offset, uint8_t material, uint8_t part,
               uint16_t object) {
  Shape s = make_shape(ShapeKind::kConvex, {}, Mat3{}, {}, material, part, object);
  s.first_vertex = static_cast<uint32_t>(set->vertices.size());
  s.num_vertices = 8;
  Vec3 centroid;
  for (int i = 0; i < 4; ++i) {
    set->vertices.push_back(quad[i]);
    set->vertices.push_back(quad[i] + offset);
    centroid = centroid + quad[i] * 0.25f;
  }
  centroid = centroid + offset * 0.5f;
  s.center = centroid;
  s.first_plane = static_cast<uint32_t>(set->planes.size());
  auto add_plane = [&](Vec3 n, Vec3 through) {
    n = normalize(n);
    if (dot(n, centroid - through) > 0) n = -n;  // outward
    set->planes.push_back({n, dot(n, through)});
  };
  const Vec3 quad_normal = cross(quad[1] - quad[0], quad[2] - quad[0]);
  add_plane(quad_normal, quad[0]);
  add_plane(quad_normal, quad[0] + offset);
  for (int i = 0; i < 4; ++i) add_plane(cross(quad[(i + 1) % 4] - quad[i], offset), quad[i]);
  s.num_planes = 6;
  set->shapes.push_back(s);
}

float intersect(const ShapeSet& set, const Shape& s, Vec3 origin, Vec3 dir, float t_max) {
  if (s.kind == ShapeKind::kConvex) return intersect_convex(set, s, origin, dir, t_max);
  const Vec3 o = s.rot.apply(origin - s.center), d = s.rot.apply(dir);
  switch (s.kind) {
    case ShapeKind::kBox:
      return intersect_box(o, d, s.size, t_max);
    case ShapeKind::kFrustum:
      return intersect_frustum(o, d, s.size, t_max);
    case ShapeKind::kEllipsoid:
      return intersect_ellipsoid(o, d, s.size, t_max);
    case ShapeKind::kConvex:
      break;
  }
  return kNoHit;
}

Vec3 surface_normal(const ShapeSet& set, const Shape& s, Vec3 p) {
  if (s.kind == ShapeKind::kConvex) {
    float best = -kNoHit;
    Vec3 n{0, 0, 1};
    for (uint32_t i = 0; i < s.num_planes; ++i) {
      const Plane& pl = set.planes[s.first_plane + i];
      const float e = dot(pl.n, p) - pl.d;
      if (e > best) {
        best = e;
        n = pl.n;
      }
    }
    return n;
  }
  const Vec3 q = s.rot.apply(p - s.center);
  Vec3 n{0, 0, 1};
  if (s.kind == ShapeKind::kBox) {
    const float ex = std::fabs(q.x) / s.size.x, ey = std::fabs(q.y) / s.size.y,
                ez = std::fabs(q.z) / s.size.z;
    if (ex >= ey && ex >= ez) {
      n = {q.x >= 0 ? 1.f : -1.f, 0, 0};
    } else if (ey >= ez) {
      n = {0, q.y >= 0 ? 1.f : -1.f, 0};
    } else {
      n = {0, 0, q.z >= 0 ? 1.f : -1.f};
    }
  } else if (s.kind == ShapeKind::kFrustum) {
    const float r0 = s.size.x, r1 = s.size.y, h = s.size.z;
    const float k = (r1 - r0) / (2.0f * h), r = 0.5f * (r0 + r1) + k * q.z;
    const float rho = std::sqrt(q.x * q.x + q.y * q.y);
    if (h - std::fabs(q.z) < std::fabs(rho - r) || rho < 1e-6f) {
      n = {0, 0, q.z >= 0 ? 1.f : -1.f};
    } else {
      n = normalize({q.x / rho, q.y / rho, -k});
    }
  } else {
    n = normalize(
        {q.x / (s.size.x * s.size.x), q.y / (s.size.y * s.size.y), q.z / (s.size.z * s.size.z)});
  }
  return s.rot.apply_t(n);
}

float support(const ShapeSet& set, const Shape& s, Vec3 dir) {
  switch (s.kind) {
    case ShapeKind::kBox:
      return dot(s.center, dir) + s.size.x * std::fabs(dot(s.rot.r[0], dir)) +
             s.size.y * std::fabs(dot(s.rot.r[1], dir)) +
             s.size.z * std::fabs(dot(s.rot.r[2], dir));
    case ShapeKind::kFrustum: {
      const Vec3 w = s.rot.r[2];
      const float along = dot(w, dir);
      const float across = std::sqrt(std::max(0.f, dot(dir, dir) - along * along));
      const float c = dot(s.center, dir);
      return std::max(c - s.size.z * along + s.size.x * across,
                      c + s.size.z * along + s.size.y * across);
    }
    case ShapeKind::kEllipsoid: {
      const float a = s.size.x * dot(s.rot.r[0], dir), b = s.size.y * dot(s.rot.r[1], dir),
                  c = s.size.z * dot(s.rot.r[2], dir);
      return dot(s.center, dir) + std::sqrt(a * a + b * b + c * c);
    }
    case ShapeKind::kConvex: {
      float best = -kNoHit;
      for (uint32_t i = 0; i < s.num_vertices; ++i)
        best = std::max(best, dot(set.vertices[s.first_vertex + i], dir));
      return best;
    }
  }
  return 0;
}

Vec3 local_half_extents(const Shape& s) {
  if (s.kind == ShapeKind::kFrustum) {
    const float r = std::max(s.size.x, s.size.y);
    return {r, r, s.size.z};
  }
  return s.size;
}

void bounding_sphere(const ShapeSet& set, const Shape& s, Vec3* center, float* radius) {
  if (s.kind == ShapeKind::kConvex) {
    float r2 = 0;
    for (uint32_t i = 0; i < s.num_vertices; ++i) {
      const Vec3 d = set.vertices[s.first_vertex + i] - s.center;
      r2 = std::max(r2, dot(d, d));
    }
    *center = s.center;
    *radius = std::sqrt(r2);
    return;
  }
  *center = s.center;
  if (s.kind == ShapeKind::kEllipsoid) {
    *radius = std::max({s.size.x, s.size.y, s.size.z});
  } else {
    *radius = length(local_half_extents(s));
  }
}

void transform_shapes(ShapeSet* set, Vec3 origin, const Mat3& rot) {
  for (Shape& s : set->shapes) {
    s.center = rot.apply(s.center - origin);
    for (Vec3& row : s.rot.r) row = rot.apply(row);
  }
  for (Plane& p : set->planes) {
    p.d -= dot(p.n, origin);
    p.n = rot.apply(p.n);
  }
  for (Vec3& v : set->vertices) v = rot.apply(v - origin);
}

}  // namespace tarmac::sim
