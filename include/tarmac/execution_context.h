// ExecutionContext: one stream's inference state of an Engine (TensorRT's IExecutionContext).
//   auto ctx = engine->create_execution_context();
//   (*ctx)->set_optimization_profile(0);
//   (*ctx)->set_input_shape("images", {4, 3, 416, 416});   // within the profile's range
//   (*ctx)->set_tensor_address("images", d_images);          // device memory on CUDA
//   (*ctx)->set_tensor_address("output", d_output);
//   (*ctx)->enqueue(stream);                                 // or execute() synchronously
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tarmac/network.h"
#include "tarmac/status.h"

namespace tarmac {

class ExecutionContext {
 public:
  virtual ~ExecutionContext() = default;
  /// Selects the optimization profile whose ranges the input shapes must fit.
  virtual Status set_optimization_profile(int profile) = 0;
  virtual int optimization_profile() const = 0;
  /// A shape outside the profile's range is an error naming input, dimension and range.
  virtual Status set_input_shape(const std::string& name, const Dims& dims) = 0;
  /// The shape of an input or output for the current input shapes.
  virtual StatusOr<Dims> tensor_shape(const std::string& name) const = 0;
  /// Where an input is read from or an output written to: device memory on a CUDA engine,
  /// host memory on a CPU engine. Row-major, the tensor's own dtype.
  virtual Status set_tensor_address(const std::string& name, void* address) = 0;
  /// Enqueues one inference on `stream` (a cudaStream_t) and returns without waiting.
  virtual Status enqueue(void* stream) = 0;
  /// Runs one inference and waits for it (the CPU engine's only mode).
  virtual Status execute() = 0;
  /// Replay enqueues as a CUDA graph, captured per input-shape set.
  virtual void set_use_cuda_graph(bool on) = 0;
  /// Per-layer device time in milliseconds of the current inputs (layer order of layers()).
  virtual StatusOr<std::vector<double>> profile_layers(int iterations) = 0;
};

}  // namespace tarmac
