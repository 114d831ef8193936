// Factories of Softmax/LogSoftmax (opset < 13: 2-D coercion at axis; >= 13: one axis) and
// CumSum (axis as a constant input, exclusive, reverse).
#include <cstdint>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/reduce_softmax.cuh"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {

namespace {

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

/// dims[:begin] -> outer, dims[begin:end] -> n, dims[end:] -> inner.
AxisSplit split_dims(const Dims& dims, int64_t begin, int64_t end) {
  AxisSplit v;
  for (int64_t k = 0; k < static_cast<int64_t>(dims.size()); ++k) {
    const int64_t d = dims[static_cast<size_t>(k)];
    if (k < begin) {
      v.outer *= d;
    } else if (k < end) {
      v.n *= d;
    } else {
      v.inner *= d;
    }
  }
  return v;
}

constexpr int64_t kMaxBlocks = 2147483647;

class SoftmaxKernel final : public DeviceKernel {
 public:
  SoftmaxKernel(DType dt, bool log, AxisSplit v) : dt_(dt), log_(log), v_(v) {}
  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    TARMAC_CUDA_CHECK(launch_softmax(dt_, log_, v_.outer, v_.n, v_.inner, in[0].data, out[0].data,
                                     stream_of(ctx)));
    return Status::ok();
  }

 private:
  DType dt_;
  bool log_;
  AxisSplit v_;
};

StatusOr<std::unique_ptr<DeviceKernel>> make_softmax_kind(const KernelArgs& a, bool log) {
  const Node& node = a.node;
  if (!a.has_input(0)) return unsupported("{}: input is missing", node.describe());
  const DType dt = a.in(0).dtype;
  if (!is_floating(dt))
    return unsupported("{}: input dtype {} is not supported (floating types only)", node.describe(),
                       dtype_name(dt));
  const Dims dims = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  const bool coerce_2d = a.opset < 13;
  int64_t axis = node.attr_int("axis", coerce_2d ? 1 : -1);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for an input of rank {}", axis, rank);
  if (axis < 0) axis += rank;
  const AxisSplit v = split_dims(dims, axis, coerce_2d ? rank : axis + 1);
  if (v.inner == 1 && v.n > kSoftmaxWarpRow ? v.outer > kMaxBlocks : v.outer / 8 > kMaxBlocks)
    return unsupported("{}: {} rows are more than one launch takes", node.describe(), v.outer);
  return std::unique_ptr<DeviceKernel>(new SoftmaxKernel(dt, log, v));
}

class CumSumKernel final : public DeviceKernel {
 public:
  CumSumKernel(DType dt, bool exclusive, bool reverse, AxisSplit v)
      : dt_(dt), exclusive_(exclusive), reverse_(reverse), v_(v) {}
  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    TARMAC_CUDA_CHECK(launch_cumsum(dt_, exclusive_, reverse_, v_.outer, v_.n, v_.inner, in[0].data,
                                    out[0].data, stream_of(ctx)));
    return Status::ok();
  }

 private:
  DType dt_;
  bool exclusive_, reverse_;
  AxisSplit v_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_softmax(const KernelArgs& a) {
  return make_softmax_kind(a, false);
}
StatusOr<std::unique_ptr<DeviceKernel>> make_log_softmax(const KernelArgs& a) {
  return make_softmax_kind(a, true);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_cumsum(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(node, "expects inputs 'x' and 'axis'");
  const DType dt = a.in(0).dtype;
  if (!is_floating(dt) && dt != DType::kInt32 && dt != DType::kInt64)
    return unsupported("{}: input dtype {} is not supported", node.describe(), dtype_name(dt));
  const Tensor* at = a.constant(1);
  if (!at) return unsupported("{}: axis is computed at run time", node.describe());
  if (at->dtype() != DType::kInt32 && at->dtype() != DType::kInt64)
    return node_error(node, "axis must be int32 or int64, got {}", dtype_name(at->dtype()));
  if (at->numel() != 1 || at->rank() > 1)
    return node_error(node, "axis must be a scalar, got shape {}", dims_to_string(at->dims()));
  const Dims dims = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  int64_t axis = at->as_int64(0);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for an input of rank {}", axis, rank);
  if (axis < 0) axis += rank;
  const AxisSplit v = split_dims(dims, axis, axis + 1);
  if (v.outer > kMaxBlocks)
    return unsupported("{}: {} rows are more than one launch takes", node.describe(), v.outer);
  return std::unique_ptr<DeviceKernel>(new CumSumKernel(dt, node.attr_int("exclusive", 0) != 0,
                                                        node.attr_int("reverse", 0) != 0, v));
}

}  // namespace tarmac::cuda
