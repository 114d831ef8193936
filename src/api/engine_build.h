// Shared by the builder, the engine loader and refit (src/api): how a plan's build choices
// become executor options, and the ONNX-level weight operations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/plan_header.h"
#include "runtime/device_engine.h"
#include "runtime/executor.h"
#include "tarmac/builder.h"
#include "tarmac/engine.h"

namespace tarmac {

/// Checks the build flags and turns them into what the plan records.
StatusOr<PlanBuild> plan_build_from(const BuildConfig& config);
DeviceExecutorOptions device_options(const PlanBuild& b, const std::map<std::string, Dims>& shapes,
                                     const std::map<std::string, std::string>& tactics);
ExecutorOptions cpu_options(const PlanBuild& b, const std::map<std::string, Dims>& shapes);
/// The runtime nodes of a CPU executor's optimized model as layers.
std::vector<LayerInfo> cpu_layers(const Model& built);

/// A plan opened for the internal runtimes: its header and its model (refitted from
/// `options.weights_onnx` when the plan was stripped). CUDA plans are checked against this
/// device. Engine::deserialize and `tarmac compare --loadEngine` share it.
struct OpenedPlan {
  PlanHeader header;
  Model model;
  std::string built;  // the built section (empty when the plan has none)
};
StatusOr<OpenedPlan> open_plan(const std::string& plan, const LoadOptions& options);
/// Profile 0's device engine from a plan's built section, as Engine::load_file makes it (no
/// passes, precision or layout work; constants point into `built`, kept by `owner`).
StatusOr<std::shared_ptr<DeviceEngine>> device_engine_as_built(const PlanHeader& h,
                                                               std::string_view built,
                                                               std::shared_ptr<const void> owner);

/// The model with the data of every floating-point initializer removed (names, types and
/// shapes kept): what --stripWeights stores.
StatusOr<std::string> strip_onnx_weights(const std::string& onnx);
/// OK when `candidate` has the architecture of `reference`: the same graph inputs and outputs,
/// nodes (op, domain, inputs, outputs, attributes) and initializers (names, types, shapes, and
/// the values of non-floating-point ones, which shape the graph); else the first mismatch.
/// Floating-point initializers of `reference` may be stripped.
Status check_same_architecture(const std::string& reference, const std::string& candidate);

}  // namespace tarmac
