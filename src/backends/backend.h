// The backend interface: what the builder and runtime ask of every backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace tarmac {

/// A non-owning view of contiguous row-major tensor memory (host or device).
struct TensorView {
  DType dtype = DType::kUndefined;
  Dims dims;
  void* data = nullptr;
  int64_t numel() const { return num_elements(dims); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

/// What a device kernel receives at enqueue time. The fields are opaque here so this header
/// stays free of CUDA; the CUDA backend reads them as cudaStream_t and its handle bundle.
struct LaunchContext {
  void* stream = nullptr;
  void* handles = nullptr;  // backend-owned per-context library handles (cuDNN, cuBLASLt)
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

/// Build-time choices a device kernel is specialized for.
struct KernelConfig {
  /// TF32 tensor-core math for float32 convolutions and GEMMs (TensorRT's default).
  bool allow_tf32 = true;
  /// The implementation variant the builder chose by timing (one of the kernel's
  /// tactic_candidates()); "" = the kernel's own default.
  std::string tactic;
};

/// One node's device form: shapes are static (taken from the node's inferred value types)
/// and outputs are preallocated by the runtime's memory plan.
class DeviceKernel {
 public:
  virtual ~DeviceKernel() = default;
  /// One-time device-side setup before the first enqueue (algorithm selection, descriptor
  /// creation); ctx has the stream and handles but no workspace yet.
  virtual Status initialize(const LaunchContext& ctx) {
    (void)ctx;
    return Status::ok();
  }
  /// Scratch bytes one launch needs (valid after initialize); the runtime provides them.
  virtual size_t workspace_bytes() const { return 0; }
  /// The variants this node could run with, valid after initialize(), default first; empty
  /// when the kernel has one implementation. The builder times them (builder/tactics.h).
  virtual std::vector<std::string> tactic_candidates() const { return {}; }
  /// The variant in use ("" when there are none).
  virtual std::string tactic() const { return ""; }
  /// Enqueues the node's work on ctx.stream. Must not synchronize or allocate.
  virtual Status enqueue(const std::vector<TensorView>& inputs,
                         const std::vector<TensorView>& outputs, const LaunchContext& ctx) = 0;
};

/// One node's executable form, bound to a backend and a tactic.
class Kernel {
 public:
  virtual ~Kernel() = default;
  /// `inputs[i]` is nullptr for an absent optional input; outputs are assigned by the kernel.
  virtual Status run(const std::vector<const Tensor*>& inputs, std::vector<Tensor>* outputs) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;
  /// OK when this backend can run the node, else a Status saying why not.
  virtual Status supports(const Node& node, int64_t opset) const = 0;
  /// Implementation variants the builder may time; the first is the default.
  virtual std::vector<std::string> tactics(const Node& node, int64_t opset) const = 0;
  virtual StatusOr<std::unique_ptr<Kernel>> make_kernel(const Node& node, int64_t opset,
                                                        const std::string& tactic) const = 0;
  /// True for backends whose tensors live in device memory (make_device_kernel).
  virtual bool is_device() const { return false; }
  /// The device form of a node whose value types are all static.
  virtual StatusOr<std::unique_ptr<DeviceKernel>> make_device_kernel(
      const Node& node, int64_t opset, const std::string& tactic,
      const KernelConfig& config) const {
    (void)opset, (void)tactic, (void)config;
    return unsupported("{}: backend '{}' has no device kernels", node.describe(), name());
  }
};

/// The CPU reference backend (src/backends/cpu).
std::unique_ptr<Backend> make_cpu_backend();

/// Runs one node on the CPU reference kernels (used for constant folding).
StatusOr<std::vector<Tensor>> evaluate_node_on_cpu(const Node& node, int64_t opset,
                                                   const std::vector<const Tensor*>& inputs);

}  // namespace tarmac
