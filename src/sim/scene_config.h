// Generation parameters of `tarmac sim airside` and their scene.json form (keys documented in
// docs/airside_dataset.md). Every value has a default; a scene file overrides some of them.
//   TARMAC_ASSIGN_OR_RETURN(SceneConfig c, parse_scene_config(text, "scene.json"));
#pragma once

#include <array>
#include <optional>
#include <string>

#include "core/status.h"
#include "sim/scene.h"

namespace tarmac::sim {

struct Range {
  float min = 0, max = 0;
};
struct CountRange {
  int min = 0, max = 0;
};

/// Per class: how many per stand and the body dimension ranges in metres (length along the
/// heading, width, height). For people: body depth, shoulder width, stature. For cones: base
/// length and width, height. BaggageCart counts are carts behind each tractor.
struct ClassConfig {
  CountRange count;
  Range length, width, height;
};

struct AircraftTypeConfig {
  Range length, span, height, fuselage_diameter;
};

struct SceneConfig {
  CountRange stands{1, 2};
  std::array<ClassConfig, kNumClasses> classes{};
  bool narrowbody = true, widebody = true;  // aircraft types that may appear
  float widebody_probability = 0.35f;       // when both may appear
  AircraftTypeConfig narrowbody_dims, widebody_dims;
  Range sensor_height{1.8f, 3.0f};
  std::optional<float> range_noise;  // metres, one sigma; default: the sensor's
  std::optional<float> dropout;      // probability; default: the sensor's
  Range ego_distance{8.0f, 40.0f};   // ego sensor distance from the stand centre
  bool markings = true;
  bool clutter = true;  // terminal facade and light masts (unlabelled)

  const ClassConfig& of(ObjectClass c) const { return classes[static_cast<size_t>(c)]; }
};

SceneConfig default_scene_config();

/// Parses and validates a scene file's text; `source` names it in error messages.
StatusOr<SceneConfig> parse_scene_config(const std::string& json_text, const std::string& source);

/// The full effective configuration as JSON (for dataset.json).
std::string scene_config_to_json(const SceneConfig& config, int indent);

}  // namespace tarmac::sim
