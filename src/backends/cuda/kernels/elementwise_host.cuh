// Host-side pieces shared by the elementwise factories (elementwise.cc, elementwise_misc.cc);
// include from .cc files only.
#pragma once

#include <cuda_runtime.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/kernels/elementwise_launch.cuh"
#include "backends/cuda/registry.h"

namespace tarmac::cuda::ew {

/// A DeviceKernel whose enqueue is one launch function; a failed launch becomes an internal
/// error naming the node.
class LaunchKernel final : public DeviceKernel {
 public:
  using Fn = std::function<cudaError_t(const std::vector<TensorView>& inputs,
                                       const std::vector<TensorView>& outputs, void* workspace,
                                       cudaStream_t stream)>;
  LaunchKernel(const KernelArgs& a, Fn fn, size_t workspace = 0);
  size_t workspace_bytes() const override { return workspace_; }
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override;

 private:
  std::string what_;
  size_t num_inputs_, num_outputs_;
  Fn fn_;
  size_t workspace_;
};

StatusOr<std::unique_ptr<DeviceKernel>> launch_kernel(const KernelArgs& a, LaunchKernel::Fn fn,
                                                      size_t workspace = 0);

/// Static dims of input/output i.
Dims in_dims(const KernelArgs& a, size_t i);
Dims out_dims(const KernelArgs& a, size_t i);

/// Checks that every input broadcasts (numpy) onto `out` and collapses the layout; kUnsupported
/// when more than kMaxRank dims remain.
template <int N>
StatusOr<BroadcastLayout<N>> broadcast_layout(const KernelArgs& a, const Dims& out,
                                              const std::vector<Dims>& ins);

/// Registers Sum/Mean/Max/Min, Where, Clip, Cast, CastLike, Identity, Dropout, QuantizeLinear
/// and DequantizeLinear (elementwise_misc.cc).
void register_elementwise_misc_kernels(KernelRegistry& r);

}  // namespace tarmac::cuda::ew
