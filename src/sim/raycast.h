// Lidar scan of a scene in the sensor frame: one ray per (azimuth column, beam), closest hit
// over the ground plane and all primitives, then the sensor effects (range limits that depend
// on reflectivity, random dropout, Gaussian range noise, intensity).
//
// Culling: every primitive gets an azimuth interval (from its corners, seen from the sensor),
// an elevation interval and a lower bound of its distance. Primitives are binned into azimuth
// sectors and sorted by that distance, so a ray tests only the primitives of its sector whose
// elevation interval holds the beam, and stops at the first one farther than its best hit.
//   Raycaster caster;  Scan scan;
//   caster.scan(scene, sensor, {0.02f, 0.01f}, /*noise_seed=*/42, &scan);
#pragma once

#include <cstdint>
#include <vector>

#include "sim/scene.h"
#include "sim/sensor.h"

namespace tarmac::sim {

struct ScanParams {
  float range_noise_sigma = 0;  // metres
  float dropout = 0;            // probability
};

/// Returns of one revolution, in firing order (column by column).
struct Scan {
  std::vector<float> xyzi;        // [N, 4]: x, y, z (sensor frame, m), intensity in [0, 1]
  std::vector<int32_t> shape;     // [N]: index of the primitive hit, -1 for the ground
  std::vector<uint8_t> material;  // [N]
  size_t size() const { return shape.size(); }
};

/// Intensity of a return in [0, 1] before noise: reflectivity shaded by incidence (diffuse
/// surfaces) or nearly incidence-independent (retro-reflectors), falling slowly with range.
float return_intensity(const MaterialInfo& m, float cos_incidence, float range);

/// Reusable scan state (culling tables); one per thread.
class Raycaster {
 public:
  /// `scene` must be in the sensor frame (to_sensor_frame). Deterministic in its arguments.
  void scan(const Scene& scene, const SensorModel& sensor, const ScanParams& params,
            uint64_t noise_seed, Scan* out);

 private:
  struct Candidate {
    float near;          // no hit closer than this
    float el_lo, el_hi;  // elevation interval (radians)
    uint32_t shape;
  };
  void build_culling(const Scene& scene);
  void build_marking_grid(const Scene& scene);
  uint8_t ground_material(const Scene& scene, float x, float y) const;

  std::vector<Candidate> candidates_;
  std::vector<uint32_t> sector_start_, sector_items_;
  // Markings binned on a uniform ground grid.
  float grid_x0_ = 0, grid_y0_ = 0, grid_cell_ = 2.0f;
  int grid_nx_ = 0, grid_ny_ = 0;
  std::vector<uint32_t> grid_start_, grid_items_;
};

}  // namespace tarmac::sim
