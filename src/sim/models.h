// Primitive models of the airside objects: aircraft (fuselage with tapered nose and tail,
// swept wings, engines, fin and tailplane, landing gear) and ground support equipment, people
// and cones. Each builder appends one object at a ground pose and returns its index.
//   AircraftLayout a = sample_aircraft(rng, false, config.narrowbody_dims);
//   int plane = build_aircraft(&scene, 0, {0, 0, 0}, 0.f, a);
#pragma once

#include "sim/random.h"
#include "sim/scene.h"
#include "sim/scene_config.h"

namespace tarmac::sim {

/// Dimensions and service points of one aircraft in its own frame: origin on the ground
/// below the nose tip, x forward (the fuselage extends to x = -length), y left, z up.
struct AircraftLayout {
  bool widebody = false;
  float length = 0, span = 0, height = 0;
  float radius = 0, axis_z = 0;  // fuselage radius and axis height
  float nose_length = 0, tail_length = 0;
  float semi_span = 0, wing_root_le_x = 0, wing_root_chord = 0, wing_tip_chord = 0;
  float tan_sweep = 0, tan_dihedral = 0, wing_root_z = 0, wing_thickness = 0;
  float engine_y = 0, engine_front_x = 0, engine_radius = 0, engine_length = 0, engine_z = 0;
  float nose_gear_x = 0, main_gear_x = 0, main_track = 0;
  float door1_x = 0, door2_x = 0, fwd_hold_x = 0, aft_hold_x = 0;
  float pax_sill_z = 0, hold_sill_z = 0;

  /// Leading-edge x, chord and lower-surface height of the wing at lateral offset y.
  float wing_le_x(float y) const;
  float wing_chord(float y) const;
  float wing_bottom_z(float y) const;
  /// Half width of the fuselage cross-section at height z (0 above or below it).
  float fuselage_half_width(float z) const;
};

AircraftLayout sample_aircraft(Rng& rng, bool widebody, const AircraftTypeConfig& dims);
int build_aircraft(Scene* scene, int stand, Vec3 nose, float yaw, const AircraftLayout& a);

/// Body dimensions drawn from a class's ranges (metres).
struct Dims {
  float length = 0, width = 0, height = 0;
};
Dims sample_dims(Rng& rng, const ClassConfig& c);

// Vehicles: +x is the vehicle's front. Docked equipment (belt loader, catering truck, stairs)
// has its aircraft end at +x and reaches `reach_z` there (belt top, body floor, platform top).
int build_pushback_tug(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng);
int build_baggage_tractor(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng);
int build_baggage_cart(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng);
int build_belt_loader(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z);
int build_fuel_truck(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, Rng& rng);
int build_catering_truck(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z);
int build_passenger_stairs(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, float reach_z,
                           Rng& rng);
int build_ground_power_unit(Scene* scene, int stand, Vec3 pos, float yaw, Dims d);
/// A person: legs, torso with a retro-reflective vest band, arms, head; length is body depth,
/// width shoulder width, height stature.
int build_person(Scene* scene, int stand, Vec3 pos, float yaw, Dims d, bool walking, Rng& rng);
int build_cone(Scene* scene, int stand, Vec3 pos, float yaw, Dims d);
/// An unlabelled bar (tow bar, drawbar) between two points.
int build_bar(Scene* scene, int stand, Vec3 a, Vec3 b, float half_width, float half_height);

}  // namespace tarmac::sim
