#include "sim/scene.h"

#include <array>
#include <cmath>

namespace tarmac::sim {

namespace {

constexpr float kPi = 3.14159265358979f;

constexpr std::array<const char*, kNumClasses> kClassNames = {
    "Aircraft",      "PushbackTug",     "BaggageTractor",  "BaggageCart", "BeltLoader", "FuelTruck",
    "CateringTruck", "PassengerStairs", "GroundPowerUnit", "Person",      "Cone"};

// Reflectivities near 900 nm, rounded: concrete is light grey; white aircraft paint is bright;
// tyres and dark plastics are dark; road paint with glass beads, safety-vest tape and cone
// collars are retro-reflective and return most of the light whatever the incidence.
constexpr std::array<MaterialInfo, kNumMaterials> kMaterials = {{
    {0.30f, false},  // kConcrete
    {0.55f, true},   // kMarkingYellow
    {0.60f, true},   // kMarkingWhite
    {0.45f, true},   // kMarkingRed
    {0.70f, false},  // kAircraftPaint
    {0.45f, false},  // kAircraftMetal
    {0.05f, false},  // kTyre
    {0.50f, false},  // kGsePaint
    {0.15f, false},  // kGseDark
    {0.10f, false},  // kGlass
    {0.25f, false},  // kClothing
    {0.35f, false},  // kSkin
    {0.95f, true},   // kVestBand
    {0.45f, false},  // kConeBody
    {0.90f, true},   // kConeBand
    {0.35f, false},  // kSteel
    {0.40f, false},  // kBuilding
}};

}  // namespace

const char* class_name(ObjectClass c) {
  const int i = static_cast<int>(c);
  return i < kNumClasses ? kClassNames[static_cast<size_t>(i)] : "Clutter";
}

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names(kClassNames.begin(), kClassNames.end());
  return names;
}

std::optional<ObjectClass> class_from_name(std::string_view name) {
  for (int i = 0; i < kNumClasses; ++i)
    if (name == kClassNames[static_cast<size_t>(i)]) return static_cast<ObjectClass>(i);
  return std::nullopt;
}

const MaterialInfo& material_info(uint8_t material) {
  return kMaterials[material < kNumMaterials ? material : 0];
}

float wrap_angle(float a) {
  a = std::fmod(a + kPi, 2 * kPi);
  if (a < 0) a += 2 * kPi;
  return a - kPi;
}

ObjectBuilder::ObjectBuilder(Scene* scene, ObjectClass cls, int stand, Vec3 position, float yaw)
    : scene_(scene), index_(static_cast<int>(scene->objects.size())) {
  SceneObject o;
  o.cls = cls;
  o.stand = stand;
  o.position = position;
  o.yaw = yaw;
  o.first_shape = static_cast<uint32_t>(scene->geometry.shapes.size());
  scene->objects.push_back(o);
  pose_.origin = position;
  pose_.rot = frame_yaw(yaw);
}

void ObjectBuilder::finish_shape() { scene_->objects[static_cast<size_t>(index_)].num_shapes++; }

void ObjectBuilder::box(Vec3 center, Vec3 half, uint8_t material, uint8_t part, float yaw,
                        float pitch) {
  add_box(&scene_->geometry, to_scene(center), compose(pose_.rot, frame_yaw_pitch(yaw, pitch)),
          half, material, part, static_cast<uint16_t>(index_));
  finish_shape();
}

void ObjectBuilder::frustum(Vec3 p0, Vec3 p1, float r0, float r1, uint8_t material, uint8_t part) {
  add_frustum(&scene_->geometry, to_scene(p0), to_scene(p1), r0, r1, material, part,
              static_cast<uint16_t>(index_));
  finish_shape();
}

void ObjectBuilder::ellipsoid(Vec3 center, Vec3 radii, uint8_t material, uint8_t part, float yaw,
                              float pitch) {
  add_ellipsoid(&scene_->geometry, to_scene(center),
                compose(pose_.rot, frame_yaw_pitch(yaw, pitch)), radii, material, part,
                static_cast<uint16_t>(index_));
  finish_shape();
}

void ObjectBuilder::prism(const Vec3 quad[4], Vec3 offset, uint8_t material, uint8_t part) {
  Vec3 q[4];
  for (int i = 0; i < 4; ++i) q[i] = to_scene(quad[i]);
  add_prism(&scene_->geometry, q, pose_.dir_to_parent(offset), material, part,
            static_cast<uint16_t>(index_));
  finish_shape();
}

void ObjectBuilder::wheel(float x, float y, float radius, float width) {
  cylinder({x, y - 0.5f * width, radius}, {x, y + 0.5f * width, radius}, radius, kTyre, kPartWheel);
}

Box3d object_box(const Scene& scene, int object) {
  const SceneObject& o = scene.objects[static_cast<size_t>(object)];
  const float c = std::cos(o.yaw), s = std::sin(o.yaw);
  const Vec3 axes[3] = {{c, s, 0}, {-s, c, 0}, {0, 0, 1}};
  float lo[3], hi[3];
  for (int a = 0; a < 3; ++a) {
    lo[a] = kNoHit;
    hi[a] = -kNoHit;
  }
  for (uint32_t i = 0; i < o.num_shapes; ++i) {
    const Shape& sh = scene.geometry.shapes[o.first_shape + i];
    for (int a = 0; a < 3; ++a) {
      hi[a] = std::max(hi[a], support(scene.geometry, sh, axes[a]));
      lo[a] = std::min(lo[a], -support(scene.geometry, sh, -axes[a]));
    }
  }
  const float cu = 0.5f * (lo[0] + hi[0]), cv = 0.5f * (lo[1] + hi[1]);
  Box3d b;
  b.x = cu * c - cv * s;
  b.y = cu * s + cv * c;
  b.z = 0.5f * (lo[2] + hi[2]);
  b.dx = hi[0] - lo[0];
  b.dy = hi[1] - lo[1];
  b.dz = hi[2] - lo[2];
  b.heading = wrap_angle(o.yaw);
  return b;
}

void to_sensor_frame(Scene* scene) {
  const Vec3 origin = scene->sensor_position;
  const Mat3 rot = frame_yaw(scene->sensor_yaw);
  transform_shapes(&scene->geometry, origin, rot);
  for (SceneObject& o : scene->objects) {
    o.position = rot.apply(o.position - origin);
    o.yaw = wrap_angle(o.yaw - scene->sensor_yaw);
  }
  const float c = std::cos(scene->sensor_yaw), s = std::sin(scene->sensor_yaw);
  for (Marking& m : scene->markings) {
    const float dx = m.cx - origin.x, dy = m.cy - origin.y;
    m.cx = c * dx + s * dy;
    m.cy = -s * dx + c * dy;
    const float ct = m.cos_t * c + m.sin_t * s, st = m.sin_t * c - m.cos_t * s;
    m.cos_t = ct;
    m.sin_t = st;
  }
  scene->ground_z -= origin.z;
  scene->sensor_position = {0, 0, 0};
  scene->sensor_yaw = 0;
}

std::vector<Label> scene_labels(const Scene& scene) {
  std::vector<Label> labels;
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    if (!scene.objects[i].labelled() || scene.objects[i].num_shapes == 0) continue;
    Label l;
    l.box = object_box(scene, static_cast<int>(i));
    l.cls = scene.objects[i].cls;
    l.object = static_cast<int>(i);
    labels.push_back(l);
  }
  return labels;
}

}  // namespace tarmac::sim
