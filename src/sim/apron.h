// Apron scene generation: stands with aircraft, the ground support equipment that serves them
// placed by apron logic (tug at the nose gear, stairs and catering at doors, belt loaders at
// the holds with baggage trains behind tractors, fuel truck at the wing, ground power at the
// nose, people near equipment, cones at engines and wingtips), painted markings and the ego
// sensor pose. Nothing overlaps another labelled object in bird's-eye view (aircraft aside,
// whose boxes contain the equipment serving them) and nothing intersects an aircraft.
//   Scene s = generate_scene(default_scene_config(), /*seed=*/7, /*frame=*/0);
#pragma once

#include <cstdint>

#include "sim/scene.h"
#include "sim/scene_config.h"

namespace tarmac::sim {

/// The scene of frame `frame` of a run seeded with `seed`, in the apron frame (ground z = 0;
/// stands' aircraft point along +x towards the terminal). Deterministic in its arguments.
Scene generate_scene(const SceneConfig& config, uint64_t seed, int frame);

}  // namespace tarmac::sim
