// Aircraft geometry. Proportions follow the manufacturers' airport planning documents for the
// A320 / B737 and B777 / A350 families, rounded and expressed relative to the drawn length,
// span and fuselage diameter: e.g. the A320's nose gear sits about 13 % of the length behind
// the nose, its wheelbase is about a third of the length (12.6 m of 37.6 m), its main gear
// track about a fifth of the span (7.6 m of 34-36 m), its engines about a third of the
// semi-span out; a B777's wheelbase is about 42 % of its length and its track about 17 % of
// its span. Sweep, chords and door stations are typical values, not any one type's.
#include <algorithm>
#include <cmath>

#include "sim/models.h"

namespace tarmac::sim {

namespace {
constexpr float kDeg = 3.14159265358979f / 180.0f;
}

float AircraftLayout::wing_le_x(float y) const {
  return wing_root_le_x - std::max(0.f, std::fabs(y) - radius) * tan_sweep;
}

float AircraftLayout::wing_chord(float y) const {
  const float f = std::clamp((std::fabs(y) - radius) / (semi_span - radius), 0.f, 1.f);
  return wing_root_chord + (wing_tip_chord - wing_root_chord) * f;
}

float AircraftLayout::wing_bottom_z(float y) const {
  return wing_root_z + (std::fabs(y) - radius) * tan_dihedral;
}

float AircraftLayout::fuselage_half_width(float z) const {
  const float dz = z - axis_z;
  return std::fabs(dz) >= radius ? 0.f : std::sqrt(radius * radius - dz * dz);
}

AircraftLayout sample_aircraft(Rng& rng, bool wide, const AircraftTypeConfig& t) {
  AircraftLayout a;
  a.widebody = wide;
  a.length = rng.uniform(t.length.min, t.length.max);
  a.span = rng.uniform(t.span.min, t.span.max);
  a.height = rng.uniform(t.height.min, t.height.max);
  const float diameter = rng.uniform(t.fuselage_diameter.min, t.fuselage_diameter.max);
  a.radius = 0.5f * diameter;
  const float belly = wide ? rng.uniform(2.0f, 2.4f) : rng.uniform(1.7f, 2.0f);
  a.axis_z = belly + a.radius;
  a.nose_length = 1.3f * diameter;
  a.tail_length = std::min(2.6f * diameter, 0.3f * a.length);
  const float L = a.length;

  a.semi_span = 0.5f * a.span;
  a.wing_root_le_x = -(wide ? 0.40f : 0.37f) * L;
  a.wing_root_chord = (wide ? 0.20f : 0.19f) * L;
  a.wing_tip_chord = (wide ? 0.18f : 0.22f) * a.wing_root_chord;
  a.tan_sweep = std::tan((wide ? 32.0f : 26.0f) * kDeg + rng.uniform(-2.f, 2.f) * kDeg);
  a.tan_dihedral = std::tan(rng.uniform(5.0f, 6.0f) * kDeg);
  a.wing_root_z = a.axis_z - 0.6f * a.radius;
  a.wing_thickness = wide ? 0.8f : 0.45f;

  a.engine_radius = 0.5f * (wide ? rng.uniform(3.2f, 3.9f) : rng.uniform(2.0f, 2.4f));
  a.engine_length = wide ? rng.uniform(6.5f, 7.5f) : rng.uniform(3.8f, 4.5f);
  a.engine_y = (wide ? 0.31f : 0.34f) * a.semi_span;
  a.engine_z = (wide ? rng.uniform(0.75f, 1.0f) : rng.uniform(0.5f, 0.65f)) + a.engine_radius;
  a.engine_front_x = a.wing_le_x(a.engine_y) + 0.6f * a.engine_length;

  a.nose_gear_x = -(wide ? 0.12f : 0.13f) * L;
  a.main_track = (wide ? 0.17f : 0.21f) * a.span;
  const float yg = 0.5f * a.main_track;
  const float xm = a.nose_gear_x - (wide ? 0.42f : 0.34f) * L;
  // The main gear retracts into the wing box: keep it under the wing's chord.
  a.main_gear_x = std::clamp(xm, a.wing_le_x(yg) - 0.85f * a.wing_chord(yg),
                             a.wing_le_x(yg) - 0.3f * a.wing_chord(yg));

  a.door1_x = -std::max(0.12f * L, a.nose_length + 0.6f);
  a.door2_x = -(L - a.tail_length - 1.0f);
  a.fwd_hold_x = -(wide ? 0.22f : 0.26f) * L;
  a.aft_hold_x = a.wing_root_le_x - a.wing_root_chord - (wide ? 0.05f : 0.08f) * L;
  a.pax_sill_z = a.axis_z - 0.3f * a.radius;
  a.hold_sill_z = a.axis_z - 0.78f * a.radius;
  return a;
}

int build_aircraft(Scene* scene, int stand, Vec3 nose, float yaw, const AircraftLayout& a) {
  ObjectBuilder b(scene, ObjectClass::kAircraft, stand, nose, yaw);
  const float r = a.radius, zc = a.axis_z, L = a.length;
  const float body_end = -(L - a.tail_length);

  // Fuselage: ellipsoidal nose, cylindrical body, upswept tail cone.
  b.ellipsoid({-a.nose_length, 0, zc}, {a.nose_length, r, r}, kAircraftPaint, kPartFuselage);
  b.cylinder({-a.nose_length, 0, zc}, {body_end, 0, zc}, r, kAircraftPaint, kPartFuselage);
  b.frustum({body_end, 0, zc}, {-L, 0, zc + 0.45f * r}, r, 0.2f * r, kAircraftPaint, kPartFuselage);

  const float cd = 1.0f / std::sqrt(1.0f + a.tan_dihedral * a.tan_dihedral);
  const float sd = a.tan_dihedral * cd;
  for (int side = -1; side <= 1; side += 2) {
    const float sf = static_cast<float>(side);
    // Wing: a swept, tapered slab with dihedral.
    const float y0 = 0.5f * r, y1 = a.semi_span;
    const Vec3 wing[4] = {{a.wing_le_x(y0), sf * y0, a.wing_bottom_z(y0)},
                          {a.wing_le_x(y1), sf * y1, a.wing_bottom_z(y1)},
                          {a.wing_le_x(y1) - a.wing_chord(y1), sf * y1, a.wing_bottom_z(y1)},
                          {a.wing_le_x(y0) - a.wing_chord(y0), sf * y0, a.wing_bottom_z(y0)}};
    b.prism(wing, Vec3{0, -sf * sd, cd} * a.wing_thickness, kAircraftPaint, kPartWing);
    if (!a.widebody) {  // wingtip device
      const float tc = a.wing_chord(y1);
      b.box({a.wing_le_x(y1) - 0.55f * tc, sf * (y1 - 0.06f), a.wing_bottom_z(y1) + 1.2f},
            {0.35f * tc, 0.06f, 0.95f}, kAircraftPaint, kPartWing);
    }

    // Engine: nacelle ahead of and below the leading edge, exhaust cone, pylon.
    const float ye = sf * a.engine_y, xf = a.engine_front_x, re = a.engine_radius;
    const float le = a.engine_length, ze = a.engine_z;
    b.frustum({xf, ye, ze}, {xf - le, ye, ze}, re, 0.8f * re, kAircraftPaint, kPartEngine);
    b.frustum({xf - le, ye, ze}, {xf - 1.3f * le, ye, ze}, 0.5f * re, 0.12f * re, kAircraftMetal,
              kPartEngine);
    const float pylon_top = a.wing_bottom_z(a.engine_y) + 0.2f, pylon_bottom = ze + 0.7f * re;
    if (pylon_top > pylon_bottom)
      b.box({xf - 0.6f * le, ye, 0.5f * (pylon_top + pylon_bottom)},
            {0.4f * le, 0.15f, 0.5f * (pylon_top - pylon_bottom) + 0.05f}, kAircraftPaint,
            kPartEngine);

    // Horizontal tail: a smaller swept slab on the tail cone.
    const float sh = (a.widebody ? 0.33f : 0.36f) * a.semi_span, crh = 0.11f * L;
    const float cth = 0.35f * crh, tsh = std::tan(31.0f * kDeg), dh = std::tan(6.0f * kDeg);
    const float xr = -L + 0.75f * a.tail_length, zh = zc + 0.15f * r, yh0 = 0.3f * r;
    const float xt = xr - (sh - yh0) * tsh, zt = zh + (sh - yh0) * dh;
    const Vec3 tail[4] = {
        {xr, sf * yh0, zh}, {xt, sf * sh, zt}, {xt - cth, sf * sh, zt}, {xr - crh, sf * yh0, zh}};
    const float ch = 1.0f / std::sqrt(1.0f + dh * dh);
    b.prism(tail, Vec3{0, -sf * dh * ch, ch} * (a.widebody ? 0.4f : 0.25f), kAircraftPaint,
            kPartTail);

    // Main gear: leg from the wing down to the wheels (two wheels, or a bogie on wide-bodies).
    const float yg = sf * 0.5f * a.main_track, xm = a.main_gear_x;
    const float rw = a.widebody ? 0.65f : 0.57f, ww = a.widebody ? 0.5f : 0.38f;
    b.cylinder({xm, yg, rw}, {xm, yg, a.wing_bottom_z(yg) + 0.1f}, a.widebody ? 0.25f : 0.15f,
               kSteel, kPartGear);
    if (a.widebody) {
      const int axles = L > 68.0f ? 3 : 2;
      const float pitch = 1.45f, first = -0.5f * pitch * static_cast<float>(axles - 1);
      b.box({xm, yg, rw}, {0.5f * pitch * static_cast<float>(axles - 1) + 0.2f, 0.12f, 0.12f},
            kSteel, kPartGear);
      for (int i = 0; i < axles; ++i)
        for (int k = -1; k <= 1; k += 2)
          b.wheel(xm + first + pitch * static_cast<float>(i), yg + 0.75f * static_cast<float>(k),
                  rw, ww);
    } else {
      for (int k = -1; k <= 1; k += 2) b.wheel(xm, yg + 0.45f * static_cast<float>(k), rw, ww);
    }
  }

  // Fin: swept slab standing on the tail cone.
  const float crv = (a.widebody ? 0.14f : 0.16f) * L, ctv = 0.4f * crv;
  const float tsv = std::tan(33.0f * kDeg), tf = a.widebody ? 0.6f : 0.35f;
  const float z_root = zc + 0.5f * r, x_root_te = -L + 0.04f * L, x_root_le = x_root_te + crv;
  const float x_tip_le = x_root_le - (a.height - z_root) * tsv;
  const Vec3 fin[4] = {{x_root_le, -0.5f * tf, z_root},
                       {x_tip_le, -0.5f * tf, a.height},
                       {x_tip_le - ctv, -0.5f * tf, a.height},
                       {x_root_te, -0.5f * tf, z_root}};
  b.prism(fin, {0, tf, 0}, kAircraftPaint, kPartTail);

  // Nose gear.
  const float rn = a.widebody ? 0.6f : 0.36f, wn = a.widebody ? 0.35f : 0.25f;
  b.cylinder({a.nose_gear_x, 0, rn}, {a.nose_gear_x, 0, zc - 0.8f * r}, a.widebody ? 0.12f : 0.08f,
             kSteel, kPartGear);
  for (int k = -1; k <= 1; k += 2)
    b.wheel(a.nose_gear_x, (a.widebody ? 0.45f : 0.3f) * static_cast<float>(k), rn, wn);
  return b.index();
}

}  // namespace tarmac::sim
