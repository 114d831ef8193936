// CUDA kernels of the reduce family: ReduceL2/Max/Mean/Min/Prod/Sum/SumSquare and
// ArgMax/ArgMin (this file), Softmax/LogSoftmax/CumSum (reduce_softmax.cc), TopK
// (reduce_topk.cc); the vision ops Resize/Upsample (vision_resize.cc) and GridSample /
// NonMaxSuppression (vision_grid_sample.cc) register from here too.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/reduce_kernels.cuh"
#include "backends/cuda/kernels/shape.h"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {

// Factories defined in the other files of the family.
StatusOr<std::unique_ptr<DeviceKernel>> make_softmax(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_log_softmax(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_cumsum(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_topk(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_resize(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_upsample(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_grid_sample(const KernelArgs& a);
StatusOr<std::unique_ptr<DeviceKernel>> make_non_max_suppression(const KernelArgs& a);

namespace {

/// Blocks the GPU should see at once before a reduction is split across blocks.
constexpr int64_t kTargetBlocks = 1024;
/// Elements each thread should reduce at least, per split.
constexpr int64_t kMinPerThread = 16;
constexpr int64_t kMaxGrid = std::numeric_limits<int32_t>::max();

}  // namespace

ReducePlan make_reduce_plan(const int64_t* dims, const bool* reduced, int rank) {
  struct Block {
    int64_t size;
    bool reduced;
  };
  std::vector<Block> blocks;
  int64_t kept_total = 1, red_total = 1;
  for (int k = 0; k < rank; ++k) {
    if (reduced[k]) {
      red_total *= dims[k];
    } else {
      kept_total *= dims[k];
    }
    if (dims[k] == 1) continue;
    if (!blocks.empty() && blocks.back().reduced == reduced[k]) {
      blocks.back().size *= dims[k];
    } else {
      blocks.push_back({dims[k], reduced[k]});
    }
  }
  ReducePlan p;
  ReduceGeom& g = p.g;
  std::vector<int64_t> strides(blocks.size());
  int64_t stride = 1;
  for (size_t b = blocks.size(); b-- > 0;) {
    strides[b] = stride;
    stride *= blocks[b].size;
  }
  const bool inner_kept = !blocks.empty() && !blocks.back().reduced;
  if (inner_kept) g.inner = blocks.back().size;
  // Kept strides are in units of `inner` (the column kernel multiplies back), reduced strides
  // likewise when the innermost block is kept.
  const int64_t unit = g.inner;
  for (size_t b = 0; b < blocks.size(); ++b) {
    if (inner_kept && b + 1 == blocks.size()) break;
    if (blocks[b].reduced) {
      g.red_size[g.nred] = blocks[b].size;
      g.red_stride[g.nred] = strides[b] / unit;
      ++g.nred;
    } else {
      g.kept_size[g.nkept] = blocks[b].size;
      g.kept_stride[g.nkept] = strides[b] / unit;
      ++g.nkept;
    }
  }
  g.count = red_total;
  g.rows = g.inner == 0 ? 0 : kept_total / std::max<int64_t>(g.inner, 1);
  if (kept_total == 0) g.rows = 0;

  int64_t base_blocks = 0, lanes = 0;
  if (g.inner == 1) {
    p.warp_per_row = g.count <= 512;
    base_blocks = p.warp_per_row ? (g.rows + 7) / 8 : g.rows;
    lanes = p.warp_per_row ? 32 : 256;
  } else {
    p.col_x = g.inner <= 32 ? 32 : (g.inner <= 64 ? 64 : 128);
    base_blocks = g.rows * ((g.inner + p.col_x - 1) / p.col_x);
    lanes = 256 / p.col_x;
  }
  int64_t splits = 1;
  if (base_blocks > 0 && base_blocks < kTargetBlocks) {
    splits = std::min((kTargetBlocks + base_blocks - 1) / base_blocks,
                      g.count / (lanes * kMinPerThread));
    splits = std::clamp<int64_t>(splits, 1, 65535);
  }
  p.chunk = std::max<int64_t>(1, (g.count + splits - 1) / splits);
  p.splits = std::max<int64_t>(1, (g.count + p.chunk - 1) / p.chunk);
  return p;
}

namespace {

/// Reduces with a precomputed plan; a no-op reduction (noop_with_empty_axes) copies.
class ReduceKernel final : public DeviceKernel {
 public:
  ReduceKernel(ReduceKind kind, DType dtype, ReducePlan plan, bool copy, size_t copy_bytes)
      : kind_(kind), dtype_(dtype), plan_(plan), copy_(copy), copy_bytes_(copy_bytes) {}
  size_t workspace_bytes() const override {
    return copy_ ? 0 : reduce_workspace_bytes(kind_, dtype_, plan_);
  }
  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    if (copy_) {
      if (copy_bytes_ > 0)
        TARMAC_CUDA_CHECK(cudaMemcpyAsync(out[0].data, in[0].data, copy_bytes_,
                                          cudaMemcpyDeviceToDevice, stream_of(ctx)));
      return Status::ok();
    }
    TARMAC_CUDA_CHECK(launch_reduce(kind_, dtype_, plan_, in[0].data, out[0].data, ctx.workspace,
                                    stream_of(ctx)));
    return Status::ok();
  }

 private:
  ReduceKind kind_;
  DType dtype_;
  ReducePlan plan_;
  bool copy_;
  size_t copy_bytes_;
};

bool reduce_dtype_ok(ReduceKind kind, DType t) {
  if (is_floating(t) || t == DType::kInt32 || t == DType::kInt64) return true;
  if (kind == ReduceKind::kMax || kind == ReduceKind::kMin)
    return t == DType::kInt8 || t == DType::kUint8 || t == DType::kBool;
  return false;
}

Status check_grid(const KernelArgs& a, const ReducePlan& p) {
  const int64_t x_blocks = p.g.inner == 1 ? (p.warp_per_row ? (p.g.rows + 7) / 8 : p.g.rows)
                                          : p.g.rows * ((p.g.inner + p.col_x - 1) / p.col_x);
  if (x_blocks > kMaxGrid)
    return unsupported("{}: {} outputs need more blocks than one launch has", a.node.describe(),
                       p.g.rows * p.g.inner);
  return Status::ok();
}

StatusOr<std::unique_ptr<DeviceKernel>> make_reduce(const KernelArgs& a, ReduceKind kind) {
  const Node& node = a.node;
  if (!a.has_input(0)) return unsupported("{}: input 'data' is missing", node.describe());
  const DType dt = a.in(0).dtype;
  if (!reduce_dtype_ok(kind, dt))
    return unsupported("{}: input dtype {} is not supported", node.describe(), dtype_name(dt));
  const Dims dims = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank > kMaxRank)
    return unsupported("{}: rank {} is above {}", node.describe(), rank, kMaxRank);

  std::vector<int64_t> axes;
  bool noop = false;
  const bool from_input = node.op_type == "ReduceSum" ? a.opset >= 13 : a.opset >= 18;
  if (from_input) {
    noop = node.attr_int("noop_with_empty_axes", 0) != 0;
    if (a.has_input(1)) {
      const Tensor* t = a.constant(1);
      if (!t) return unsupported("{}: axes is computed at run time", node.describe());
      if (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32)
        return node_error(node, "axes must be int64, got {}", dtype_name(t->dtype()));
      if (t->rank() > 1) return node_error(node, "axes must be 1-D, got rank {}", t->rank());
      axes = t->to_int64_vector();
    } else if (node.has_attr("axes")) {
      axes = node.attr_ints("axes");
    }
  } else {
    axes = node.attr_ints("axes");
  }
  const size_t bytes = static_cast<size_t>(num_elements(dims)) * dtype_size(dt);
  if (axes.empty() && noop)
    return std::unique_ptr<DeviceKernel>(new ReduceKernel(kind, dt, ReducePlan{}, true, bytes));

  bool reduced[kMaxRank] = {};
  for (int64_t ax : axes) {
    if (ax < -rank || ax >= rank)
      return node_error(node, "axis {} is out of range for an input of rank {}", ax, rank);
    const int64_t k = ax < 0 ? ax + rank : ax;
    if (reduced[k]) return node_error(node, "axis {} is listed twice", ax);
    reduced[k] = true;
  }
  if (axes.empty())
    for (int64_t k = 0; k < rank; ++k) reduced[k] = true;
  ReducePlan p = make_reduce_plan(dims.data(), reduced, static_cast<int>(rank));
  TARMAC_RETURN_IF_ERROR(check_grid(a, p));
  if (p.g.rows * p.g.inner != num_elements(static_dims(a.out(0).shape)))
    return internal_error("{}: reduction plan disagrees with the inferred output", node.describe());
  return std::unique_ptr<DeviceKernel>(new ReduceKernel(kind, dt, p, false, 0));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_arg(const KernelArgs& a, ReduceKind kind) {
  const Node& node = a.node;
  if (!a.has_input(0)) return unsupported("{}: input 'data' is missing", node.describe());
  const DType dt = a.in(0).dtype;
  if (!is_floating(dt) && !is_integer(dt))
    return unsupported("{}: input dtype {} is not supported", node.describe(), dtype_name(dt));
  const Dims dims = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (rank == 0) return node_error(node, "input must have rank >= 1");
  if (rank > kMaxRank)
    return unsupported("{}: rank {} is above {}", node.describe(), rank, kMaxRank);
  int64_t axis = node.attr_int("axis", 0);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for an input of rank {}", axis, rank);
  if (axis < 0) axis += rank;
  bool reduced[kMaxRank] = {};
  reduced[axis] = true;
  ReducePlan p = make_reduce_plan(dims.data(), reduced, static_cast<int>(rank));
  p.select_last = a.opset >= 12 && node.attr_int("select_last_index", 0) != 0;
  if (p.g.count == 0 && p.g.rows * p.g.inner > 0)
    return node_error(node, "cannot take the arg of an empty axis {}", axis);
  TARMAC_RETURN_IF_ERROR(check_grid(a, p));
  return std::unique_ptr<DeviceKernel>(new ReduceKernel(kind, dt, p, false, 0));
}

template <ReduceKind K>
StatusOr<std::unique_ptr<DeviceKernel>> make_reduce_op(const KernelArgs& a) {
  if constexpr (K == ReduceKind::kArgMax || K == ReduceKind::kArgMin) {
    return make_arg(a, K);
  } else {
    return make_reduce(a, K);
  }
}

}  // namespace

void register_reduce_kernels(KernelRegistry& r) {
  r.add("ReduceSum", &make_reduce_op<ReduceKind::kSum>);
  r.add("ReduceSumSquare", &make_reduce_op<ReduceKind::kSumSquare>);
  r.add("ReduceL2", &make_reduce_op<ReduceKind::kL2>);
  r.add("ReduceMean", &make_reduce_op<ReduceKind::kMean>);
  r.add("ReduceProd", &make_reduce_op<ReduceKind::kProd>);
  r.add("ReduceMax", &make_reduce_op<ReduceKind::kMax>);
  r.add("ReduceMin", &make_reduce_op<ReduceKind::kMin>);
  r.add("ArgMax", &make_reduce_op<ReduceKind::kArgMax>);
  r.add("ArgMin", &make_reduce_op<ReduceKind::kArgMin>);
  r.add("Softmax", &make_softmax);
  r.add("LogSoftmax", &make_log_softmax);
  r.add("CumSum", &make_cumsum);
  r.add("TopK", &make_topk);
  r.add("Resize", &make_resize);
  r.add("Upsample", &make_upsample);
  r.add("GridSample", &make_grid_sample);
  r.add("NonMaxSuppression", &make_non_max_suppression);
}

}  // namespace tarmac::cuda
