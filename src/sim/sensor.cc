#include "sim/sensor.h"

#include <algorithm>

namespace tarmac::sim {

namespace {

// Velodyne HDL-64E (S2/S3 class). The data sheet gives a vertical field of view from +2.0 down
// to -24.9 degrees with 64 lasers in two blocks; the upper block (32 lasers) is spaced about a
// third of a degree and the lower block (32 lasers) about half a degree, which is how the
// per-laser calibration files distribute them. Azimuth resolution is 0.08 to 0.35 degrees over
// 5 to 20 Hz, so about 0.17 degrees (2083 firings per turn) at 10 Hz. The user manual says
// returns closer than about three feet should be ignored. Range: 50 m on pavement (about 10 %
// reflectivity) and 120 m on cars and foliage (about 80 %); range accuracy under 2 cm (1 sigma).
SensorModel hdl64() {
  SensorModel s;
  s.name = "hdl64";
  s.description = "Velodyne HDL-64E-like, 64 beams +2.0 to -24.9 deg, 0.17 deg azimuth";
  for (int i = 0; i < 32; ++i) s.elevation_deg.push_back(2.0f - static_cast<float>(i) / 3.0f);
  const float lower_top = -8.83f, lower_bottom = -24.9f;
  for (int i = 0; i < 32; ++i)
    s.elevation_deg.push_back(lower_top +
                              (lower_bottom - lower_top) * static_cast<float>(i) / 31.0f);
  s.columns = 2083;
  s.min_range = 0.9f;
  s.max_range = 120.0f;
  s.range_noise_sigma = 0.02f;
  s.dropout = 0.01f;
  return s;
}

// Velodyne VLP-32C. The user manual's table of azimuth offsets by elevation lists the 32
// laser elevations (laser id order below), a non-uniform spread from -25 to +15 degrees that
// is densest around the horizon. Azimuth resolution 0.1 to 0.4 degrees over 5 to 20 Hz, so
// 0.2 degrees (1800 columns) at 10 Hz; range up to 200 m; accuracy about 3 cm. The data sheet
// we used gives no minimum range; 0.5 m is assumed.
SensorModel vlp32() {
  SensorModel s;
  s.name = "vlp32";
  s.description = "Velodyne VLP-32C-like, 32 beams -25 to +15 deg non-uniform, 0.2 deg azimuth";
  s.elevation_deg = {-25.0f,  -1.0f,  -1.667f, -15.639f, -11.31f, 0.0f,   -0.667f, -8.843f,
                     -7.254f, 0.333f, -0.333f, -6.148f,  -5.333f, 1.333f, 0.667f,  -4.0f,
                     -4.667f, 1.667f, 1.0f,    -3.667f,  -3.333f, 3.333f, 2.333f,  -2.667f,
                     -3.0f,   7.0f,   4.667f,  -2.333f,  -2.0f,   15.0f,  10.333f, -1.333f};
  s.columns = 1800;
  s.min_range = 0.5f;
  s.max_range = 200.0f;
  s.range_noise_sigma = 0.03f;
  s.dropout = 0.01f;
  return s;
}

// Ouster OS1-128. The data sheet gives 128 channels over +22.5 to -22.5 degrees (45 degrees)
// with the default uniform beam spacing, 512/1024/2048 columns per turn (2048 at 10 Hz here),
// range 0.8 m to 120 m on an 80 % Lambertian target (40 m at 10 %), range repeatability about
// 3 cm (1 sigma) at moderate signal.
SensorModel os128() {
  SensorModel s;
  s.name = "os128";
  s.description = "Ouster OS1-128-like, 128 beams uniform +22.5 to -22.5 deg, 2048 columns";
  for (int i = 0; i < 128; ++i)
    s.elevation_deg.push_back(22.5f - 45.0f * static_cast<float>(i) / 127.0f);
  s.columns = 2048;
  s.min_range = 0.8f;
  s.max_range = 120.0f;
  s.range_noise_sigma = 0.03f;
  s.dropout = 0.01f;
  return s;
}

}  // namespace

float SensorModel::min_elevation_deg() const {
  return elevation_deg.empty() ? 0.f
                               : *std::min_element(elevation_deg.begin(), elevation_deg.end());
}

float SensorModel::max_elevation_deg() const {
  return elevation_deg.empty() ? 0.f
                               : *std::max_element(elevation_deg.begin(), elevation_deg.end());
}

std::vector<std::string> sensor_names() { return {"hdl64", "vlp32", "os128"}; }

StatusOr<SensorModel> sensor_model(const std::string& name) {
  if (name == "hdl64") return hdl64();
  if (name == "vlp32") return vlp32();
  if (name == "os128") return os128();
  return invalid_argument("unknown sensor '{}' (expected one of: hdl64, vlp32, os128)", name);
}

}  // namespace tarmac::sim
