// Ground support equipment, people and cones as a few primitives each. Every model stays
// inside its drawn length x width x height except where the equipment reaches up to a door
// (belt, lifted catering body, stair platform), so the label box follows the drawn size.
#include <algorithm>
#include <cmath>

#include "sim/models.h"

namespace tarmac::sim {

namespace {
constexpr float kDeg = 3.14159265358979f / 180.0f;

// Four wheels inset from the corners of an L x W footprint.
void four_wheels(ObjectBuilder& b, float front_x, float rear_x, float half_track, float radius,
                 float width) {
  for (float x : {front_x, rear_x})
    for (float s : {-1.f, 1.f}) b.wheel(x, s * half_track, radius, width);
}

// A box between two points in the object's x-z plane (pitched), `half_w` wide, `half_t` thick.
void slab(ObjectBuilder& b, Vec3 p0, Vec3 p1, float half_w, float half_t, uint8_t material) {
  const float dx = p1.x - p0.x, dz = p1.z - p0.z;
  const float len = std::sqrt(dx * dx + dz * dz);
  b.box((p0 + p1) * 0.5f, {0.5f * len, half_w, half_t}, material, kPartBody, 0.f,
        std::atan2(dz, dx));
}
}  // namespace

Dims sample_dims(Rng& rng, const ClassConfig& c) {
  Dims d;
  d.length = rng.uniform(c.length.min, c.length.max);
  d.width = rng.uniform(c.width.min, c.width.max);
  d.height = rng.uniform(c.height.min, c.height.max);
  return d;
}

int build_pushback_tug(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kPushbackTug, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  const float rw = std::clamp(0.08f * L, 0.38f, 0.6f), ww = 0.35f;
  const float body_top = std::min(1.15f, H - 0.35f);
  b.box({0, 0, 0.5f * (0.25f + body_top)}, {0.5f * L, 0.5f * W - 0.02f, 0.5f * (body_top - 0.25f)},
        kGsePaint, kPartBody);
  four_wheels(b, 0.5f * L - rw - 0.3f, -0.5f * L + rw + 0.3f, 0.5f * W - 0.5f * ww - 0.04f, rw, ww);
  // Raised cab on one side: painted lower half, glazed upper half.
  const float side = rng.chance(0.5f) ? 1.f : -1.f, cab_mid = 0.5f * (body_top + H);
  const Vec3 cab_c{-0.1f * L, side * 0.25f * W, 0};
  b.box({cab_c.x, cab_c.y, 0.5f * (body_top + cab_mid)},
        {0.16f * L, 0.22f * W, 0.5f * (cab_mid - body_top)}, kGsePaint, kPartBody);
  b.box({cab_c.x, cab_c.y, 0.5f * (cab_mid + H)}, {0.16f * L, 0.22f * W, 0.5f * (H - cab_mid)},
        kGlass, kPartBody);
  b.box({0.5f * L - 0.12f, 0, 0.45f}, {0.12f, 0.3f, 0.15f}, kSteel, kPartBody);  // tow hitch
  return b.index();
}

int build_baggage_tractor(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kBaggageTractor, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  b.box({0, 0, 0.55f}, {0.5f * L, 0.5f * W - 0.02f, 0.3f}, kGsePaint, kPartBody);
  four_wheels(b, 0.5f * L - 0.45f, -0.5f * L + 0.45f, 0.5f * W - 0.13f, 0.3f, 0.22f);
  b.box({0.25f * L, 0, 0.98f}, {0.25f * L - 0.05f, 0.5f * W - 0.1f, 0.13f}, kGsePaint, kPartBody);
  b.box({-0.12f * L, 0, 1.05f}, {0.2f, 0.25f, 0.2f}, kGseDark, kPartBody);  // seat
  if (rng.chance(0.5f)) {                                                   // enclosed cab
    b.box({-0.2f * L, 0, 0.5f * (0.85f + H)}, {0.28f * L, 0.5f * W - 0.06f, 0.5f * (H - 0.85f)},
          kGlass, kPartBody);
  } else {  // open roll-over frame with a roof
    for (float x : {-0.5f * L + 0.2f, 0.06f * L})
      for (float s : {-1.f, 1.f})
        b.cylinder({x, s * (0.5f * W - 0.1f), 0.85f}, {x, s * (0.5f * W - 0.1f), H - 0.08f}, 0.04f,
                   kSteel, kPartBody);
  }
  b.box({-0.2f * L, 0, H - 0.04f}, {0.3f * L, 0.5f * W - 0.05f, 0.04f}, kGsePaint, kPartBody);
  return b.index();
}

int build_baggage_cart(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kBaggageCart, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  b.box({0, 0, 0.5f}, {0.5f * L, 0.5f * W, 0.08f}, kSteel, kPartBody);
  four_wheels(b, 0.5f * L - 0.35f, -0.5f * L + 0.35f, 0.5f * W - 0.15f, 0.2f, 0.15f);
  if (rng.chance(0.6f)) {  // closed curtain-sided cart
    b.box({0, 0, 0.5f * (0.58f + H)}, {0.5f * L - 0.05f, 0.5f * W - 0.05f, 0.5f * (H - 0.58f)},
          kGsePaint, kPartBody);
    return b.index();
  }
  // Open frame with a roof and a few bags on the bed.
  for (float x : {-0.5f * L + 0.06f, 0.5f * L - 0.06f})
    for (float s : {-1.f, 1.f})
      b.cylinder({x, s * (0.5f * W - 0.06f), 0.58f}, {x, s * (0.5f * W - 0.06f), H - 0.05f}, 0.035f,
                 kSteel, kPartBody);
  b.box({0, 0, H - 0.03f}, {0.5f * L - 0.02f, 0.5f * W - 0.02f, 0.03f}, kGsePaint, kPartBody);
  const int bags = rng.uniform_int(1, 5);
  for (int i = 0; i < bags; ++i) {
    const float hx = rng.uniform(0.2f, 0.4f), hy = rng.uniform(0.15f, 0.3f),
                hz = rng.uniform(0.1f, 0.3f);
    const float x = rng.uniform(-0.5f * L + hx + 0.1f, 0.5f * L - hx - 0.1f);
    const float y = rng.uniform(-0.5f * W + hy + 0.1f, 0.5f * W - hy - 0.1f);
    const uint8_t material = rng.chance(0.5f) ? kGseDark : kClothing;
    b.box({x, y, 0.58f + hz}, {hx, hy, hz}, material, kPartOther, rng.uniform(-0.3f, 0.3f));
  }
  return b.index();
}

int build_belt_loader(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z) {
  ObjectBuilder b(scene, ObjectClass::kBeltLoader, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  b.box({-0.5f, 0, 0.6f}, {0.5f * L - 0.7f, 0.5f * W - 0.05f, 0.3f}, kGsePaint, kPartBody);
  four_wheels(b, 0.5f * L - 1.8f, -0.5f * L + 0.8f, 0.5f * W - 0.15f, 0.3f, 0.25f);
  b.box({-0.1f * L, 0.5f * W - 0.45f, 0.5f * (0.9f + H)}, {0.5f, 0.4f, 0.5f * (H - 0.9f)},
        kGsePaint, kPartBody);  // driver station
  // Conveyor from the low rear end up to the hold door sill at the front end.
  const float z0 = 1.0f, z1 = std::max(reach_z - 0.12f, z0 + 0.3f);
  const Vec3 p0{-0.5f * L + 0.1f, 0, z0}, p1{0.5f * L - 0.1f, 0, z1};
  slab(b, p0, p1, 0.45f, 0.1f, kGseDark);
  for (float s : {-1.f, 1.f})
    slab(b, p0 + Vec3{0, s * 0.5f, 0.16f}, p1 + Vec3{0, s * 0.5f, 0.16f}, 0.03f, 0.1f, kGsePaint);
  const float xs = 0.15f * L, zs = z0 + (z1 - z0) * (xs - p0.x) / (p1.x - p0.x) - 0.1f;
  if (zs > 1.0f) b.cylinder({xs, 0, 0.9f}, {xs, 0, zs}, 0.09f, kSteel, kPartBody);
  return b.index();
}

int build_fuel_truck(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kFuelTruck, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  const float cab_top = std::min(H, 2.9f), cab_len = 2.2f;
  b.box({0.5f * L - 0.5f * cab_len, 0, 0.5f * (0.5f + cab_top)},
        {0.5f * cab_len, 0.5f * W - 0.02f, 0.5f * (cab_top - 0.5f)}, kGsePaint, kPartBody);
  b.box({0.5f * L - 0.03f, 0, cab_top - 0.55f}, {0.04f, 0.5f * W - 0.15f, 0.35f}, kGlass,
        kPartBody);
  b.box({-0.5f * cab_len, 0, 0.8f}, {0.5f * (L - cab_len), 0.5f * W - 0.2f, 0.3f}, kGseDark,
        kPartBody);
  const float tank_r = std::min(0.5f * W - 0.03f, 0.5f * (H - 1.1f));
  const float tank_front = 0.5f * L - cab_len - 0.2f, tank_rear = -0.5f * L + 0.7f;
  b.cylinder({tank_rear, 0, 1.1f + tank_r}, {tank_front, 0, 1.1f + tank_r}, tank_r,
             rng.chance(0.5f) ? kSteel : kGsePaint, kPartBody);
  b.box({-0.5f * L + 0.35f, 0, 1.6f}, {0.35f, 0.5f * W - 0.1f, 0.7f}, kGsePaint, kPartBody);
  for (float s : {-1.f, 1.f}) {
    b.wheel(0.5f * L - 1.3f, s * (0.5f * W - 0.2f), 0.5f, 0.35f);
    b.wheel(-0.5f * L + 1.5f, s * (0.5f * W - 0.2f), 0.5f, 0.35f);
    if (L > 9.0f) b.wheel(-0.5f * L + 2.7f, s * (0.5f * W - 0.2f), 0.5f, 0.35f);
  }
  return b.index();
}

int build_catering_truck(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z) {
  ObjectBuilder b(scene, ObjectClass::kCateringTruck, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height;
  const float cab_len = 2.0f, cab_top = 2.5f, stowed_floor = 1.2f;
  b.box({0, 0, 0.7f}, {0.5f * L, 0.5f * W - 0.15f, 0.3f}, kGseDark, kPartBody);
  b.box({0.5f * L - 0.5f * cab_len, 0, 0.5f * (1.0f + cab_top)},
        {0.5f * cab_len, 0.5f * W - 0.02f, 0.5f * (cab_top - 1.0f)}, kGsePaint, kPartBody);
  b.box({0.5f * L - 0.03f, 0, cab_top - 0.45f}, {0.04f, 0.5f * W - 0.15f, 0.3f}, kGlass, kPartBody);
  const float floor = std::max(reach_z, stowed_floor), body_h = H - stowed_floor;
  const float body_front = 0.5f * L - cab_len - 0.1f, body_rear = -0.5f * L + 0.1f;
  const float body_floor = floor > cab_top + 0.2f ? floor : stowed_floor;
  b.box({0.5f * (body_front + body_rear), 0, body_floor + 0.5f * body_h},
        {0.5f * (body_front - body_rear), 0.5f * W - 0.02f, 0.5f * body_h}, kGsePaint, kPartBody);
  if (body_floor > stowed_floor) {
    // Scissor lift under the raised body and the service platform reaching over the cab.
    const float xm = 0.5f * (body_front + body_rear), half = 0.3f * (body_front - body_rear);
    for (float s : {-1.f, 1.f}) {
      slab(b, {xm - half, s * (0.5f * W - 0.35f), 1.0f},
           {xm + half, s * (0.5f * W - 0.35f), body_floor}, 0.05f, 0.08f, kSteel);
      slab(b, {xm + half, s * (0.5f * W - 0.55f), 1.0f},
           {xm - half, s * (0.5f * W - 0.55f), body_floor}, 0.05f, 0.08f, kSteel);
    }
    b.box({0.5f * (body_front + 0.5f * L), 0, body_floor - 0.05f},
          {0.5f * (0.5f * L - body_front), 0.5f * W - 0.1f, 0.05f}, kSteel, kPartBody);
  }
  for (float s : {-1.f, 1.f}) {
    b.wheel(0.5f * L - 1.2f, s * (0.5f * W - 0.25f), 0.45f, 0.3f);
    b.wheel(-0.5f * L + 1.3f, s * (0.5f * W - 0.25f), 0.45f, 0.3f);
  }
  return b.index();
}

int build_passenger_stairs(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z,
                           Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kPassengerStairs, stand, pos, yaw);
  const float L = d.length, W = d.width;
  const float pz = reach_z > 0 ? reach_z : d.height, plat = 1.4f;
  b.box({-0.25f, 0, 0.62f}, {0.5f * L - 0.25f, 0.5f * W - 0.1f, 0.27f}, kGsePaint, kPartBody);
  four_wheels(b, 0.5f * L - 0.9f, -0.5f * L + 0.9f, 0.5f * W - 0.25f, 0.35f, 0.25f);
  b.box({0.5f * L - 0.5f * plat, 0, pz - 0.075f}, {0.5f * plat, 0.5f * W - 0.1f, 0.075f}, kSteel,
        kPartBody);
  const Vec3 s0{-0.5f * L + 0.3f, 0, 0.95f}, s1{0.5f * L - plat, 0, pz - 0.1f};
  slab(b, s0, s1, 0.5f * W - 0.25f, 0.12f, kSteel);
  for (float s : {-1.f, 1.f}) {
    const float y = s * (0.5f * W - 0.18f);
    slab(b, s0 + Vec3{0, y, 0.95f}, s1 + Vec3{0, y, 0.95f}, 0.03f, 0.04f, kGsePaint);
    b.box({0.5f * L - 0.5f * plat, y, pz + 0.95f}, {0.5f * plat, 0.03f, 0.04f}, kGsePaint,
          kPartBody);
    b.cylinder({0.5f * L - 1.0f, y, 0.9f}, {0.5f * L - 1.0f, y, pz - 0.15f}, 0.08f, kSteel,
               kPartBody);
  }
  b.box({-0.5f * L + 0.8f, 0.5f * W - 0.55f, 1.4f}, {0.8f, 0.45f, 0.55f}, kGsePaint, kPartBody);
  if (rng.chance(0.5f)) {  // canopy over the platform
    for (float s : {-1.f, 1.f})
      b.cylinder({0.5f * L - 0.3f, s * (0.5f * W - 0.18f), pz},
                 {0.5f * L - 0.3f, s * (0.5f * W - 0.18f), pz + 2.15f}, 0.04f, kSteel, kPartBody);
    b.box({0.5f * L - 0.5f * plat, 0, pz + 2.2f}, {0.5f * plat, 0.5f * W - 0.1f, 0.04f}, kGsePaint,
          kPartBody);
  }
  return b.index();
}

int build_ground_power_unit(Scene* scene, int stand, Vec3 pos, float yaw, Dims d) {
  ObjectBuilder b(scene, ObjectClass::kGroundPowerUnit, stand, pos, yaw);
  const float L = d.length, W = d.width, H = d.height, bar = 0.8f, body_len = L - bar;
  const float xc = -0.5f * bar;
  b.box({xc, 0, 0.5f * (0.35f + H)}, {0.5f * body_len, 0.5f * W, 0.5f * (H - 0.35f)}, kGsePaint,
        kPartBody);
  four_wheels(b, xc + 0.5f * body_len - 0.35f, xc - 0.5f * body_len + 0.35f, 0.5f * W - 0.12f,
              0.25f, 0.18f);
  b.box({0.5f * L - 0.5f * bar, 0, 0.4f}, {0.5f * bar, 0.05f, 0.04f}, kSteel, kPartBody);
  b.cylinder({xc - 0.3f * body_len, 0.2f * W, H}, {xc - 0.3f * body_len, 0.2f * W, H + 0.01f},
             0.06f, kGseDark, kPartBody);
  return b.index();
}

int build_person(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, bool walking, Rng& rng) {
  ObjectBuilder b(scene, ObjectClass::kPerson, stand, pos, yaw);
  const float H = d.height, W = d.width, D = d.length;
  // Proportions of stature: legs 0.5, torso 0.3, neck 0.07, head 0.13; a stride lowers the hip.
  const float leg = 0.5f * H, torso = 0.3f * H, hip_y = 0.2f * W, rl = 0.065f;
  const float stride = walking ? rng.uniform(15.f, 25.f) * kDeg : rng.uniform(0.f, 4.f) * kDeg;
  const float hip = leg * std::cos(stride);
  for (float s : {-1.f, 1.f})
    b.cylinder({leg * std::sin(s * stride), s * (hip_y + 0.01f), 0}, {0, s * hip_y, hip}, rl,
               kClothing, kPartBody);
  b.box({0, 0, hip + 0.5f * torso}, {0.5f * D, 0.5f * W - 0.09f, 0.5f * torso}, kClothing,
        kPartBody);
  for (float f : {0.25f, 0.6f})  // retro-reflective tape around the vest
    b.box({0, 0, hip + f * torso}, {0.5f * D + 0.01f, 0.5f * W - 0.08f, 0.025f}, kVestBand,
          kPartVest);
  const float shoulder = hip + torso - 0.05f, arm = 0.36f * H, swing = 0.8f * stride;
  for (float s : {-1.f, 1.f})
    b.cylinder(
        {0, s * (0.5f * W - 0.045f), shoulder},
        {-s * arm * std::sin(swing), s * (0.5f * W - 0.04f), shoulder - arm * std::cos(swing)},
        0.045f, kClothing, kPartBody);
  const float hr = 0.065f * H;
  b.ellipsoid({0, 0, hip + torso + 0.07f * H + hr}, {0.9f * hr, 0.8f * hr, hr}, kSkin, kPartBody);
  return b.index();
}

int build_cone(Scene* scene, int stand, Vec3 pos, float yaw, Dims d) {
  ObjectBuilder b(scene, ObjectClass::kCone, stand, pos, yaw);
  const float H = d.height, r0 = 0.4f * std::min(d.length, d.width), r1 = 0.035f;
  b.box({0, 0, 0.02f}, {0.5f * d.length, 0.5f * d.width, 0.02f}, kGseDark, kPartBody);
  b.frustum({0, 0, 0.04f}, {0, 0, H}, r0, r1, kConeBody, kPartBody);
  auto radius_at = [&](float z) { return r0 + (r1 - r0) * (z - 0.04f) / (H - 0.04f); };
  const float za = 0.55f * H, zb = 0.75f * H;
  b.frustum({0, 0, za}, {0, 0, zb}, radius_at(za) + 0.004f, radius_at(zb) + 0.004f, kConeBand,
            kPartVest);
  return b.index();
}

int build_bar(Scene* scene, int stand, Vec3 a, Vec3 c, float half_width, float half_height) {
  const float dx = c.x - a.x, dy = c.y - a.y, dz = c.z - a.z;
  const float horiz = std::sqrt(dx * dx + dy * dy);
  const Vec3 mid = (a + c) * 0.5f;
  ObjectBuilder b(scene, ObjectClass::kClutter, stand, {mid.x, mid.y, 0}, std::atan2(dy, dx));
  const float len = std::sqrt(horiz * horiz + dz * dz);
  b.box({0, 0, mid.z}, {0.5f * len, half_width, half_height}, kSteel, kPartOther, 0.f,
        std::atan2(dz, horiz));
  return b.index();
}

}  // namespace tarmac::sim
