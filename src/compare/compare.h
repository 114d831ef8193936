// `tarmac compare`: runs a reference and an engine under test on the same inputs and checks
// every output (Polygraphy's `run` comparison), optionally every intermediate tensor through
// debug taps (--mark-all), and searches the layers to keep in float32 (--bisect-precision).
// docs/compare.md describes the report, the files and the algorithms.
//   CompareOptions o;
//   o.onnx = "model.onnx";
//   o.engine.device = "cuda";
//   o.engine.precision = DType::kFloat16;
//   auto passed = run_compare(o, [](const std::string& line) { std::puts(line.c_str()); });
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "compare/error_stats.h"
#include "compare/target.h"

namespace tarmac::compare {

struct CompareOptions {
  std::string onnx;         // the model; with load_engine, the weights of a stripped plan
  std::string load_engine;  // a plan as the engine under test (else built from `onnx`)
  TargetOptions engine;     // the engine under test
  /// "fp32", "fp64" (every float32 tensor of the reference in double), or "auto": fp64 when
  /// the engine under test is the CPU in float32, so that the two sides differ.
  std::string reference = "auto";
  /// --loadInputs: "name:file.npy|file.bin,..." and/or "inputs.npz" items (one sample each).
  std::string load_inputs;
  int samples = 1;  // random samples when no .npz inputs are given
  uint64_t seed = 1;
  double low = 0, high = 1;  // --val-range for random inputs
  CheckOptions check;
  bool mark_all = false;
  bool bisect = false;
  /// Files per sample (sample i of n > 1 inserts "_i" before the extension): the inputs,
  /// the engine's outputs and the reference's outputs (.npz, or trtexec JSON for outputs).
  std::string save_inputs, save_outputs, save_reference;
  /// Golden outputs replacing the reference run: .npz or trtexec JSON files, one per sample.
  std::string load_outputs;
};

using LineSink = std::function<void(const std::string&)>;

/// Prints the report through `out`. Returns whether every check passed (with `bisect`:
/// whether a passing set of float32 layers was found and confirmed); bad models, flags and
/// files are errors.
StatusOr<bool> run_compare(const CompareOptions& o, const LineSink& out);

/// Path of sample `i` of `n`: `path` itself when n == 1, else "out_3.npz" for "out.npz".
std::string sample_path(const std::string& path, int i, int n);

}  // namespace tarmac::compare
