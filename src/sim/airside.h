// `tarmac sim airside`: synthetic apron lidar frames and the OpenPCDet custom-dataset writer
// (points/, labels/, ImageSets/, dataset.json; layout in docs/airside_dataset.md).
//   TARMAC_ASSIGN_OR_RETURN(SensorModel s, sensor_model("hdl64"));
//   AirsideOptions o;  o.frames = 100;  o.seed = 7;  o.out_dir = "data/airside";
//   TARMAC_ASSIGN_OR_RETURN(AirsideReport r, write_airside_dataset(o, default_scene_config(), s));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "sim/raycast.h"
#include "sim/scene.h"
#include "sim/scene_config.h"
#include "sim/sensor.h"

namespace tarmac::sim {

/// One generated frame, everything in the sensor frame.
struct Frame {
  Scene scene;
  Scan scan;
  std::vector<Label> labels;  // with num_points: returns on the object's own surfaces
};

/// Frame `index` of a run seeded with `seed`; depends on nothing else (not on threads).
Frame simulate_frame(const SceneConfig& config, const SensorModel& sensor, uint64_t seed, int index,
                     Raycaster* caster);

/// The effective range noise and dropout: the scene file's values, else the sensor's.
ScanParams scan_params(const SceneConfig& config, const SensorModel& sensor);

struct AirsideOptions {
  int frames = 0;
  uint64_t seed = 0;
  std::string out_dir;
  int threads = 0;     // 0: all cores
  bool fsync = false;  // flush every file to disk before renaming it into place
};

struct AirsideReport {
  int frames = 0;
  int threads = 0;
  int train = 0, val = 0;
  int64_t points = 0, boxes = 0;
  double seconds = 0;
};

/// Generates and writes the dataset; the files are byte-identical for any thread count.
StatusOr<AirsideReport> write_airside_dataset(const AirsideOptions& options,
                                              const SceneConfig& config, const SensorModel& sensor);

/// "000042": the frame id used in file names and ImageSets.
std::string frame_id(int index);
/// The deterministic 80/20 split: true for about one frame id in five (hash of the id).
bool is_val_frame(const std::string& id);
/// One label line `x y z dx dy dz heading class`.
std::string label_line(const Label& label);

}  // namespace tarmac::sim
