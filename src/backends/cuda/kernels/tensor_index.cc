// CUDA kernels of the indexing ops: Gather, GatherElements, GatherND, ScatterElements,
// ScatterND. Indices are run-time data; the CPU reference rejects an out-of-range index with
// an error, which a device kernel cannot return: gathers read zeros for it and scatters skip
// it. Constant indices are checked at build time, giving the CPU reference's error.
#include "backends/cuda/kernels/tensor_index.cuh"
#include "backends/cuda/kernels/tensor_common.h"

namespace tarmac::cuda {

namespace {

using KernelPtr = StatusOr<std::unique_ptr<DeviceKernel>>;
using tensor_ops::Reduction;

static_assert(static_cast<int>(ScatterOp::kAdd) == static_cast<int>(Reduction::kAdd) &&
                  static_cast<int>(ScatterOp::kMul) == static_cast<int>(Reduction::kMul) &&
                  static_cast<int>(ScatterOp::kMax) == static_cast<int>(Reduction::kMax) &&
                  static_cast<int>(ScatterOp::kMin) == static_cast<int>(Reduction::kMin),
              "ScatterOp numbers the reductions as tensor_ops::Reduction");

int64_t span(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t k = b; k < e; ++k) p *= d[k];
  return p;
}

/// When input i holds constant indices into an axis of size n, fails as the CPU reference
/// would on the first one outside [-n, n).
Status check_constant_indices(const KernelArgs& a, size_t i, int64_t n) {
  const Tensor* t = a.constant(i);
  if (!t) return Status::ok();
  for (int64_t v : t->to_int64_vector()) {
    if (v < -n || v >= n) {
      return node_error(a.node, "index {} is out of range for an axis of size {}", v, n);
    }
  }
  return Status::ok();
}

/// The indices' dtype as the launchers take it.
StatusOr<bool> index_is_64(const KernelArgs& a, size_t i) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::check_index_dtype(a.node, a.in(i).dtype, "indices"));
  return a.in(i).dtype == DType::kInt64;
}

// ---- Gather ----

class GatherKernel final : public DeviceKernel {
 public:
  GatherKernel(bool idx64, int64_t outer, int64_t axis_len, int64_t count, int64_t inner_bytes)
      : idx64_(idx64), outer_(outer), axis_len_(axis_len), count_(count), inner_(inner_bytes) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [outer, axis_len, inner], indices [count...]   out: [outer, count..., inner]
    TARMAC_CUDA_CHECK(launch_gather(inputs[0].data, inputs[1].data, idx64_, outputs[0].data, outer_,
                                    axis_len_, count_, inner_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  bool idx64_;
  int64_t outer_, axis_len_, count_, inner_;  // inner_ in bytes
};

KernelPtr make_gather(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 2));
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  TARMAC_ASSIGN_OR_RETURN(bool idx64, index_is_64(a, 1));
  const Dims x = dims_of(a.in(0));
  if (x.empty()) return node_error(a.node, "data must have rank >= 1");
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a.node, a.node.attr_int("axis", 0),
                                                       static_cast<int64_t>(x.size())));
  const auto ax = static_cast<size_t>(axis);
  TARMAC_RETURN_IF_ERROR(check_constant_indices(a, 1, x[ax]));
  const int64_t inner = span(x, ax + 1, x.size()) * elem_size(a.in(0).dtype);
  return std::unique_ptr<DeviceKernel>(std::make_unique<GatherKernel>(
      idx64, span(x, 0, ax), x[ax], num_elements(dims_of(a.in(1))), inner));
}

// ---- GatherElements ----

class GatherElementsKernel final : public DeviceKernel {
 public:
  GatherElementsKernel(bool idx64, int elem, Shape8 dims, Shape8 data_strides, int axis,
                       int64_t axis_len)
      : idx64_(idx64),
        elem_(elem),
        dims_(dims),
        data_strides_(data_strides),
        axis_(axis),
        axis_len_(axis_len) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [data dims], indices [dims]   out: [dims]
    TARMAC_CUDA_CHECK(launch_gather_elements(inputs[0].data, inputs[1].data, idx64_,
                                             outputs[0].data, elem_, dims_, data_strides_, axis_,
                                             axis_len_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  bool idx64_;
  int elem_;
  Shape8 dims_, data_strides_;
  int axis_;
  int64_t axis_len_;
};

/// GatherElements/ScatterElements checks shared with the CPU reference: one rank, indices no
/// larger than data off the axis. Returns the normalized axis.
StatusOr<int64_t> elements_axis(const KernelArgs& a, const Dims& x, const Dims& idx) {
  if (x.empty() || idx.size() != x.size()) {
    return node_error(a.node, "data {} and indices {} must have the same rank >= 1",
                      dims_to_string(x), dims_to_string(idx));
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(a.node, a.node.attr_int("axis", 0),
                                                       static_cast<int64_t>(x.size())));
  for (size_t k = 0; k < x.size(); ++k) {
    if (static_cast<int64_t>(k) != axis && idx[k] > x[k]) {
      return node_error(a.node, "indices {} exceed data {} on axis {}", dims_to_string(idx),
                        dims_to_string(x), k);
    }
  }
  TARMAC_RETURN_IF_ERROR(check_constant_indices(a, 1, x[static_cast<size_t>(axis)]));
  return axis;
}

KernelPtr make_gather_elements(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 2));
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, a.in(0).dtype));
  TARMAC_ASSIGN_OR_RETURN(bool idx64, index_is_64(a, 1));
  const Dims x = dims_of(a.in(0)), idx = dims_of(a.in(1));
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, elements_axis(a, x, idx));
  TARMAC_ASSIGN_OR_RETURN(Shape8 dims, shape8(a.node, idx, "indices"));
  TARMAC_ASSIGN_OR_RETURN(Shape8 strides, shape8(a.node, row_major_strides(x), "data"));
  return std::unique_ptr<DeviceKernel>(
      std::make_unique<GatherElementsKernel>(idx64, elem_size(a.in(0).dtype), dims, strides,
                                             static_cast<int>(axis), x[static_cast<size_t>(axis)]));
}

// ---- GatherND, ScatterND ----

/// Where the index tuples point (tensor_index.cuh), for data dims x, indices dims idx and b
/// batch dims; *slice gets the elements each tuple addresses.
StatusOr<NdIndexing> nd_indexing(const KernelArgs& a, const Dims& x, const Dims& idx, int64_t b,
                                 int64_t* slice) {
  const int64_t k = idx.back();
  const Dims xs = row_major_strides(x);
  NdIndexing nd;
  const auto bu = static_cast<size_t>(b), ku = static_cast<size_t>(k);
  TARMAC_ASSIGN_OR_RETURN(
      nd.dims, shape8(a.node, Dims(x.begin() + b, x.begin() + b + k), "indexed data dims"));
  TARMAC_ASSIGN_OR_RETURN(
      nd.strides, shape8(a.node, Dims(xs.begin() + b, xs.begin() + b + k), "indexed data dims"));
  nd.tuples = num_elements(idx) / k;
  const int64_t batches = span(idx, 0, bu);
  nd.per_batch = batches > 0 && nd.tuples > 0 ? nd.tuples / batches : 1;
  nd.batch_stride = span(x, bu, x.size());
  *slice = span(x, bu + ku, x.size());
  return nd;
}

class GatherNdKernel final : public DeviceKernel {
 public:
  GatherNdKernel(bool idx64, int elem, NdIndexing nd, int64_t slice)
      : idx64_(idx64), elem_(elem), nd_(nd), slice_(slice) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [batch..., indexed..., slice...], indices [batch..., tuples..., k]
    // out: [batch..., tuples..., slice...]
    TARMAC_CUDA_CHECK(launch_gather_nd(inputs[0].data, inputs[1].data, idx64_, outputs[0].data,
                                       elem_, nd_, slice_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  bool idx64_;
  int elem_;
  NdIndexing nd_;
  int64_t slice_;  // elements per tuple
};

KernelPtr make_gather_nd(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 2));
  const Node& n = a.node;
  TARMAC_RETURN_IF_ERROR(check_elem(n, a.in(0).dtype));
  TARMAC_ASSIGN_OR_RETURN(bool idx64, index_is_64(a, 1));
  const Dims x = dims_of(a.in(0)), idx = dims_of(a.in(1));
  const int64_t b = a.opset >= 12 ? n.attr_int("batch_dims", 0) : 0;
  const auto r = static_cast<int64_t>(x.size()), q = static_cast<int64_t>(idx.size());
  if (q < 1 || r < 1) return node_error(n, "data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q)) {
    return node_error(n, "batch_dims {} must be in [0, min(rank(data) {}, rank(indices) {}))", b, r,
                      q);
  }
  const int64_t k = idx.back();
  if (k < 1 || k > r - b) {
    return node_error(n, "indices' last dimension {} must be in [1, {}]", k, r - b);
  }
  for (size_t i = 0; i < static_cast<size_t>(b); ++i) {
    if (x[i] != idx[i]) {
      return node_error(n, "batch dimension {} is {} in data but {} in indices", i, x[i], idx[i]);
    }
  }
  int64_t slice = 0;
  TARMAC_ASSIGN_OR_RETURN(NdIndexing nd, nd_indexing(a, x, idx, b, &slice));
  return std::unique_ptr<DeviceKernel>(
      std::make_unique<GatherNdKernel>(idx64, elem_size(a.in(0).dtype), nd, slice));
}

/// Scatters copy data into the output first, then update it in place.
Status copy_data(const TensorView& in, const TensorView& out, cudaStream_t s) {
  if (out.nbytes() > 0 && in.data != out.data) {
    TARMAC_CUDA_CHECK(
        cudaMemcpyAsync(out.data, in.data, out.nbytes(), cudaMemcpyDeviceToDevice, s));
  }
  return Status::ok();
}

/// Tuple and update counts are stored + 1 in uint32 scratch.
Status check_update_count(const Node& n, int64_t count) {
  if (count >= int64_t{0xFFFFFFFF}) {
    return unsupported("{}: {} updates exceed the CUDA kernel's 2^32 - 1", n.describe(), count);
  }
  return Status::ok();
}

class ScatterNdKernel final : public DeviceKernel {
 public:
  ScatterNdKernel(const Node& n, bool idx64, DType dtype, NdIndexing nd, int64_t slice,
                  ScatterOp op, int64_t slots)
      : describe_(n.describe()),
        idx64_(idx64),
        dtype_(dtype),
        nd_(nd),
        slice_(slice),
        op_(op),
        slots_(slots) {}
  size_t workspace_bytes() const override {
    return op_ == ScatterOp::kNone ? static_cast<size_t>(slots_) * sizeof(uint32_t) : 0;
  }
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [indexed..., slice...], indices [tuples..., k], updates [tuples..., slice...]
    if (ctx.workspace_bytes < workspace_bytes()) {
      return internal_error("{}: workspace of {} bytes given, {} needed", describe_,
                            ctx.workspace_bytes, workspace_bytes());
    }
    TARMAC_RETURN_IF_ERROR(copy_data(inputs[0], outputs[0], stream_of(ctx)));
    TARMAC_CUDA_CHECK(launch_scatter_nd(
        outputs[0].data, inputs[1].data, idx64_, inputs[2].data, dtype_, nd_, slice_, op_,
        static_cast<uint32_t*>(ctx.workspace), slots_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  std::string describe_;
  bool idx64_;
  DType dtype_;
  NdIndexing nd_;
  int64_t slice_;
  ScatterOp op_;
  int64_t slots_;  // numel(data) / slice
};

KernelPtr make_scatter_nd(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 3));
  const Node& n = a.node;
  TARMAC_ASSIGN_OR_RETURN(Reduction red, tensor_ops::scatter_reduction(n, a.opset));
  const DType dt = a.in(0).dtype;
  TARMAC_RETURN_IF_ERROR(check_elem(n, dt));
  TARMAC_ASSIGN_OR_RETURN(bool idx64, index_is_64(a, 1));
  if (a.in(2).dtype != dt) {
    return node_error(n, "updates are {} but data is {}", dtype_name(a.in(2).dtype),
                      dtype_name(dt));
  }
  const Dims x = dims_of(a.in(0)), idx = dims_of(a.in(1)), upd = dims_of(a.in(2));
  if (x.empty() || idx.empty()) return node_error(n, "data and indices need rank >= 1");
  const int64_t k = idx.back();
  if (k < 1 || k > static_cast<int64_t>(x.size())) {
    return node_error(n, "indices' last dimension {} must be in [1, {}]", k, x.size());
  }
  Dims want(idx.begin(), idx.end() - 1);
  want.insert(want.end(), x.begin() + k, x.end());
  if (upd != want) {
    return node_error(n, "updates have shape {} but data {} and indices {} need {}",
                      dims_to_string(upd), dims_to_string(x), dims_to_string(idx),
                      dims_to_string(want));
  }
  int64_t slice = 0;
  TARMAC_ASSIGN_OR_RETURN(NdIndexing nd, nd_indexing(a, x, idx, 0, &slice));
  TARMAC_RETURN_IF_ERROR(check_update_count(n, nd.tuples));
  const int64_t slots = slice > 0 ? num_elements(x) / slice : 0;
  return std::unique_ptr<DeviceKernel>(std::make_unique<ScatterNdKernel>(
      n, idx64, dt, nd, slice, static_cast<ScatterOp>(red), slots));
}

// ---- ScatterElements ----

class ScatterElementsKernel final : public DeviceKernel {
 public:
  ScatterElementsKernel(const Node& n, bool idx64, DType dtype, Shape8 dims, Shape8 strides,
                        int axis, int64_t axis_len, ScatterOp op, int64_t slots)
      : describe_(n.describe()),
        idx64_(idx64),
        dtype_(dtype),
        dims_(dims),
        strides_(strides),
        axis_(axis),
        axis_len_(axis_len),
        op_(op),
        slots_(slots) {}
  size_t workspace_bytes() const override {
    return op_ == ScatterOp::kNone ? static_cast<size_t>(slots_) * sizeof(uint32_t) : 0;
  }
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: data [data dims], indices [dims], updates [dims]   out: [data dims]
    if (ctx.workspace_bytes < workspace_bytes()) {
      return internal_error("{}: workspace of {} bytes given, {} needed", describe_,
                            ctx.workspace_bytes, workspace_bytes());
    }
    TARMAC_RETURN_IF_ERROR(copy_data(inputs[0], outputs[0], stream_of(ctx)));
    TARMAC_CUDA_CHECK(launch_scatter_elements(
        outputs[0].data, inputs[1].data, idx64_, inputs[2].data, dtype_, dims_, strides_, axis_,
        axis_len_, op_, static_cast<uint32_t*>(ctx.workspace), slots_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  std::string describe_;
  bool idx64_;
  DType dtype_;
  Shape8 dims_, strides_;  // indices' dims, data's strides
  int axis_;
  int64_t axis_len_;
  ScatterOp op_;
  int64_t slots_;  // numel(data)
};

KernelPtr make_scatter_elements(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 3));
  const Node& n = a.node;
  TARMAC_ASSIGN_OR_RETURN(Reduction red, tensor_ops::scatter_reduction(n, a.opset));
  const DType dt = a.in(0).dtype;
  TARMAC_RETURN_IF_ERROR(check_elem(n, dt));
  TARMAC_ASSIGN_OR_RETURN(bool idx64, index_is_64(a, 1));
  if (a.in(2).dtype != dt) {
    return node_error(n, "updates are {} but data is {}", dtype_name(a.in(2).dtype),
                      dtype_name(dt));
  }
  const Dims x = dims_of(a.in(0)), idx = dims_of(a.in(1)), upd = dims_of(a.in(2));
  if (upd != idx) {
    return node_error(n, "indices {} and updates {} must have one shape", dims_to_string(idx),
                      dims_to_string(upd));
  }
  TARMAC_ASSIGN_OR_RETURN(int64_t axis, elements_axis(a, x, idx));
  TARMAC_RETURN_IF_ERROR(check_update_count(n, num_elements(idx)));
  TARMAC_ASSIGN_OR_RETURN(Shape8 dims, shape8(n, idx, "indices"));
  TARMAC_ASSIGN_OR_RETURN(Shape8 strides, shape8(n, row_major_strides(x), "data"));
  return std::unique_ptr<DeviceKernel>(std::make_unique<ScatterElementsKernel>(
      n, idx64, dt, dims, strides, static_cast<int>(axis), x[static_cast<size_t>(axis)],
      static_cast<ScatterOp>(red), num_elements(x)));
}

}  // namespace

void register_tensor_index_kernels(KernelRegistry& r) {
  r.add("Gather", &make_gather);
  r.add("GatherElements", &make_gather_elements);
  r.add("GatherND", &make_gather_nd);
  r.add("ScatterND", &make_scatter_nd);
  r.add("ScatterElements", &make_scatter_elements);
}

}  // namespace tarmac::cuda
