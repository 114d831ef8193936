// Internal to the CUDA runtime: an engine instance (the model built for one set of static input
// shapes, with its weights on the device), the CUDA engine that caches them, and the factory of
// its execution contexts. device_engine.cc builds; device_context.cc runs.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "runtime/device_engine.h"

namespace tarmac::cuda {

inline constexpr size_t kArenaAlign = 256;

inline size_t align_up(size_t n) { return (n + kArenaAlign - 1) / kArenaAlign * kArenaAlign; }

/// Where a value lives on the device.
struct Slot {
  const Value* value = nullptr;
  DType dtype = DType::kUndefined;
  Dims dims;
  bool is_constant = false;
  size_t offset = 0;  // into the instance's weights (constants) or a context's arena (the rest)
  size_t bytes() const { return static_cast<size_t>(num_elements(dims)) * dtype_size(dtype); }
};

/// One runtime node. Its kernel is made per context: kernels keep state set in initialize().
struct InstanceStep {
  const Node* node = nullptr;
  bool on_device = true;             // false: CPU reference fallback
  std::string tactic;                // the builder's choice for this node, "" = default
  std::vector<int> inputs, outputs;  // slot per input/output, -1 when absent
};

/// Immutable once built, so contexts on any thread read it without locks.
struct Instance {
  /// Every input of the model as given, with its static shape here (before passes).
  std::map<std::string, Dims> input_shapes;
  std::string signature;  // shape_signature(input_shapes)
  Model model;            // the built copy; steps and slots point into it
  std::vector<Slot> slots;
  std::vector<InstanceStep> steps;
  std::vector<int> input_slots, output_slots;
  std::vector<std::string> input_names;  // of input_slots, after passes
  std::vector<DeviceLayer> layers;
  bool has_host_steps = false;
  DeviceBuffer weights;  // every constant slot, uploaded once
  size_t arena_bytes = 0, lower_bound_bytes = 0;
};

/// "images=[1, 3, 416, 416];mask=[1, 100];" — the cache key of a full set of input shapes.
std::string shape_signature(const std::map<std::string, Dims>& shapes);

class CudaDeviceEngine final : public DeviceEngine,
                               public std::enable_shared_from_this<CudaDeviceEngine> {
 public:
  CudaDeviceEngine(Model model, const DeviceExecutorOptions& options);
  /// Builds the instance for options.input_shapes.
  Status prepare();

  StatusOr<std::unique_ptr<DeviceContext>> create_context() override;
  int instances_built() const override;
  size_t weight_bytes() const override;
  std::string device_name() const override;
  const Model& built_model() const override { return first_->model; }
  StatusOr<std::vector<TacticChoice>> time_tactics(const TacticTimingOptions& options) override;

  /// The instance for `shapes` (name -> dims of inputs to set), built on first use. Builds run
  /// under the cache lock: two contexts asking for the same new shapes build once.
  StatusOr<std::shared_ptr<const Instance>> instance(const std::map<std::string, Dims>& shapes);
  std::shared_ptr<const Instance> first_instance() const { return first_; }
  const DeviceExecutorOptions& options() const { return options_; }

 private:
  const DeviceExecutorOptions options_;
  /// Set by prepare() before the engine is shared, read-only after.
  std::shared_ptr<const Instance> first_;
  mutable std::mutex mu_;  // guards everything below
  /// Empty once first_ is built when every input was static to begin with: no other instance
  /// can be asked for, so the host copy of the weights is not kept twice.
  Model model_;
  bool shapes_fixed_ = false;
  /// By signature; an instance lives while first_ or some context holds it.
  std::map<std::string, std::weak_ptr<const Instance>> cache_;
  int built_ = 0;
};

/// Times the tactics of `inst`'s layers (runtime/cuda/tactic_timing.cc).
StatusOr<std::vector<TacticChoice>> time_instance_tactics(const Instance& inst,
                                                          const DeviceExecutorOptions& options,
                                                          const TacticTimingOptions& timing);

/// A context of `engine` bound to its first instance.
StatusOr<std::unique_ptr<DeviceContext>> make_device_context(
    std::shared_ptr<CudaDeviceEngine> engine);

}  // namespace tarmac::cuda
