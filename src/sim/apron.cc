#include "sim/apron.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/models.h"
#include "sim/random.h"

namespace tarmac::sim {

namespace {

constexpr float kPi = 3.14159265358979f;
constexpr float kDeg = kPi / 180.0f;
constexpr float kGap = 0.15f;       // bird's-eye gap kept between labelled objects (m)
constexpr float kHeadroom = 0.15f;  // room kept below aircraft surfaces (m)
constexpr float kGrid = 0.4f;       // spacing of the clearance probes under an object (m)

/// An oriented rectangle on the ground.
struct Footprint {
  float cx = 0, cy = 0, hx = 0, hy = 0, c = 1, s = 0;
};

Footprint footprint_of(const Box3d& b) {
  return {b.x, b.y, 0.5f * b.dx, 0.5f * b.dy, std::cos(b.heading), std::sin(b.heading)};
}

// Separating-axis test of two rectangles grown by `margin`.
bool overlap(const Footprint& a, const Footprint& b, float margin) {
  const float axes[4][2] = {{a.c, a.s}, {-a.s, a.c}, {b.c, b.s}, {-b.s, b.c}};
  const float dx = b.cx - a.cx, dy = b.cy - a.cy;
  for (const auto& u : axes) {
    const float ra =
        a.hx * std::fabs(u[0] * a.c + u[1] * a.s) + a.hy * std::fabs(-u[0] * a.s + u[1] * a.c);
    const float rb =
        b.hx * std::fabs(u[0] * b.c + u[1] * b.s) + b.hy * std::fabs(-u[0] * b.s + u[1] * b.c);
    if (std::fabs(dx * u[0] + dy * u[1]) > ra + rb + margin) return false;
  }
  return true;
}

struct Stand {
  bool has_aircraft = false;
  AircraftLayout a;
  Pose frame;  // aircraft frame -> apron
  float yaw = 0;
  std::vector<int> equipment;  // labelled equipment placed at this stand (people's anchors)
  struct Loader {
    float x, rear_y;  // hold station and the belt loader's rear end (aircraft frame)
  };
  std::vector<Loader> loaders;
  Vec3 at(float x, float y, float z = 0) const { return frame.to_parent({x, y, z}); }
};

class ApronBuilder {
 public:
  ApronBuilder(const SceneConfig& c, uint64_t seed, int frame)
      : cfg_(c), rng_(hash_combine(seed, static_cast<uint64_t>(frame))) {}
  Scene build();

 private:
  int count(ObjectClass c) {
    const CountRange& r = cfg_.of(c).count;
    return rng_.uniform_int(r.min, r.max);
  }
  Dims dims(ObjectClass c) { return sample_dims(rng_, cfg_.of(c)); }

  void layout_stands();
  void add_clutter();
  void equip_stand(int k);
  void add_markings();
  void place_ego();

  int build(ObjectClass cls, int k, Vec3 pos, float yaw, const Dims& d, float reach_z);
  int try_world(ObjectClass cls, int k, Vec3 pos, float yaw, const Dims& d, float reach_z);
  int try_at(ObjectClass cls, int k, float x, float y, float yaw_local, const Dims& d,
             float reach_z) {
    const Stand& s = stands_[static_cast<size_t>(k)];
    return try_world(cls, k, s.at(x, y), s.yaw + yaw_local, d, reach_z);
  }
  bool accept(int object, const Scene::Mark& mark);
  bool clear_of_aircraft(int object, const Footprint& f) const;
  float aircraft_bottom(float x, float y, float limit, const std::vector<uint32_t>& near) const;
  std::vector<uint32_t> aircraft_shapes_near(float x, float y, float radius) const;
  void add_bar(int k, Vec3 a, Vec3 b);

  bool park(ObjectClass cls, int k, const Dims& d);
  void place_docked(ObjectClass cls, int k, int n);
  void place_train(int k, const Stand::Loader* loader);
  void place_person(int k);
  void place_cones(int k, int n);
  void add_line(Vec3 a, Vec3 b, float width, uint8_t material);

  const SceneConfig& cfg_;
  Rng rng_;
  Scene scene_;
  std::vector<Stand> stands_;
  std::vector<Footprint> footprints_;  // labelled equipment, clutter, aircraft gear
  struct Bound {
    Vec3 c;
    float r;
    uint32_t shape;
  };
  std::vector<Bound> aircraft_bounds_;
  float terminal_x_ = 20, max_length_ = 0, y_min_ = 0, y_max_ = 0;
};

Scene ApronBuilder::build() {
  layout_stands();
  add_clutter();
  for (size_t k = 0; k < stands_.size(); ++k) equip_stand(static_cast<int>(k));
  if (cfg_.markings) add_markings();
  place_ego();
  return std::move(scene_);
}

void ApronBuilder::layout_stands() {
  const int n = rng_.uniform_int(cfg_.stands.min, cfg_.stands.max);
  const CountRange& ac = cfg_.of(ObjectClass::kAircraft).count;
  float left = 0, right = 0;
  for (int k = 0; k < n; ++k) {
    Stand s;
    const bool wide =
        cfg_.narrowbody && cfg_.widebody ? rng_.chance(cfg_.widebody_probability) : cfg_.widebody;
    s.a = sample_aircraft(rng_, wide, wide ? cfg_.widebody_dims : cfg_.narrowbody_dims);
    s.has_aircraft = rng_.uniform_int(ac.min, ac.max) > 0;
    // Stands are a span plus 7.5 m wingtip clearance apart (ICAO code C/E stand planning).
    const float half = s.a.semi_span + 3.75f + rng_.uniform(0.f, 1.5f);
    float y = 0;
    if (k == 0) {
      left = half;
      right = -half;
    } else if (k % 2 == 1) {
      y = left + half;
      left = y + half;
    } else {
      y = right - half;
      right = y - half;
    }
    s.yaw = rng_.uniform(-1.5f, 1.5f) * kDeg;
    s.frame.origin = {rng_.uniform(-1.0f, 1.0f), y, 0};
    s.frame.rot = frame_yaw(s.yaw);
    max_length_ = std::max(max_length_, s.a.length);
    stands_.push_back(s);
  }
  y_min_ = right;
  y_max_ = left;
  terminal_x_ = 18.0f + rng_.uniform(0.f, 5.f);
  for (size_t k = 0; k < stands_.size(); ++k) {
    const Stand& s = stands_[k];
    if (!s.has_aircraft) continue;
    const int obj = build_aircraft(&scene_, static_cast<int>(k), s.frame.origin, s.yaw, s.a);
    const SceneObject& o = scene_.objects[static_cast<size_t>(obj)];
    for (uint32_t i = o.first_shape; i < o.first_shape + o.num_shapes; ++i) {
      const Shape& sh = scene_.geometry.shapes[i];
      Bound b;
      b.shape = i;
      bounding_sphere(scene_.geometry, sh, &b.c, &b.r);
      aircraft_bounds_.push_back(b);
      if (sh.part != kPartGear && sh.part != kPartWheel) continue;
      // Keep equipment off the landing gear (thin legs could slip between clearance probes).
      const float x1 = support(scene_.geometry, sh, {1, 0, 0}),
                  x0 = -support(scene_.geometry, sh, {-1, 0, 0});
      const float y1 = support(scene_.geometry, sh, {0, 1, 0}),
                  y0 = -support(scene_.geometry, sh, {0, -1, 0});
      footprints_.push_back(
          {0.5f * (x0 + x1), 0.5f * (y0 + y1), 0.5f * (x1 - x0), 0.5f * (y1 - y0), 1, 0});
    }
  }
}

void ApronBuilder::add_clutter() {
  if (!cfg_.clutter) return;
  // Terminal facade at the head of the stands and light masts behind the tails.
  const float yc = 0.5f * (y_min_ + y_max_), half_y = 0.5f * (y_max_ - y_min_) + 40.0f;
  ObjectBuilder t(&scene_, ObjectClass::kClutter, 0, {terminal_x_ + 8.0f, yc, 0}, 0.f);
  const float h = rng_.uniform(8.f, 14.f);
  t.box({0, 0, 0.5f * h}, {8.0f, half_y, 0.5f * h}, kBuilding, kPartOther);
  t.box({-8.0f, 0, 0.55f * h}, {0.05f, half_y, 0.25f * h}, kGlass, kPartOther);
  const float mast_x = -(max_length_ + 9.0f);
  for (float y = y_min_; y <= y_max_ + 1.0f; y += 0.5f * (y_max_ - y_min_)) {
    const Vec3 p{mast_x + rng_.uniform(-1.f, 1.f), y, 0};
    ObjectBuilder m(&scene_, ObjectClass::kClutter, 0, p, 0.f);
    const float mh = rng_.uniform(18.f, 26.f);
    m.cylinder({0, 0, 0}, {0, 0, mh}, 0.25f, kSteel, kPartOther);
    m.box({0, 0, mh + 0.3f}, {0.6f, 1.2f, 0.3f}, kSteel, kPartOther);
    footprints_.push_back(footprint_of(object_box(scene_, m.index())));
  }
}

int ApronBuilder::build(ObjectClass cls, int k, Vec3 pos, float yaw, const Dims& d, float reach_z) {
  switch (cls) {
    case ObjectClass::kPushbackTug:
      return build_pushback_tug(&scene_, k, pos, yaw, d, rng_);
    case ObjectClass::kBaggageTractor:
      return build_baggage_tractor(&scene_, k, pos, yaw, d, rng_);
    case ObjectClass::kBaggageCart:
      return build_baggage_cart(&scene_, k, pos, yaw, d, rng_);
    case ObjectClass::kBeltLoader:
      return build_belt_loader(&scene_, k, pos, yaw, d, reach_z);
    case ObjectClass::kFuelTruck:
      return build_fuel_truck(&scene_, k, pos, yaw, d, rng_);
    case ObjectClass::kCateringTruck:
      return build_catering_truck(&scene_, k, pos, yaw, d, reach_z);
    case ObjectClass::kPassengerStairs:
      return build_passenger_stairs(&scene_, k, pos, yaw, d, reach_z, rng_);
    case ObjectClass::kGroundPowerUnit:
      return build_ground_power_unit(&scene_, k, pos, yaw, d);
    case ObjectClass::kPerson:
      return build_person(&scene_, k, pos, yaw, d, rng_.chance(0.4f), rng_);
    case ObjectClass::kCone:
      return build_cone(&scene_, k, pos, yaw, d);
    case ObjectClass::kAircraft:
    case ObjectClass::kClutter:
      break;
  }
  return -1;
}

int ApronBuilder::try_world(ObjectClass cls, int k, Vec3 pos, float yaw, const Dims& d,
                            float reach_z) {
  const Scene::Mark mark = scene_.mark();
  const int obj = build(cls, k, pos, yaw, d, reach_z);
  if (obj < 0 || !accept(obj, mark)) return -1;
  if (cls != ObjectClass::kCone && cls != ObjectClass::kPerson)
    stands_[static_cast<size_t>(k)].equipment.push_back(obj);
  return obj;
}

bool ApronBuilder::accept(int object, const Scene::Mark& mark) {
  const Footprint f = footprint_of(object_box(scene_, object));
  bool ok = true;
  for (const Footprint& g : footprints_) {
    if (overlap(f, g, kGap)) {
      ok = false;
      break;
    }
  }
  if (ok) ok = clear_of_aircraft(object, f);
  if (!ok) {
    scene_.rollback(mark);
    return false;
  }
  footprints_.push_back(f);
  return true;
}

std::vector<uint32_t> ApronBuilder::aircraft_shapes_near(float x, float y, float radius) const {
  std::vector<uint32_t> near;
  for (size_t i = 0; i < aircraft_bounds_.size(); ++i) {
    const Bound& b = aircraft_bounds_[i];
    const float dx = b.c.x - x, dy = b.c.y - y, r = b.r + radius;
    if (dx * dx + dy * dy <= r * r) near.push_back(static_cast<uint32_t>(i));
  }
  return near;
}

float ApronBuilder::aircraft_bottom(float x, float y, float limit,
                                    const std::vector<uint32_t>& near) const {
  float best = limit;
  for (uint32_t i : near) {
    const Bound& b = aircraft_bounds_[i];
    const float dx = b.c.x - x, dy = b.c.y - y;
    if (dx * dx + dy * dy > b.r * b.r) continue;
    const float t =
        intersect(scene_.geometry, scene_.geometry.shapes[b.shape], {x, y, 0}, {0, 0, 1}, best);
    best = std::min(best, t);
  }
  return best;
}

// Probes a grid under the object: the object's top (a ray down onto its own primitives) must
// stay below the lowest aircraft surface above the same spot (a ray up).
bool ApronBuilder::clear_of_aircraft(int object, const Footprint& f) const {
  const std::vector<uint32_t> near = aircraft_shapes_near(f.cx, f.cy, std::hypot(f.hx, f.hy));
  if (near.empty()) return true;
  const SceneObject& o = scene_.objects[static_cast<size_t>(object)];
  const int nx = std::max(2, static_cast<int>(std::ceil(2 * f.hx / kGrid)) + 1);
  const int ny = std::max(2, static_cast<int>(std::ceil(2 * f.hy / kGrid)) + 1);
  constexpr float kTop = 60.0f;
  for (int i = 0; i < nx; ++i) {
    for (int j = 0; j < ny; ++j) {
      const float u = f.hx * (2.0f * static_cast<float>(i) / static_cast<float>(nx - 1) - 1.0f);
      const float v = f.hy * (2.0f * static_cast<float>(j) / static_cast<float>(ny - 1) - 1.0f);
      const float x = f.cx + u * f.c - v * f.s, y = f.cy + u * f.s + v * f.c;
      float top = -1;
      for (uint32_t s = o.first_shape; s < o.first_shape + o.num_shapes; ++s) {
        const float t =
            intersect(scene_.geometry, scene_.geometry.shapes[s], {x, y, kTop}, {0, 0, -1}, kTop);
        if (t < kNoHit) top = std::max(top, kTop - t);
      }
      if (top < 0) continue;
      if (aircraft_bottom(x, y, top + kHeadroom, near) < top + kHeadroom) return false;
    }
  }
  return true;
}

void ApronBuilder::add_bar(int k, Vec3 a, Vec3 b) {
  const int obj = build_bar(&scene_, k, a, b, 0.05f, 0.05f);
  footprints_.push_back(footprint_of(object_box(scene_, obj)));
}

// Equipment without a service point waits in the stand's parking areas: the head-of-stand
// road, the strips between wingtips of neighbouring stands, or beside the fuselage.
bool ApronBuilder::park(ObjectClass cls, int k, const Dims& d) {
  const AircraftLayout& a = stands_[static_cast<size_t>(k)].a;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int zone = rng_.uniform_int(0, 2);
    const float side = rng_.chance(0.5f) ? 1.f : -1.f;
    float x = 0, y = 0, yaw = 0;
    if (zone == 0) {
      x = rng_.uniform(6.5f, 12.5f);
      y = rng_.uniform(-a.semi_span, a.semi_span);
      yaw = side * 0.5f * kPi;
    } else if (zone == 1) {
      x = rng_.uniform(-0.8f * a.length, -0.1f * a.length);
      y = side * (a.semi_span + rng_.uniform(1.0f, 3.5f));
      yaw = rng_.chance(0.5f) ? 0.f : kPi;
    } else {
      x = rng_.uniform(-a.length, 0.f);
      y = side * rng_.uniform(a.radius + 3.0f, a.semi_span);
      yaw = rng_.uniform(-kPi, kPi);
    }
    if (try_at(cls, k, x, y, yaw + rng_.uniform(-0.1f, 0.1f), d, 0) >= 0) return true;
  }
  return false;
}

// Stairs at the left doors, catering at the right doors, belt loaders at the right-hand
// holds, fuel trucks ahead of the wing, ground power by the nose; the rest park.
void ApronBuilder::place_docked(ObjectClass cls, int k, int n) {
  Stand& s = stands_[static_cast<size_t>(k)];
  const AircraftLayout& a = s.a;
  for (int i = 0; i < n; ++i) {
    const Dims d = dims(cls);
    bool ok = false;
    for (int attempt = 0; s.has_aircraft && i < 2 && !ok && attempt < 5; ++attempt) {
      const float step = 0.3f * static_cast<float>(attempt), L = d.length;
      float x = 0, y = 0, yaw = 0, reach = 0;
      switch (cls) {
        case ObjectClass::kPassengerStairs:
          x = (i == 0 ? a.door1_x : a.door2_x) + rng_.uniform(-0.2f, 0.2f);
          y = a.radius + 0.25f + 0.5f * L + step;
          yaw = -0.5f * kPi;
          reach = a.pax_sill_z;
          break;
        case ObjectClass::kCateringTruck:
          x = (i == 0 ? a.door2_x : a.door1_x) + rng_.uniform(-0.2f, 0.2f);
          y = -(a.radius + 0.25f + 0.5f * L + step);
          yaw = 0.5f * kPi;
          reach = a.pax_sill_z;
          break;
        case ObjectClass::kBeltLoader:
          x = (i == 0 ? a.fwd_hold_x : a.aft_hold_x) + rng_.uniform(-0.3f, 0.3f) - step;
          y = -(a.fuselage_half_width(a.hold_sill_z) + 0.2f + 0.5f * L);
          yaw = 0.5f * kPi;
          reach = a.hold_sill_z;
          break;
        case ObjectClass::kFuelTruck: {
          if (i == 1 && !a.widebody) break;  // narrow-bodies refuel from the right wing only
          const float side = i == 0 ? -1.f : 1.f, ay = rng_.uniform(0.55f, 0.72f) * a.semi_span;
          y = side * ay;
          x = a.wing_le_x(ay) + rng_.uniform(-0.5f, 1.5f) + 0.5f * L + 3.0f * step;
          break;
        }
        case ObjectClass::kGroundPowerUnit:
          if (i > 0) break;
          x = rng_.uniform(-5.0f, 0.f);
          y = -(a.radius + rng_.uniform(2.5f, 4.0f) + step);
          yaw = rng_.uniform(-0.3f, 0.3f);
          if (rng_.chance(0.5f)) yaw += kPi;
          break;
        default:
          break;
      }
      if (x == 0 && y == 0) break;
      const int obj = try_at(cls, k, x, y, yaw, d, reach);
      ok = obj >= 0;
      if (ok && cls == ObjectClass::kBeltLoader) s.loaders.push_back({x, y - 0.5f * L});
    }
    if (!ok) park(cls, k, d);
  }
}

// A tractor with its carts in a line behind it: alongside a belt loader's low end, or driving
// on the head-of-stand road.
void ApronBuilder::place_train(int k, const Stand::Loader* loader) {
  const Stand& s = stands_[static_cast<size_t>(k)];
  const Dims td = dims(ObjectClass::kBaggageTractor), cd = dims(ObjectClass::kBaggageCart);
  const int carts = count(ObjectClass::kBaggageCart);
  const float bar = rng_.uniform(1.0f, 1.4f);
  for (int attempt = 0; attempt < 5; ++attempt) {
    float x1 = 0, y1 = 0, yaw = 0;  // first cart and heading, aircraft frame
    if (loader && attempt < 3) {
      yaw = rng_.chance(0.5f) ? 0.f : kPi;
      x1 = loader->x + rng_.uniform(-1.5f, 1.5f);
      y1 = loader->rear_y - rng_.uniform(0.8f, 2.5f) - 0.5f * cd.width;
    } else {
      yaw = rng_.chance(0.5f) ? 0.5f * kPi : -0.5f * kPi;
      x1 = rng_.uniform(7.0f, 11.0f);
      y1 = rng_.uniform(-0.6f, 0.6f) * s.a.semi_span;
    }
    const float reach = 0.5f * cd.length + bar + 0.5f * td.length;
    const float tx = x1 + reach * std::cos(yaw), ty = y1 + reach * std::sin(yaw);
    if (try_at(ObjectClass::kBaggageTractor, k, tx, ty, yaw, td, 0) < 0) continue;
    float px = tx, py = ty, plen = td.length, pyaw = yaw;
    for (int c = 0; c < carts; ++c) {
      const float cyaw = yaw + rng_.uniform(-0.05f, 0.05f);
      const float rx = px - 0.5f * plen * std::cos(pyaw), ry = py - 0.5f * plen * std::sin(pyaw);
      const float cx = rx - (bar + 0.5f * cd.length) * std::cos(cyaw);
      const float cy = ry - (bar + 0.5f * cd.length) * std::sin(cyaw);
      if (try_at(ObjectClass::kBaggageCart, k, cx, cy, cyaw, cd, 0) < 0) break;
      const float fx = cx + 0.5f * cd.length * std::cos(cyaw);
      const float fy = cy + 0.5f * cd.length * std::sin(cyaw);
      add_bar(k, s.at(rx, ry, 0.4f), s.at(fx, fy, 0.4f));
      px = cx;
      py = cy;
      plen = cd.length;
      pyaw = cyaw;
    }
    return;
  }
}

// People work next to equipment (or at the aircraft when there is none).
void ApronBuilder::place_person(int k) {
  const Stand& s = stands_[static_cast<size_t>(k)];
  for (int attempt = 0; attempt < 8; ++attempt) {
    Vec3 p;
    if (!s.equipment.empty() && (!s.has_aircraft || rng_.chance(0.85f))) {
      const int obj = s.equipment[static_cast<size_t>(
          rng_.uniform_int(0, static_cast<int>(s.equipment.size()) - 1))];
      const Box3d b = object_box(scene_, obj);
      const float along = rng_.uniform(-1.f, 1.f), gap = rng_.uniform(0.4f, 2.0f);
      float u = 0, v = 0;
      switch (rng_.uniform_int(0, 3)) {
        case 0:
          u = 0.5f * b.dx + gap, v = along * 0.5f * b.dy;
          break;
        case 1:
          u = -0.5f * b.dx - gap, v = along * 0.5f * b.dy;
          break;
        case 2:
          u = along * 0.5f * b.dx, v = 0.5f * b.dy + gap;
          break;
        default:
          u = along * 0.5f * b.dx, v = -0.5f * b.dy - gap;
          break;
      }
      const float c = std::cos(b.heading), sn = std::sin(b.heading);
      p = {b.x + u * c - v * sn, b.y + u * sn + v * c, 0};
    } else {
      const float side = rng_.chance(0.5f) ? 1.f : -1.f;
      const float x = rng_.uniform(-s.a.length, 2.0f);
      p = s.at(x, side * (s.a.radius + rng_.uniform(1.0f, 6.0f)));
    }
    const float yaw = rng_.uniform(-kPi, kPi);
    if (try_world(ObjectClass::kPerson, k, p, yaw, dims(ObjectClass::kPerson), 0) >= 0) return;
  }
}

// Cones in front of the engines, at the wingtips, behind the tail and ahead of the nose.
void ApronBuilder::place_cones(int k, int n) {
  const Stand& s = stands_[static_cast<size_t>(k)];
  const AircraftLayout& a = s.a;
  std::vector<std::pair<float, float>> spots;
  if (s.has_aircraft) {
    for (float side : {-1.f, 1.f})
      spots.push_back({a.engine_front_x + rng_.uniform(0.8f, 2.0f),
                       side * a.engine_y + rng_.uniform(-0.6f, 0.6f)});
    for (float side : {-1.f, 1.f})
      spots.push_back(
          {a.wing_le_x(a.semi_span) - 0.5f * a.wing_chord(a.semi_span) + rng_.uniform(-1.f, 1.f),
           side * (a.semi_span + rng_.uniform(0.4f, 1.5f))});
    spots.push_back({-a.length - rng_.uniform(0.8f, 2.0f), rng_.uniform(-1.f, 1.f)});
    spots.push_back({rng_.uniform(1.0f, 2.5f), rng_.uniform(-1.5f, 1.5f)});
  }
  for (int i = 0; i < n; ++i) {
    const Dims d = dims(ObjectClass::kCone);
    for (int attempt = 0; attempt < 4; ++attempt) {
      float x, y;
      if (static_cast<size_t>(i) < spots.size()) {
        x = spots[static_cast<size_t>(i)].first + 0.5f * static_cast<float>(attempt);
        y = spots[static_cast<size_t>(i)].second;
      } else {
        x = rng_.uniform(-a.length, 5.0f);
        y = rng_.uniform(-1.1f, 1.1f) * a.semi_span;
      }
      if (try_at(ObjectClass::kCone, k, x, y, rng_.uniform(-kPi, kPi), d, 0) >= 0) break;
    }
  }
}

void ApronBuilder::equip_stand(int k) {
  Stand& s = stands_[static_cast<size_t>(k)];
  const AircraftLayout& a = s.a;
  const int tugs = count(ObjectClass::kPushbackTug);
  for (int i = 0; i < tugs; ++i) {
    const Dims d = dims(ObjectClass::kPushbackTug);
    bool ok = false;
    if (i == 0 && s.has_aircraft) {
      // Tow bar from the nose gear to the tug, which faces the aircraft.
      const float bar = rng_.uniform(3.8f, 5.2f);
      for (int attempt = 0; attempt < 5 && !ok; ++attempt) {
        const float x = a.nose_gear_x + bar + 0.5f * d.length + 0.7f * static_cast<float>(attempt);
        const float y = rng_.uniform(-0.3f, 0.3f);
        const float yaw = kPi + rng_.uniform(-0.05f, 0.05f);
        ok = try_at(ObjectClass::kPushbackTug, k, x, y, yaw, d, 0) >= 0;
        if (ok)
          add_bar(k, s.at(a.nose_gear_x + 0.3f, 0, 0.45f), s.at(x - 0.5f * d.length, 0, 0.45f));
      }
    }
    if (!ok) park(ObjectClass::kPushbackTug, k, d);
  }
  for (ObjectClass c :
       {ObjectClass::kPassengerStairs, ObjectClass::kCateringTruck, ObjectClass::kBeltLoader,
        ObjectClass::kFuelTruck, ObjectClass::kGroundPowerUnit})
    place_docked(c, k, count(c));
  const int trains = count(ObjectClass::kBaggageTractor);
  for (int i = 0; i < trains; ++i)
    place_train(k, static_cast<size_t>(i) < s.loaders.size() ? &s.loaders[static_cast<size_t>(i)]
                                                             : nullptr);
  const int people = count(ObjectClass::kPerson);
  for (int i = 0; i < people; ++i) place_person(k);
  place_cones(k, count(ObjectClass::kCone));
}

void ApronBuilder::add_line(Vec3 a, Vec3 b, float width, uint8_t material) {
  Marking m;
  const float dx = b.x - a.x, dy = b.y - a.y, len = std::hypot(dx, dy);
  m.cx = 0.5f * (a.x + b.x);
  m.cy = 0.5f * (a.y + b.y);
  m.cos_t = dx / len;
  m.sin_t = dy / len;
  m.half_length = 0.5f * len;
  m.half_width = 0.5f * width;
  m.material = material;
  scene_.markings.push_back(m);
}

// Stand lead-in line and nose-gear stop bars (yellow), the equipment restraint line around
// the aircraft (red), the taxilane centreline behind the stands and the head-of-stand
// service road edges and centre dashes (white).
void ApronBuilder::add_markings() {
  for (const Stand& s : stands_) {
    const AircraftLayout& a = s.a;
    add_line(s.at(-(a.length + 18.0f), 0), s.at(2.0f, 0), 0.15f, kMarkingYellow);
    for (float dx : {0.f, -3.0f})
      add_line(s.at(a.nose_gear_x + dx, -1.25f), s.at(a.nose_gear_x + dx, 1.25f), 0.3f,
               kMarkingYellow);
    const float x0 = -(a.length + 4.0f), x1 = 5.0f, y0 = a.semi_span + 3.0f;
    add_line(s.at(x0, -y0), s.at(x1, -y0), 0.15f, kMarkingRed);
    add_line(s.at(x0, y0), s.at(x1, y0), 0.15f, kMarkingRed);
    add_line(s.at(x0, -y0), s.at(x0, y0), 0.15f, kMarkingRed);
  }
  const float y0 = y_min_ - 20.0f, y1 = y_max_ + 20.0f, tx = -(max_length_ + 22.0f);
  add_line({tx, y0, 0}, {tx, y1, 0}, 0.15f, kMarkingYellow);
  add_line({5.5f, y0, 0}, {5.5f, y1, 0}, 0.15f, kMarkingWhite);
  add_line({13.5f, y0, 0}, {13.5f, y1, 0}, 0.15f, kMarkingWhite);
  for (float y = y0; y < y1; y += 6.0f)
    add_line({9.5f, y, 0}, {9.5f, y + 3.0f, 0}, 0.12f, kMarkingWhite);
}

// The ego vehicle (a tractor or tug carrying the sensor) somewhere around the first stand,
// clear of equipment and with room under any aircraft part above it.
void ApronBuilder::place_ego() {
  const Stand& s = stands_[0];
  const Vec3 centre = s.at(-0.5f * s.a.length, 0);
  const float h = rng_.uniform(cfg_.sensor_height.min, cfg_.sensor_height.max);
  for (int attempt = 0; attempt < 60; ++attempt) {
    const float d = rng_.uniform(cfg_.ego_distance.min, cfg_.ego_distance.max);
    const float bearing = rng_.uniform(-kPi, kPi);
    const Vec3 p{centre.x + d * std::cos(bearing), centre.y + d * std::sin(bearing), 0};
    const float yaw = std::atan2(centre.y - p.y, centre.x - p.x) + rng_.uniform(-1.0f, 1.0f);
    if (p.x > terminal_x_ - 4.0f) continue;
    const Footprint ego{p.x, p.y, 1.6f, 1.0f, std::cos(yaw), std::sin(yaw)};
    bool ok = true;
    for (const Footprint& f : footprints_) ok = ok && !overlap(ego, f, 1.5f);
    const std::vector<uint32_t> near = aircraft_shapes_near(p.x, p.y, 2.0f);
    for (int i = -1; ok && i <= 1; ++i)
      for (int j = -1; ok && j <= 1; ++j) {
        const float x =
            p.x + 1.6f * static_cast<float>(i) * ego.c - 1.0f * static_cast<float>(j) * ego.s;
        const float y =
            p.y + 1.6f * static_cast<float>(i) * ego.s + 1.0f * static_cast<float>(j) * ego.c;
        ok = aircraft_bottom(x, y, h + 0.4f, near) >= h + 0.4f;
      }
    if (!ok) continue;
    scene_.sensor_position = {p.x, p.y, h};
    scene_.sensor_yaw = wrap_angle(yaw);
    return;
  }
  // Fallback: on the head-of-stand road, looking along it.
  const Vec3 p = s.at(9.5f, rng_.uniform(-3.f, 3.f));
  scene_.sensor_position = {p.x, p.y, h};
  scene_.sensor_yaw = wrap_angle(s.yaw + 0.5f * kPi);
}

}  // namespace

Scene generate_scene(const SceneConfig& config, uint64_t seed, int frame) {
  return ApronBuilder(config, seed, frame).build();
}

}  // namespace tarmac::sim
