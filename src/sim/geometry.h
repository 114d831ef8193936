// Geometry of the airside simulator: small float vectors, rigid frames and the four solid
// primitives scenes are built from (oriented box, frustum/cylinder, ellipsoid, convex polytope),
// with analytic ray intersection, surface normals and support functions (for tight boxes).
//   ShapeSet set;  add_box(&set, {5, 0, 1}, frame_yaw(0.3f), {2, 1, 1}, 0, 0, 0);
//   float t = intersect(set, set.shapes[0], {0, 0, 1}, {1, 0, 0}, 100.f);  // kNoHit if missed
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace tarmac::sim {

struct Vec3 {
  float x = 0, y = 0, z = 0;
};

inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator-(Vec3 a) { return {-a.x, -a.y, -a.z}; }
inline Vec3 operator*(Vec3 a, float s) { return {a.x * s, a.y * s, a.z * s}; }
inline Vec3 operator*(float s, Vec3 a) { return a * s; }
inline float dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(Vec3 a, Vec3 b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline float length(Vec3 a) { return std::sqrt(dot(a, a)); }
inline Vec3 normalize(Vec3 a) {
  const float l = length(a);
  return l > 0 ? a * (1.0f / l) : Vec3{0, 0, 1};
}

/// A rotation stored as its rows: the local x, y, z axes expressed in the parent frame.
/// apply() maps parent -> local, apply_t() maps local -> parent.
struct Mat3 {
  Vec3 r[3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  Vec3 apply(Vec3 v) const { return {dot(r[0], v), dot(r[1], v), dot(r[2], v)}; }
  Vec3 apply_t(Vec3 v) const { return r[0] * v.x + r[1] * v.y + r[2] * v.z; }
};

/// Axes of a frame turned by `yaw` about +z and then pitched by `pitch` (nose up positive)
/// about its own y axis.
Mat3 frame_yaw_pitch(float yaw, float pitch);
inline Mat3 frame_yaw(float yaw) { return frame_yaw_pitch(yaw, 0.f); }
/// A frame whose z axis is `axis` (unit); x and y are any perpendicular pair.
Mat3 frame_from_axis(Vec3 axis);
/// `child` is given in `parent`'s local coordinates; returns it in the parent's parent frame.
Mat3 compose(const Mat3& parent, const Mat3& child);

/// A rigid transform local -> parent: p = origin + rot.apply_t(local).
struct Pose {
  Vec3 origin;
  Mat3 rot;
  Vec3 to_parent(Vec3 local) const { return origin + rot.apply_t(local); }
  Vec3 dir_to_parent(Vec3 local) const { return rot.apply_t(local); }
  Vec3 to_local(Vec3 p) const { return rot.apply(p - origin); }
};

enum class ShapeKind : uint8_t { kBox, kFrustum, kEllipsoid, kConvex };

/// A half-space n . p <= d (n unit, pointing out of the solid).
struct Plane {
  Vec3 n;
  float d = 0;
};

/// One solid. `size` is: box half extents; frustum (radius at local z = -h, radius at +h, h);
/// ellipsoid radii. Convex polytopes keep their planes and vertices in the ShapeSet's tables.
struct Shape {
  ShapeKind kind = ShapeKind::kBox;
  uint8_t material = 0;
  uint8_t part = 0;     // what the primitive depicts (scene.h Part), for tests and statistics
  uint16_t object = 0;  // index of the scene object the primitive belongs to
  Vec3 center;
  Mat3 rot;  // rows: local axes in the scene frame
  Vec3 size;
  uint32_t first_plane = 0, num_planes = 0;
  uint32_t first_vertex = 0, num_vertices = 0;
};

struct ShapeSet {
  std::vector<Shape> shapes;
  std::vector<Plane> planes;
  std::vector<Vec3> vertices;

  /// Drops everything added after the sizes recorded in `mark` (a failed placement).
  struct Mark {
    size_t shapes = 0, planes = 0, vertices = 0;
  };
  Mark mark() const { return {shapes.size(), planes.size(), vertices.size()}; }
  void rollback(const Mark& m) {
    shapes.resize(m.shapes);
    planes.resize(m.planes);
    vertices.resize(m.vertices);
  }
};

constexpr float kNoHit = std::numeric_limits<float>::infinity();

/// Appends primitives (in the set's frame). Tags are copied into the new shape.
void add_box(ShapeSet* set, Vec3 center, const Mat3& rot, Vec3 half, uint8_t material, uint8_t part,
             uint16_t object);
/// Frustum from p0 (radius r0) to p1 (radius r1); a cylinder when r0 == r1.
void add_frustum(ShapeSet* set, Vec3 p0, Vec3 p1, float r0, float r1, uint8_t material,
                 uint8_t part, uint16_t object);
void add_ellipsoid(ShapeSet* set, Vec3 center, const Mat3& rot, Vec3 radii, uint8_t material,
                   uint8_t part, uint16_t object);
/// Prism over the planar convex quadrilateral `quad` swept by `offset` (not in its plane).
void add_prism(ShapeSet* set, const Vec3 quad[4], Vec3 offset, uint8_t material, uint8_t part,
               uint16_t object);

/// Smallest t in [0, t_max) where origin + t * dir enters the shape, 0 when the origin is
/// inside, kNoHit otherwise. `dir` need not be unit (t is then in units of |dir|).
float intersect(const ShapeSet& set, const Shape& s, Vec3 origin, Vec3 dir, float t_max);
/// Outward unit normal at a surface point `p` of the shape.
Vec3 surface_normal(const ShapeSet& set, const Shape& s, Vec3 p);
/// max over the solid of dot(p, dir).
float support(const ShapeSet& set, const Shape& s, Vec3 dir);
/// A sphere that contains the solid.
void bounding_sphere(const ShapeSet& set, const Shape& s, Vec3* center, float* radius);
/// Half extents of an oriented box (the shape's own axes) that contains the solid.
Vec3 local_half_extents(const Shape& s);

/// Re-expresses every primitive in a new frame: p_new = rot.apply(p - origin).
void transform_shapes(ShapeSet* set, Vec3 origin, const Mat3& rot);

}  // namespace tarmac::sim
