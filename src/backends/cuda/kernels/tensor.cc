// CUDA kernels of the tensor family that compute shapes or make new tensors: Reshape,
// Flatten, Squeeze, Unsqueeze (a device-to-device copy: the output's bytes are the input's),
// Shape, Size, ConstantOfShape, Range; NonZero is refused (data-dependent output shape). The
// data-movement and indexing ops register from tensor_movement.cc and tensor_index.cc.
#include <cstring>

#include "backends/cuda/kernels/tensor_common.h"
#include "backends/cuda/kernels/tensor_fill.cuh"

namespace tarmac::cuda {

namespace {

using KernelPtr = StatusOr<std::unique_ptr<DeviceKernel>>;

/// Reshape, Flatten, Squeeze, Unsqueeze: out (any dims) = in's bytes.
class ByteCopyKernel final : public DeviceKernel {
 public:
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& in = inputs[0];    // [any]
    const TensorView& out = outputs[0];  // [any], same number of elements
    if (out.nbytes() > 0 && out.data != in.data) {
      TARMAC_CUDA_CHECK(cudaMemcpyAsync(out.data, in.data, out.nbytes(), cudaMemcpyDeviceToDevice,
                                        stream_of(ctx)));
    }
    return Status::ok();
  }
};

KernelPtr make_byte_copy(const KernelArgs& a) {
  if (!a.has_input(0)) return node_error(a.node, "input 0 is required");
  const Dims in = dims_of(a.in(0)), out = dims_of(a.out(0));
  if (a.in(0).dtype != a.out(0).dtype || num_elements(in) != num_elements(out)) {
    return node_error(a.node, "output {} {} does not hold the bytes of input {} {}",
                      dtype_name(a.out(0).dtype), dims_to_string(out), dtype_name(a.in(0).dtype),
                      dims_to_string(in));
  }
  return std::unique_ptr<DeviceKernel>(std::make_unique<ByteCopyKernel>());
}

/// Shape and Size: int64 values known at build time, written by a one-block kernel.
class WriteInt64Kernel final : public DeviceKernel {
 public:
  explicit WriteInt64Kernel(Shape8 values) : values_(values) {}
  Status enqueue(const std::vector<TensorView>& /*inputs*/, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    TARMAC_CUDA_CHECK(launch_write_int64(outputs[0].data, values_, stream_of(ctx)));
    return Status::ok();
  }

 private:
  Shape8 values_;  // [rank] of the output
};

KernelPtr make_shape(const KernelArgs& a) {
  if (!a.has_input(0)) return node_error(a.node, "input 0 is required");
  const Dims x = dims_of(a.in(0));
  const auto [start, end] =
      tensor_ops::shape_slice(a.node, a.opset, static_cast<int64_t>(x.size()));
  const Dims v(x.begin() + start, x.begin() + end);
  TARMAC_ASSIGN_OR_RETURN(Shape8 values, shape8(a.node, v, "output"));
  return std::unique_ptr<DeviceKernel>(std::make_unique<WriteInt64Kernel>(values));
}

KernelPtr make_size(const KernelArgs& a) {
  if (!a.has_input(0)) return node_error(a.node, "input 0 is required");
  Shape8 values;
  values.rank = 1;  // the output is a scalar: one value
  values.d[0] = num_elements(dims_of(a.in(0)));
  return std::unique_ptr<DeviceKernel>(std::make_unique<WriteInt64Kernel>(values));
}

/// ConstantOfShape: out [dims] filled with the attribute's one value.
class FillKernel final : public DeviceKernel {
 public:
  FillKernel(int elem, uint64_t bits) : elem_(elem), bits_(bits) {}
  Status enqueue(const std::vector<TensorView>& /*inputs*/, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const TensorView& out = outputs[0];  // [dims]
    TARMAC_CUDA_CHECK(launch_fill(out.data, elem_, bits_, out.numel(), stream_of(ctx)));
    return Status::ok();
  }

 private:
  int elem_;
  uint64_t bits_;  // the value's bytes in the low elem_ bytes
};

KernelPtr make_constant_of_shape(const KernelArgs& a) {
  TARMAC_ASSIGN_OR_RETURN(Tensor fill, tensor_ops::constant_of_shape_fill(a.node));
  TARMAC_RETURN_IF_ERROR(check_elem(a.node, fill.dtype()));
  if (fill.dtype() != a.out(0).dtype) {
    return node_error(a.node, "value is {} but the output is {}", dtype_name(fill.dtype()),
                      dtype_name(a.out(0).dtype));
  }
  uint64_t bits = 0;
  std::memcpy(&bits, fill.raw(), fill.nbytes());
  return std::unique_ptr<DeviceKernel>(std::make_unique<FillKernel>(elem_size(fill.dtype()), bits));
}

/// Range: out [n] = start + i * delta with start and delta read on the device, so they may be
/// computed at run time as long as the output length is static.
class RangeKernel final : public DeviceKernel {
 public:
  explicit RangeKernel(DType dtype) : dtype_(dtype) {}
  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    // inputs: start [], limit [], delta []   outputs[0]: [n]
    TARMAC_CUDA_CHECK(launch_range(inputs[0].data, inputs[2].data, outputs[0].data, dtype_,
                                   outputs[0].numel(), stream_of(ctx)));
    return Status::ok();
  }

 private:
  DType dtype_;
};

KernelPtr make_range(const KernelArgs& a) {
  TARMAC_RETURN_IF_ERROR(tensor_ops::require_inputs(a, 3));
  const DType t = a.in(0).dtype;
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt32 && t != DType::kInt64) {
    return unsupported("{}: Range of {} is not supported", a.node.describe(), dtype_name(t));
  }
  for (size_t i = 0; i < 3; ++i) {
    if (a.in(i).dtype != t || num_elements(dims_of(a.in(i))) != 1) {
      return node_error(a.node, "start, limit and delta must be {} scalars, input {} is {} {}",
                        dtype_name(t), i, dtype_name(a.in(i).dtype),
                        dims_to_string(dims_of(a.in(i))));
    }
  }
  if (a.constant(0) && a.constant(1) && a.constant(2)) {
    // The CPU reference rejects a zero or non-finite delta; so does the build.
    TARMAC_RETURN_IF_ERROR(
        tensor_ops::range_count(a.node, *a.constant(0), *a.constant(1), *a.constant(2)).status());
  }
  return std::unique_ptr<DeviceKernel>(std::make_unique<RangeKernel>(t));
}

KernelPtr make_non_zero(const KernelArgs& a) {
  return unsupported(
      "{}: NonZero's output length depends on the data; the CUDA backend needs static shapes",
      a.node.describe());
}

}  // namespace

void register_tensor_kernels(KernelRegistry& r) {
  r.add("Reshape", &make_byte_copy);
  r.add("Flatten", &make_byte_copy);
  r.add("Squeeze", &make_byte_copy);
  r.add("Unsqueeze", &make_byte_copy);
  r.add("Shape", &make_shape);
  r.add("Size", &make_size);
  r.add("ConstantOfShape", &make_constant_of_shape);
  r.add("Range", &make_range);
  r.add("NonZero", &make_non_zero);
  register_tensor_movement_kernels(r);
  register_tensor_index_kernels(r);
}

}  // namespace tarmac::cuda
