// Builder: turns a Network into a serialized engine (a plan) for one device, precision set and
// set of optimization profiles, timing tactics on the device (TensorRT's buildSerializedNetwork).
//   tarmac::BuildConfig config;
//   config.fp16 = true;
//   config.profiles.push_back({{{"images", {{1, 3, 416, 416}, {4, 3, 416, 416}, {8, 3, 416,
//   416}}}}}); config.timing_cache_file = "timing.cache"; auto plan =
//   tarmac::build_serialized_engine(*net, config); tarmac::write_plan_file("model.plan", *plan);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tarmac/network.h"
#include "tarmac/status.h"

namespace tarmac {

enum class DeviceKind { kCpu, kCuda };

/// One dynamic input's allowed range; the builder times tactics at `opt`.
struct ShapeRange {
  Dims min, opt, max;
};

/// A {min, opt, max} range for every dynamic input (static inputs need no entry).
struct OptimizationProfile {
  std::map<std::string, ShapeRange> inputs;
};

/// trtexec's --precisionConstraints: whether --layerPrecisions are hints or rules.
enum class PrecisionConstraints { kNone, kPrefer, kObey };

struct BuildConfig {
  DeviceKind device = DeviceKind::kCuda;
  bool fp16 = false;
  bool bf16 = false;
  /// TF32 tensor-core math for float32 convolutions and GEMMs (off: --noTF32).
  bool tf32 = true;
  /// Layer name (or "*") -> "fp32" | "fp16" | "bf16", trtexec's --layerPrecisions.
  std::map<std::string, std::string> layer_precisions;
  PrecisionConstraints precision_constraints = PrecisionConstraints::kNone;
  /// Empty: every input must be static. Several: the context picks one at run time.
  std::vector<OptimizationProfile> profiles;
  /// 0 = no timing (library heuristics), 1-2 = the best few candidates, 3 (default) = every
  /// candidate the libraries offer, 4-5 = every candidate, timed over more iterations.
  int optimization_level = 3;
  /// Read before and written after the build; ignored with a warning when it was made on
  /// another device or with other library versions.
  std::string timing_cache_file;
  /// Record that the plan may be refitted (tarmac refit).
  bool refittable = false;
  /// Write the plan without weights; it is refitted from the ONNX file at load.
  bool strip_weights = false;
  /// Largest scratch one layer may use, in bytes (0 = no limit), trtexec's --memPoolSize.
  size_t workspace_limit = 0;
  /// Run nodes without a CUDA kernel on the CPU reference instead of failing.
  bool allow_cpu_fallback = false;
  /// Messages (warnings, the optimizer's log with verbose builds).
  std::function<void(const std::string&)> log;
  /// Build progress, fraction in [0, 1] and what is being done.
  std::function<void(double, const std::string&)> progress;
};

/// What the build did, for reports.
struct BuildReport {
  int layers = 0;
  int tactics_timed = 0;       // layers whose candidates were timed this build
  int tactics_from_cache = 0;  // layers answered by the timing cache
  double build_ms = 0;
};

/// Builds the plan bytes (docs/engine_format.md).
StatusOr<std::string> build_serialized_engine(const Network& network, const BuildConfig& config,
                                              BuildReport* report = nullptr);

/// Writes a plan atomically (temporary file, fsync, rename).
Status write_plan_file(const std::string& path, const std::string& plan);

}  // namespace tarmac
