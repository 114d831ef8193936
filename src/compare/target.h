// The two sides of `tarmac compare`: the reference (the ONNX graph as given on the CPU reference
// kernels, in float32 or float64) and the engine under test (the optimized build on the CPU or
// a CUDA device, in any precision, or a loaded plan), behind one interface.
//   TargetOptions o;
//   o.device = "cuda";
//   o.precision = DType::kFloat16;
//   auto engine = make_target(model, o);
//   Status s = (*engine)->run(inputs, &outputs, tap);  // tap: nullptr, or per-layer copies
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "runtime/tensor_tap.h"

namespace tarmac::compare {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// The tensor named `name` in `set`, or nullptr.
const Tensor* find_named(const NamedTensors& set, const std::string& name);

struct TargetOptions {
  std::string device = "cpu";  // "cpu" or "cuda"
  /// kFloat32, kFloat16 or kBFloat16; kFloat64 only with optimize = false (the reference).
  DType precision = DType::kFloat32;
  /// false: the ONNX graph as given, one reference kernel per node (the reference side).
  bool optimize = true;
  /// Layers kept in float32 in a half-precision build (`--layerPrecisions=name:fp32`).
  std::set<std::string> keep_fp32;
  /// CUDA: TF32 tensor cores for float32 convolutions and GEMMs (off, as for a strict check).
  bool tf32 = false;
  /// Static shapes for inputs with symbolic dimensions.
  std::map<std::string, Dims> shapes;
};

/// One row of a built engine's layer table: what `--mark-all` must leave unchanged.
struct LayerRow {
  std::string name;  // fused layers: ONNX node names joined by " + "
  std::string op_type;
  std::string precision;  // dtype of the first output
  std::string tactic;     // "" for layers without variants
  bool operator==(const LayerRow&) const = default;
};

class Target {
 public:
  virtual ~Target() = default;
  /// "cuda float16 (NVIDIA H100 80GB HBM3)", "cpu float64 reference".
  virtual const std::string& label() const = 0;
  /// Runs on host inputs (every graph input by name) and returns the outputs by name. With a
  /// `tap`, every tensor a layer writes is copied out after that layer; without, the run is the
  /// engine's ordinary one (a CUDA graph on the GPU).
  virtual Status run(const NamedTensors& inputs, NamedTensors* outputs, const TensorTap& tap) = 0;
  /// The layers as built, in execution order.
  virtual std::vector<LayerRow> layers() const = 0;
  /// Each input's static shape and dtype, in model order.
  virtual std::vector<std::pair<std::string, std::pair<DType, Dims>>> inputs() const = 0;
};

/// Builds `model` (copied) for `o`. A CUDA target needs a device (kUnavailable otherwise).
StatusOr<std::unique_ptr<Target>> make_target(const Model& model, const TargetOptions& o);

/// A plan written by `tarmac exec --saveEngine`, run with its recorded build choices and
/// tactics (profile 0; `shapes` may set other shapes within it). `weights_onnx` refits a plan
/// written with --stripWeights. `model` receives the plan's source model.
StatusOr<std::unique_ptr<Target>> load_plan_target(const std::string& path,
                                                   const std::string& weights_onnx,
                                                   const std::map<std::string, Dims>& shapes,
                                                   Model* model);

}  // namespace tarmac::compare
