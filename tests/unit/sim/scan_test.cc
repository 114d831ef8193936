// Generated frames: point counts, labels against points, boxes not overlapping, aircraft built
// from several parts, and the intensity of markings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "sim/airside.h"
#include "sim/apron.h"

namespace tarmac::sim {
namespace {

const SensorModel& sensor(const char* name) {
  static std::map<std::string, SensorModel> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, *sensor_model(name)).first;
  return it->second;
}

// Default scene, HDL-64, seed 11: the first frames, generated once for all tests here.
const std::vector<Frame>& hdl64_frames() {
  static const std::vector<Frame> frames = [] {
    std::vector<Frame> f;
    Raycaster caster;
    for (int i = 0; i < 4; ++i)
      f.push_back(simulate_frame(default_scene_config(), sensor("hdl64"), 11, i, &caster));
    return f;
  }();
  return frames;
}

bool inside(const Box3d& b, const float* p, float margin) {
  const float dx = p[0] - b.x, dy = p[1] - b.y;
  const float c = std::cos(b.heading), s = std::sin(b.heading);
  const float u = dx * c + dy * s, v = -dx * s + dy * c;
  return std::fabs(u) <= 0.5f * b.dx + margin && std::fabs(v) <= 0.5f * b.dy + margin &&
         std::fabs(p[2] - b.z) <= 0.5f * b.dz + margin;
}

using Poly = std::vector<std::pair<float, float>>;

Poly bev_corners(const Box3d& b) {
  const float c = std::cos(b.heading), s = std::sin(b.heading);
  Poly p;
  for (auto [u, v] : {std::pair{1.f, 1.f}, {-1.f, 1.f}, {-1.f, -1.f}, {1.f, -1.f}}) {
    const float x = 0.5f * b.dx * u, y = 0.5f * b.dy * v;
    p.push_back({b.x + x * c - y * s, b.y + x * s + y * c});
  }
  return p;
}

// Area of the intersection of two convex counter-clockwise polygons (Sutherland-Hodgman).
float intersection_area(Poly subject, const Poly& clip) {
  for (size_t i = 0; i < clip.size() && !subject.empty(); ++i) {
    const auto a = clip[i], b = clip[(i + 1) % clip.size()];
    auto side = [&](std::pair<float, float> p) {
      return (b.first - a.first) * (p.second - a.second) -
             (b.second - a.second) * (p.first - a.first);
    };
    Poly out;
    for (size_t j = 0; j < subject.size(); ++j) {
      const auto p = subject[j], q = subject[(j + 1) % subject.size()];
      const float sp = side(p), sq = side(q);
      if (sp >= 0) out.push_back(p);
      if ((sp >= 0) != (sq >= 0)) {
        const float t = sp / (sp - sq);
        out.push_back({p.first + t * (q.first - p.first), p.second + t * (q.second - p.second)});
      }
    }
    subject = out;
  }
  float area = 0;
  for (size_t j = 0; j < subject.size(); ++j) {
    const auto p = subject[j], q = subject[(j + 1) % subject.size()];
    area += p.first * q.second - q.first * p.second;
  }
  return 0.5f * std::fabs(area);
}

TEST(SimScan, Hdl64PointCountIsPlausible) {
  for (const Frame& f : hdl64_frames()) {
    // An open apron seen by a 64-beam sensor: tens of thousands of returns, never more rays
    // than one revolution has.
    EXPECT_GT(f.scan.size(), 20000u);
    EXPECT_LT(f.scan.size(), 64u * 2083u);
    ASSERT_EQ(f.scan.xyzi.size(), 4 * f.scan.size());
    for (size_t i = 0; i < f.scan.size(); ++i) {
      const float* p = &f.scan.xyzi[4 * i];
      const float r = std::sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
      ASSERT_GE(r, 0.9f);
      ASSERT_LE(r, 120.0f);
      ASSERT_GE(p[3], 0.0f);
      ASSERT_LE(p[3], 1.0f);
    }
  }
}

TEST(SimScan, ObjectPointsLieInTheirBoxes) {
  for (const Frame& f : hdl64_frames()) {
    std::map<int, const Label*> by_object;
    for (const Label& l : f.labels) by_object[l.object] = &l;
    for (size_t i = 0; i < f.scan.size(); ++i) {
      if (f.scan.shape[i] < 0) continue;
      const int obj = f.scene.geometry.shapes[static_cast<size_t>(f.scan.shape[i])].object;
      auto it = by_object.find(obj);
      if (it == by_object.end()) continue;  // unlabelled clutter
      // Range noise moves points off the surfaces by a few centimetres at most.
      EXPECT_TRUE(inside(it->second->box, &f.scan.xyzi[4 * i], 0.12f))
          << class_name(it->second->cls) << " point " << i;
    }
    for (const Label& l : f.labels) {
      int geometric = 0;
      for (size_t i = 0; i < f.scan.size(); ++i)
        geometric += inside(l.box, &f.scan.xyzi[4 * i], 0.12f);
      EXPECT_GE(geometric, l.num_points) << class_name(l.cls);
    }
  }
}

TEST(SimScan, EveryFrameSeesItsAircraftAndEquipment) {
  for (const Frame& f : hdl64_frames()) {
    int aircraft_points = 0, seen = 0, near = 0;
    for (const Label& l : f.labels) {
      if (l.cls == ObjectClass::kAircraft &&
          f.scene.objects[static_cast<size_t>(l.object)].stand == 0)
        aircraft_points = l.num_points;
      if (l.cls == ObjectClass::kAircraft || std::hypot(l.box.x, l.box.y) > 25.0f) continue;
      near++;
      seen += l.num_points > 0;
    }
    EXPECT_GT(aircraft_points, 500);
    // Within 25 m most objects show up; some hide behind others.
    EXPECT_GE(2 * seen, near);
  }
}

TEST(SimScan, LabelledBoxesDoNotOverlapInBirdsEyeView) {
  for (const Frame& f : hdl64_frames()) {
    for (size_t i = 0; i < f.labels.size(); ++i) {
      for (size_t j = i + 1; j < f.labels.size(); ++j) {
        const Label &a = f.labels[i], &b = f.labels[j];
        // Aircraft boxes contain the equipment serving them; aircraft never overlap each other.
        if ((a.cls == ObjectClass::kAircraft) != (b.cls == ObjectClass::kAircraft)) continue;
        EXPECT_LT(intersection_area(bev_corners(a.box), bev_corners(b.box)), 0.01f)
            << class_name(a.cls) << " / " << class_name(b.cls);
      }
    }
  }
}

TEST(SimScan, BoxesStandOnTheGround) {
  for (const Frame& f : hdl64_frames()) {
    for (const Label& l : f.labels) {
      const float bottom = l.box.z - 0.5f * l.box.dz;
      EXPECT_NEAR(bottom, f.scene.ground_z, 0.05f) << class_name(l.cls);
      EXPECT_GT(l.box.dx, 0.1f);
      EXPECT_GT(l.box.dy, 0.1f);
      EXPECT_GE(l.box.heading, -3.1416f);
      EXPECT_LT(l.box.heading, 3.1416f);
    }
    EXPECT_LE(f.scene.ground_z, -1.8f);
    EXPECT_GE(f.scene.ground_z, -3.0f);
  }
}

TEST(SimScan, AircraftAreBuiltFromSeveralParts) {
  // An upward-looking sensor sees wings, engines, tail and gear of the aircraft nearby.
  SceneConfig c = default_scene_config();
  c.ego_distance = {20.0f, 35.0f};
  std::map<int, int> parts;
  Raycaster caster;
  for (int i = 0; i < 4; ++i) {
    const Frame f = simulate_frame(c, sensor("os128"), 5, i, &caster);
    const SceneObject& ego_aircraft = f.scene.objects[0];
    ASSERT_EQ(ego_aircraft.cls, ObjectClass::kAircraft);
    EXPECT_GE(ego_aircraft.num_shapes, 15u);
    for (int32_t s : f.scan.shape) {
      if (s < 0) continue;
      const Shape& sh = f.scene.geometry.shapes[static_cast<size_t>(s)];
      if (f.scene.objects[sh.object].cls == ObjectClass::kAircraft) parts[sh.part]++;
    }
  }
  EXPECT_GT(parts[kPartFuselage], 1000);
  EXPECT_GT(parts[kPartWing], 100);
  EXPECT_GT(parts[kPartEngine], 100);
  EXPECT_GT(parts[kPartTail], 20);
  EXPECT_GT(parts[kPartGear] + parts[kPartWheel], 20);
}

TEST(SimScan, MarkingsAndVestsAreBrighterThanPlainSurfaces) {
  double ground = 0, marking = 0, vest = 0, clothes = 0;
  int ng = 0, nm = 0, nv = 0, nc = 0;
  for (const Frame& f : hdl64_frames()) {
    for (size_t i = 0; i < f.scan.size(); ++i) {
      const float intensity = f.scan.xyzi[4 * i + 3];
      switch (f.scan.material[i]) {
        case kConcrete:
          ground += intensity, ng++;
          break;
        case kMarkingYellow:
        case kMarkingWhite:
        case kMarkingRed:
          marking += intensity, nm++;
          break;
        case kVestBand:
          vest += intensity, nv++;
          break;
        case kClothing:
          clothes += intensity, nc++;
          break;
        default:
          break;
      }
    }
  }
  ASSERT_GT(ng, 1000);
  ASSERT_GT(nm, 50);
  EXPECT_GT(marking / nm, 2.0 * ground / ng);
  if (nv > 0 && nc > 0) {
    EXPECT_GT(vest / nv, 2.0 * clothes / nc);
  }
  // The model itself: retro-reflectors stay bright at grazing incidence, diffuse paint does not.
  EXPECT_GT(return_intensity(material_info(kMarkingWhite), 0.05f, 20.0f),
            3 * return_intensity(material_info(kConcrete), 0.05f, 20.0f));
  EXPECT_GT(return_intensity(material_info(kConcrete), 1.0f, 10.0f),
            return_intensity(material_info(kConcrete), 0.1f, 10.0f));
  EXPECT_GT(return_intensity(material_info(kConcrete), 1.0f, 10.0f),
            return_intensity(material_info(kConcrete), 1.0f, 60.0f));
}

TEST(SimScan, SceneGenerationIsDeterministic) {
  const SceneConfig c = default_scene_config();
  const Scene a = generate_scene(c, 3, 1), b = generate_scene(c, 3, 1), d = generate_scene(c, 4, 1);
  ASSERT_EQ(a.geometry.shapes.size(), b.geometry.shapes.size());
  for (size_t i = 0; i < a.geometry.shapes.size(); ++i) {
    EXPECT_EQ(a.geometry.shapes[i].center.x, b.geometry.shapes[i].center.x);
    EXPECT_EQ(a.geometry.shapes[i].size.y, b.geometry.shapes[i].size.y);
  }
  EXPECT_EQ(a.sensor_position.x, b.sensor_position.x);
  EXPECT_NE(a.sensor_position.x, d.sensor_position.x);
}

}  // namespace
}  // namespace tarmac::sim
