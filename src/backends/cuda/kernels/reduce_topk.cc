// Factory of TopK: K from the attribute (opset < 10) or a constant input; always sorted,
// ties to the lower index, as the CPU reference.
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/reduce_topk.cuh"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {

TopKRounds topk_rounds(int64_t n, int64_t k) {
  TopKRounds r;
  int64_t len = n;
  while (len > kTopKChunk && r.count < 32) {
    len = (len + kTopKChunk - 1) / kTopKChunk * k;
    r.length[r.count++] = len;
  }
  return r;
}

namespace {

class TopKKernel final : public DeviceKernel {
 public:
  TopKKernel(DType dt, bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k)
      : dt_(dt),
        largest_(largest),
        outer_(outer),
        n_(n),
        inner_(inner),
        k_(k),
        rounds_(topk_rounds(n, k)) {}
  size_t workspace_bytes() const override {
    return topk_workspace_bytes(dt_, outer_ * inner_, rounds_);
  }
  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    TARMAC_CUDA_CHECK(launch_topk(dt_, largest_, outer_, n_, inner_, k_, rounds_, in[0].data,
                                  out[0].data, out[1].data, ctx.workspace, stream_of(ctx)));
    return Status::ok();
  }

 private:
  DType dt_;
  bool largest_;
  int64_t outer_, n_, inner_, k_;
  TopKRounds rounds_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_topk(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0)) return node_error(node, "input 'X' is missing");
  const DType dt = a.in(0).dtype;
  if (!is_floating(dt) && !is_integer(dt))
    return unsupported("{}: input dtype {} is not supported", node.describe(), dtype_name(dt));
  if (node.outputs.size() < 2 || !node.outputs[0] || !node.outputs[1])
    return unsupported("{}: both outputs (values, indices) must be present", node.describe());
  const Dims dims = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  int64_t axis = node.attr_int("axis", -1);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for an input of rank {}", axis, rank);
  if (axis < 0) axis += rank;
  int64_t k = 0;
  if (a.opset < 10) {
    if (!node.has_attr("k")) return node_error(node, "attribute 'k' is required before opset 10");
    k = node.attr_int("k", 0);
  } else {
    if (!a.has_input(1)) return node_error(node, "input 'K' is missing");
    const Tensor* kt = a.constant(1);
    if (!kt) return unsupported("{}: K is computed at run time", node.describe());
    if (kt->dtype() != DType::kInt64 && kt->dtype() != DType::kInt32)
      return node_error(node, "K must be int64, got {}", dtype_name(kt->dtype()));
    if (kt->numel() != 1)
      return node_error(node, "K must hold exactly one value, got shape {}",
                        dims_to_string(kt->dims()));
    k = kt->as_int64(0);
  }
  const bool largest = a.opset < 11 || node.attr_int("largest", 1) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= dims[static_cast<size_t>(d)];
  const int64_t n = dims[static_cast<size_t>(axis)];
  if (k < 0) return node_error(node, "K must be non-negative, got {}", k);
  if (k > n)
    return node_error(node, "K = {} is larger than dimension {} (size {}) of the input", k, axis,
                      n);
  if (n > kTopKChunk && k > kTopKMaxSplitK)
    return unsupported("{}: K = {} above {} on an axis longer than {} is not supported",
                       node.describe(), k, kTopKMaxSplitK, kTopKChunk);
  if (n >= (int64_t{1} << 31) || outer * inner >= (int64_t{1} << 31) ||
      (n + kTopKChunk - 1) / kTopKChunk > 65535)
    return unsupported("{}: input {} is too large for the TopK kernel", node.describe(),
                       dims_to_string(dims));
  return std::unique_ptr<DeviceKernel>(new TopKKernel(dt, largest, outer, n, inner, k));
}

}  // namespace tarmac::cuda
