// An airside scene: the labelled classes, surface materials, the objects (each a run of
// primitives in one ShapeSet), painted ground markings and the sensor pose; plus the builder
// that places an object's primitives from its own frame and the tight label boxes.
//   ObjectBuilder b(&scene, ObjectClass::kCone, 0, {3, 1, 0}, 0.f);
//   b.frustum({0, 0, 0}, {0, 0, 0.7f}, 0.16f, 0.03f, kConeBody, kPartBody);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "perception/box3d.h"
#include "sim/geometry.h"

namespace tarmac::sim {

/// The labelled classes in dataset order; kClutter objects occlude but carry no label.
enum class ObjectClass : uint8_t {
  kAircraft,
  kPushbackTug,
  kBaggageTractor,
  kBaggageCart,
  kBeltLoader,
  kFuelTruck,
  kCateringTruck,
  kPassengerStairs,
  kGroundPowerUnit,
  kPerson,
  kCone,
  kClutter,
};
constexpr int kNumClasses = 11;

const char* class_name(ObjectClass c);
/// The 11 labelled class names, in the order of ObjectClass.
const std::vector<std::string>& class_names();
std::optional<ObjectClass> class_from_name(std::string_view name);

/// Surface materials; the intensity model reads reflectivity and retro-reflection from these.
enum Material : uint8_t {
  kConcrete,
  kMarkingYellow,
  kMarkingWhite,
  kMarkingRed,
  kAircraftPaint,
  kAircraftMetal,
  kTyre,
  kGsePaint,
  kGseDark,
  kGlass,
  kClothing,
  kSkin,
  kVestBand,
  kConeBody,
  kConeBand,
  kSteel,
  kBuilding,
  kNumMaterials,
};

struct MaterialInfo {
  float reflectivity;  // diffuse reflectivity at the sensor's wavelength, [0, 1]
  bool retro;          // retro-reflective: bright at any incidence angle
};
const MaterialInfo& material_info(uint8_t material);

/// What a primitive depicts.
enum Part : uint8_t {
  kPartBody,
  kPartFuselage,
  kPartWing,
  kPartEngine,
  kPartTail,
  kPartGear,
  kPartWheel,
  kPartVest,
  kPartOther,
};

struct SceneObject {
  ObjectClass cls = ObjectClass::kClutter;
  int stand = 0;
  Vec3 position;  // ground point under the object's origin
  float yaw = 0;  // heading of the object's +x axis about +z
  uint32_t first_shape = 0, num_shapes = 0;
  bool labelled() const { return cls != ObjectClass::kClutter; }
};

/// A painted stripe on the ground: an oriented rectangle.
struct Marking {
  float cx = 0, cy = 0;
  float cos_t = 1, sin_t = 0;
  float half_length = 0, half_width = 0;
  uint8_t material = kMarkingYellow;
};

struct Scene {
  ShapeSet geometry;
  std::vector<SceneObject> objects;
  std::vector<Marking> markings;
  /// Sensor origin (x, y on the apron, z = mounting height) and yaw in the apron frame.
  Vec3 sensor_position;
  float sensor_yaw = 0;
  /// Height of the ground below the frame's origin: 0 in the apron frame, -mount height in the
  /// sensor frame.
  float ground_z = 0;

  struct Mark {
    ShapeSet::Mark geometry;
    size_t objects = 0;
  };
  Mark mark() const { return {geometry.mark(), objects.size()}; }
  void rollback(const Mark& m) {
    geometry.rollback(m.geometry);
    objects.resize(m.objects);
  }
};

/// Appends one object and lays its primitives out in the object's frame (x forward, y left,
/// z up from the ground point `position`).
class ObjectBuilder {
 public:
  ObjectBuilder(Scene* scene, ObjectClass cls, int stand, Vec3 position, float yaw);

  int index() const { return index_; }
  void box(Vec3 center, Vec3 half, uint8_t material, uint8_t part, float yaw = 0, float pitch = 0);
  void frustum(Vec3 p0, Vec3 p1, float r0, float r1, uint8_t material, uint8_t part);
  void cylinder(Vec3 p0, Vec3 p1, float r, uint8_t material, uint8_t part) {
    frustum(p0, p1, r, r, material, part);
  }
  void ellipsoid(Vec3 center, Vec3 radii, uint8_t material, uint8_t part, float yaw = 0,
                 float pitch = 0);
  void prism(const Vec3 quad[4], Vec3 offset, uint8_t material, uint8_t part);
  /// A wheel whose axle runs along the object's y axis, touching the ground.
  void wheel(float x, float y, float radius, float width);

 private:
  void finish_shape();
  Vec3 to_scene(Vec3 local) const { return pose_.to_parent(local); }

  Scene* scene_;
  int index_;
  Pose pose_;
};

/// The tight oriented box around an object's primitives in the scene's current frame, with
/// the object's heading.
Box3d object_box(const Scene& scene, int object);

/// Moves the whole scene into the sensor frame (x forward, y left, z up at the sensor origin).
void to_sensor_frame(Scene* scene);

/// A labelled object's box and class, and the lidar returns on its own surfaces.
struct Label {
  Box3d box;
  ObjectClass cls = ObjectClass::kClutter;
  int object = 0;
  int num_points = 0;
};
std::vector<Label> scene_labels(const Scene& scene);

/// Angle wrapped into [-pi, pi).
float wrap_angle(float a);

}  // namespace tarmac::sim
