// DeviceExecutor: runs a graph with static shapes on the CUDA backend — every activation in
// one device arena planned by lifetime, weights uploaded once, one stream, optional CUDA graph
// replay, pinned staging buffers for inputs and outputs.
//   DeviceExecutorOptions o; o.input_shapes = {{"images", {1, 3, 416, 416}}};
//   auto ex = DeviceExecutor::create(std::move(model), o);
//   std::vector<Tensor> outs;
//   Status s = (*ex)->run({{"images", x}}, &outs);
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"
#include "ir/graph.h"

namespace tarmac {

struct DeviceExecutorOptions {
  /// Static shapes for inputs with symbolic dims (every input must end up static).
  std::map<std::string, Dims> input_shapes;
  /// Run the graph passes first (the builder's view, with internal fused nodes).
  bool optimize = true;
  KernelConfig config;
  /// kFloat32, or kFloat16 / kBFloat16 to compute in half precision (builder/precision.h);
  /// inputs and outputs keep their float32 interface.
  DType precision = DType::kFloat32;
  /// Layers kept in float32 when precision is half.
  std::set<std::string> keep_fp32;
  /// Run nodes without a CUDA kernel on the CPU reference (copies both ways, no CUDA graph).
  /// Off by default: such nodes are an error listing them.
  bool allow_cpu_fallback = false;
  /// Capture the enqueue sequence once and replay it as a CUDA graph.
  bool use_cuda_graph = false;
  std::function<void(const std::string&)> log;
};

struct DeviceMemoryReport {
  size_t arena_bytes = 0;        // activations (graph inputs and outputs included)
  size_t lower_bound_bytes = 0;  // peak of simultaneously live activation bytes
  size_t weight_bytes = 0;       // constants uploaded once
  size_t workspace_bytes = 0;    // largest scratch any kernel asked for
};

struct DeviceLayer {
  std::string name;     // ONNX node names joined with " + " for fused layers
  std::string op_type;  // with "+Activation" for fused epilogues
  std::string device;   // "cuda" or "cpu" (fallback)
};

class DeviceExecutor {
 public:
  virtual ~DeviceExecutor() = default;
  /// Fails with kUnavailable without a CUDA device or in a build without CUDA, and with
  /// kUnsupported listing the nodes that have no CUDA kernel (unless CPU fallback is on).
  static StatusOr<std::unique_ptr<DeviceExecutor>> create(Model model,
                                                          const DeviceExecutorOptions& options);

  /// Host inputs in, host outputs out (synchronous).
  virtual Status run(const std::vector<std::pair<std::string, Tensor>>& inputs,
                     std::vector<Tensor>* outputs) = 0;
  /// Re-runs only the device work on the inputs of the last run() and returns its GPU time
  /// in milliseconds (CUDA events), for benchmarks.
  virtual StatusOr<double> time_compute() = 0;
  /// Per-layer GPU time in milliseconds (mean over `iterations` runs of the device work on
  /// the last run()'s inputs, CUDA events around each layer, no CUDA graph), in layer order.
  virtual StatusOr<std::vector<double>> profile_layers(int iterations) = 0;
  virtual const DeviceMemoryReport& memory() const = 0;
  virtual const std::vector<DeviceLayer>& layers() const = 0;
  virtual std::string device_name() const = 0;
};

}  // namespace tarmac
