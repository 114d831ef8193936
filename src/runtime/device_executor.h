// DeviceExecutor: one DeviceEngine with one DeviceContext behind the simplest call shape
// (runtime/device_engine.h has the parts): static shapes, weights uploaded once, one stream,
// optional CUDA graph replay, pinned staging buffers for inputs and outputs.
//   DeviceExecutorOptions o; o.input_shapes = {{"images", {1, 3, 416, 416}}};
//   auto ex = DeviceExecutor::create(std::move(model), o);
//   std::vector<Tensor> outs;
//   Status s = (*ex)->run({{"images", x}}, &outs);
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "runtime/device_engine.h"

namespace tarmac {

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
  /// Per-layer GPU time in milliseconds on the last run()'s inputs, in layer order (see
  /// DeviceContext::profile_layers).
  virtual StatusOr<std::vector<double>> profile_layers(int iterations) = 0;
  virtual const DeviceMemoryReport& memory() const = 0;
  virtual const std::vector<DeviceLayer>& layers() const = 0;
  virtual std::string device_name() const = 0;
};

}  // namespace tarmac
