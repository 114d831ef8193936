// MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool (semantics of
// backends/cpu/nn_pool.cc; window geometry from ir/infer/nn_util.h like the CPU kernel).
#include "backends/cuda/kernels/nn_pool.cuh"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/nn_util.h"
#include "ir/infer/nn_util.h"

namespace tarmac::cuda::nn {

namespace {

StatusOr<PoolParams> pool_params(const KernelArgs& a, tarmac::nn::WindowOptions opt) {
  const Node& node = a.node;
  if (!node.has_attr("kernel_shape")) return node_error(node, "attribute kernel_shape is required");
  const Dims kernel = node.attr_ints("kernel_shape");
  TARMAC_ASSIGN_OR_RETURN(tarmac::nn::WindowAttrs w,
                          tarmac::nn::read_window_attrs(node, kernel, opt));
  const Dims x = static_dims(a.in(0).shape);
  const size_t nsp = kernel.size();
  if (x.size() != nsp + 2)
    return node_error(node, "input has shape {} but kernel_shape has {} values", dims_to_string(x),
                      nsp);
  if (nsp > 3) return unsupported("{}: {}-D pooling is not supported", node.describe(), nsp);
  PoolParams p;
  p.planes = x[0] * x[1];
  Dims out{x[0], x[1]};
  for (size_t i = 0; i < nsp; ++i) {
    const size_t ax = 3 - nsp + i;
    int64_t pb = 0, pe = 0;
    TARMAC_ASSIGN_OR_RETURN(int64_t o,
                            tarmac::nn::window_output_size(node, w, i, x[i + 2], &pb, &pe));
    p.in[ax] = x[i + 2];
    p.out[ax] = o;
    p.kernel[ax] = kernel[i];
    p.stride[ax] = w.strides[i];
    p.dilation[ax] = w.dilations[i];
    p.pad_begin[ax] = pb;
    p.pad_end[ax] = pe;
    out.push_back(o);
  }
  if (out != static_dims(a.out(0).shape))
    return internal_error("{}: output has shape {} but the geometry gives {}", node.describe(),
                          a.out(0).to_string(), dims_to_string(out));
  return p;
}

class PoolKernel final : public DeviceKernel {
 public:
  PoolKernel(DType dt, PoolParams p, bool max) : dt_(dt), p_(p), max_(max) {}

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const void* x = inputs[0].data;  // [N, C, in...]
    void* y = outputs[0].data;       // [N, C, out...]
    cudaError_t e = cudaSuccess;
    auto run = [&](auto tag) {
      using T = decltype(tag);
      e = max_
              ? launch_max_pool<T>(p_, static_cast<const T*>(x), static_cast<T*>(y), stream_of(ctx))
              : launch_average_pool<T>(p_, static_cast<const T*>(x), static_cast<T*>(y),
                                       stream_of(ctx));
    };
    if (dt_ == DType::kInt8) {
      e = launch_max_pool<int8_t>(p_, static_cast<const int8_t*>(x), static_cast<int8_t*>(y),
                                  stream_of(ctx));
    } else if (dt_ == DType::kUint8) {
      e = launch_max_pool<uint8_t>(p_, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y),
                                   stream_of(ctx));
    } else {
      dispatch_float(dt_, run);
    }
    TARMAC_CUDA_CHECK(e);
    return Status::ok();
  }

 private:
  DType dt_;
  PoolParams p_;
  bool max_;
};

class GlobalPoolKernel final : public DeviceKernel {
 public:
  GlobalPoolKernel(DType dt, int64_t planes, int64_t size, bool max)
      : dt_(dt), planes_(planes), size_(size), max_(max) {}

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    cudaError_t e = cudaSuccess;
    dispatch_float(dt_, [&](auto tag) {
      using T = decltype(tag);
      e = launch_global_pool<T>(static_cast<const T*>(inputs[0].data),  // [N, C, spatial...]
                                static_cast<T*>(outputs[0].data),       // [N, C, 1...]
                                planes_, size_, max_, stream_of(ctx));
    });
    TARMAC_CUDA_CHECK(e);
    return Status::ok();
  }

 private:
  DType dt_;
  int64_t planes_, size_;
  bool max_;
};

StatusOr<std::unique_ptr<DeviceKernel>> make_global_pool(const KernelArgs& a, bool max) {
  const Node& node = a.node;
  if (!a.has_input(0)) return node_error(node, "expects input X");
  const DType dt = a.in(0).dtype;
  if (!is_nn_float(dt))
    return unsupported("{}: dtype {} is not supported", node.describe(), dtype_name(dt));
  const Dims x = static_dims(a.in(0).shape);
  if (x.size() < 3) return node_error(node, "input has rank {}, expected at least 3", x.size());
  const int64_t planes = x[0] * x[1];
  const int64_t size = planes > 0 ? num_elements(x) / planes : 0;
  return std::unique_ptr<DeviceKernel>(new GlobalPoolKernel(dt, planes, size, max));
}

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_max_pool(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0)) return node_error(node, "expects input X");
  const DType dt = a.in(0).dtype;
  const bool int8 = dt == DType::kInt8 || dt == DType::kUint8;
  if (!is_nn_float(dt) && !(int8 && a.opset >= 12))
    return unsupported("{}: dtype {} is not supported at opset {}", node.describe(), dtype_name(dt),
                       a.opset);
  if (node.outputs.size() > 1 && node.outputs[1] != nullptr)
    return unsupported("{}: the Indices output is not supported", node.describe());
  if (a.opset >= 8 && node.attr_int("storage_order", 0) != 0)
    return unsupported("{}: storage_order=1 is not supported", node.describe());
  TARMAC_ASSIGN_OR_RETURN(PoolParams p, pool_params(a, {a.opset >= 10, a.opset >= 10, false}));
  return std::unique_ptr<DeviceKernel>(new PoolKernel(dt, p, true));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_average_pool(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0)) return node_error(node, "expects input X");
  const DType dt = a.in(0).dtype;
  if (!is_nn_float(dt))
    return unsupported("{}: dtype {} is not supported", node.describe(), dtype_name(dt));
  TARMAC_ASSIGN_OR_RETURN(PoolParams p, pool_params(a, {a.opset >= 19, a.opset >= 10, false}));
  p.count_include_pad = a.opset >= 7 && node.attr_int("count_include_pad", 0) != 0;
  return std::unique_ptr<DeviceKernel>(new PoolKernel(dt, p, false));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_global_max_pool(const KernelArgs& a) {
  return make_global_pool(a, true);
}

StatusOr<std::unique_ptr<DeviceKernel>> make_global_average_pool(const KernelArgs& a) {
  return make_global_pool(a, false);
}

}  // namespace tarmac::cuda::nn
