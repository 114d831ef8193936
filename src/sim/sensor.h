// Spinning-lidar models for the airside simulator: beam elevation tables, azimuth sampling,
// range limits and noise of three common sensors.
//   TARMAC_ASSIGN_OR_RETURN(SensorModel s, sensor_model("hdl64"));  // 64 beams, 2083 columns
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace tarmac::sim {

struct SensorModel {
  std::string name;         // flag value: hdl64, vlp32, os128
  std::string description;  // the sensor it imitates
  /// Beam elevations in degrees, in the sensor's own channel order (not sorted).
  std::vector<float> elevation_deg;
  int columns = 0;                      // azimuth samples per revolution
  float min_range = 0, max_range = 0;   // metres; max_range holds for `reference_reflectivity`
  float reference_reflectivity = 0.8f;  // target reflectivity at which max_range is specified
  float range_noise_sigma = 0;          // metres, one sigma
  float dropout = 0;                    // probability that a return is lost at random

  int beams() const { return static_cast<int>(elevation_deg.size()); }
  float azimuth_resolution_deg() const { return 360.0f / static_cast<float>(columns); }
  float min_elevation_deg() const;
  float max_elevation_deg() const;
};

/// The models `--sensor` accepts.
std::vector<std::string> sensor_names();
/// kInvalidArgument naming the accepted values for an unknown name.
StatusOr<SensorModel> sensor_model(const std::string& name);

}  // namespace tarmac::sim
