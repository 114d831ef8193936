// BatchNormalization (inference), InstanceNormalization, GroupNormalization and
// LayerNormalization (semantics of backends/cpu/reduce_norm.cc).
#include "backends/cuda/kernels/nn_norm.cuh"
#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/nn_util.h"

namespace tarmac::cuda::nn {

namespace {

ParamType param_type(DType t) {
  switch (t) {
    case DType::kFloat16:
      return ParamType::kFloat16;
    case DType::kBFloat16:
      return ParamType::kBFloat16;
    case DType::kFloat64:
      return ParamType::kFloat64;
    default:
      return ParamType::kFloat32;
  }
}

Status check_floating(const KernelArgs& a, size_t i, const char* what) {
  if (!is_nn_float(a.in(i).dtype))
    return unsupported("{}: {} has dtype {}, not a supported floating type", a.node.describe(),
                       what, dtype_name(a.in(i).dtype));
  return Status::ok();
}

template <typename F>
Status launch_typed(DType t, F&& f) {
  cudaError_t e = cudaSuccess;
  dispatch_float(t, [&](auto tag) { e = f(tag); });
  TARMAC_CUDA_CHECK(e);
  return Status::ok();
}

class BatchNormKernel final : public DeviceKernel {
 public:
  BatchNormKernel(DType dt, int64_t c, int64_t spatial, bool per_activation, float eps,
                  std::vector<DType> param_types)
      : dt_(dt),
        c_(c),
        spatial_(spatial),
        per_activation_(per_activation),
        eps_(eps),
        param_types_(std::move(param_types)) {}

  size_t workspace_bytes() const override {
    const size_t count = static_cast<size_t>(per_activation_ ? c_ * spatial_ : c_);
    return 2 * count * (dt_ == DType::kFloat64 ? sizeof(double) : sizeof(float));
  }

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    Param p[5];
    for (size_t i = 1; i < 5; ++i) p[i] = Param{inputs[i].data, param_type(param_types_[i])};
    return launch_typed(dt_, [&](auto tag) {
      using T = decltype(tag);
      return launch_batch_norm<T>(static_cast<const T*>(inputs[0].data),  // [N, C, spatial...]
                                  static_cast<T*>(outputs[0].data), outputs[0].numel(), c_,
                                  spatial_, per_activation_, p[1], p[2], p[3], p[4], eps_,
                                  ctx.workspace, stream_of(ctx));
    });
  }

 private:
  DType dt_;
  int64_t c_, spatial_;
  bool per_activation_;
  float eps_;
  std::vector<DType> param_types_;
};

class GroupNormKernel final : public DeviceKernel {
 public:
  GroupNormKernel(DType dt, int64_t batch, int64_t groups, int64_t cg, int64_t spatial,
                  bool per_channel, float eps, DType scale_t, DType bias_t)
      : dt_(dt),
        batch_(batch),
        groups_(groups),
        cg_(cg),
        spatial_(spatial),
        per_channel_(per_channel),
        eps_(eps),
        scale_t_(scale_t),
        bias_t_(bias_t) {}

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    const Param scale{inputs[1].data, param_type(scale_t_)};  // [C] or [groups]
    const Param bias{inputs[2].data, param_type(bias_t_)};
    return launch_typed(dt_, [&](auto tag) {
      using T = decltype(tag);
      return launch_group_norm<T>(static_cast<const T*>(inputs[0].data),  // [N, C, spatial...]
                                  static_cast<T*>(outputs[0].data), batch_, groups_, cg_, spatial_,
                                  scale, bias, per_channel_, eps_, stream_of(ctx));
    });
  }

 private:
  DType dt_;
  int64_t batch_, groups_, cg_, spatial_;
  bool per_channel_;
  float eps_;
  DType scale_t_, bias_t_;
};

StatusOr<std::unique_ptr<DeviceKernel>> group_norm_kernel(const KernelArgs& a, int64_t groups,
                                                          bool per_channel, float eps) {
  const Dims x = static_dims(a.in(0).shape);
  const int64_t n = x[0], c = x[1];
  const int64_t spatial = num_elements(x) / std::max<int64_t>(n * c, 1);
  return std::unique_ptr<DeviceKernel>(new GroupNormKernel(a.in(0).dtype, n, groups, c / groups,
                                                           spatial, per_channel, eps, a.in(1).dtype,
                                                           a.in(2).dtype));
}

class LayerNormKernel final : public DeviceKernel {
 public:
  LayerNormKernel(DType dt, LayerNormParams p, DType scale_t, DType bias_t)
      : dt_(dt), p_(p), scale_t_(scale_t), bias_t_(bias_t) {}

  Status enqueue(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
                 const LaunchContext& ctx) override {
    LayerNormParams p = p_;
    p.scale = Param{inputs[1].data, param_type(scale_t_)};
    if (inputs.size() > 2 && inputs[2].data) p.bias = Param{inputs[2].data, param_type(bias_t_)};
    if (outputs.size() > 1) p.mean = static_cast<float*>(outputs[1].data);  // [rows] (stash)
    if (outputs.size() > 2) p.inv_std = static_cast<float*>(outputs[2].data);
    return launch_typed(dt_, [&](auto tag) {
      using T = decltype(tag);
      return launch_layer_norm<T>(static_cast<const T*>(inputs[0].data),  // [rows, n]
                                  static_cast<T*>(outputs[0].data), p, stream_of(ctx));
    });
  }

 private:
  DType dt_;
  LayerNormParams p_;
  DType scale_t_, bias_t_;
};

/// How a LayerNormalization parameter of dims `pd` is read against X `xd` normalized from
/// `axis`: by position in the row when it varies only over (all of) the tail, else broadcast.
Status layer_norm_param(const Node& node, const Dims& pd, const Dims& xd, int64_t axis,
                        const char* what, bool* tail, Shape8* strides) {
  if (pd.size() > xd.size())
    return node_error(node, "{} has shape {}, which does not broadcast to X {}", what,
                      dims_to_string(pd), dims_to_string(xd));
  for (size_t k = 0; k < pd.size(); ++k) {
    const int64_t x = xd[xd.size() - pd.size() + k];
    if (pd[k] != 1 && pd[k] != x)
      return node_error(node, "{} has shape {}, which does not broadcast to X {}", what,
                        dims_to_string(pd), dims_to_string(xd));
  }
  *strides = broadcast_strides(pd, xd);
  *tail = true;
  int64_t contiguous = 1;
  for (size_t d = xd.size(); d-- > 0;) {
    const bool in_tail = static_cast<int64_t>(d) >= axis;
    if (in_tail ? (strides->d[d] != contiguous && xd[d] != 1) : strides->d[d] != 0) *tail = false;
    if (in_tail) contiguous *= xd[d];
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_batch_norm(const KernelArgs& a) {
  const Node& node = a.node;
  if (node.num_inputs() < 5)
    return node_error(node, "expects 5 inputs (X, scale, B, mean, var), got {}", node.num_inputs());
  for (size_t i = 0; i < 5; ++i)
    if (!a.has_input(i)) return node_error(node, "input {} is missing", i);
  if (a.opset >= 14 && node.attr_int("training_mode", 0) != 0)
    return unsupported("{}: training_mode=1 is not supported (inference only)", node.describe());
  if (a.opset < 7 && node.attr_int("is_test", 0) == 0)
    return unsupported("{}: is_test=0 (training mode) is not supported", node.describe());
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (node.outputs[i] != nullptr)
      return unsupported("{}: output {} holds training statistics", node.describe(), i);
  const char* names[] = {"X", "scale", "B", "mean", "var"};
  std::vector<DType> types;
  for (size_t i = 0; i < 5; ++i) {
    TARMAC_RETURN_IF_ERROR(check_floating(a, i, names[i]));
    types.push_back(a.in(i).dtype);
  }
  const Dims x = static_dims(a.in(0).shape);
  if (x.size() < 2) return node_error(node, "X must have rank >= 2, got {}", x.size());
  const int64_t n = x[0], c = x[1];
  const int64_t spatial = num_elements(x) / std::max<int64_t>(n * c, 1);
  const bool per_activation = a.opset < 9 && node.attr_int("spatial", 1) == 0;
  const int64_t want = per_activation ? c * spatial : c;
  for (size_t i = 1; i < 5; ++i)
    if (num_elements(static_dims(a.in(i).shape)) != want)
      return node_error(node, "{} has shape {}, expected {} values", names[i], a.in(i).to_string(),
                        want);
  const DType dt = types[0];
  return std::unique_ptr<DeviceKernel>(new BatchNormKernel(
      dt, c, spatial, per_activation, node.attr_float("epsilon", 1e-5f), std::move(types)));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_instance_norm(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1) || !a.has_input(2))
    return node_error(node, "expects inputs input, scale and B");
  TARMAC_RETURN_IF_ERROR(check_floating(a, 0, "input"));
  TARMAC_RETURN_IF_ERROR(check_floating(a, 1, "scale"));
  TARMAC_RETURN_IF_ERROR(check_floating(a, 2, "B"));
  const Dims x = static_dims(a.in(0).shape);
  if (x.size() < 2) return node_error(node, "input must have rank >= 2, got {}", x.size());
  for (size_t i = 1; i < 3; ++i)
    if (num_elements(static_dims(a.in(i).shape)) != x[1])
      return node_error(node, "input {} has shape {}, expected {} values", i, a.in(i).to_string(),
                        x[1]);
  return group_norm_kernel(a, std::max<int64_t>(x[1], 1), true, node.attr_float("epsilon", 1e-5f));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_group_norm(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1) || !a.has_input(2))
    return node_error(node, "expects inputs X, scale and bias");
  TARMAC_RETURN_IF_ERROR(check_floating(a, 0, "X"));
  TARMAC_RETURN_IF_ERROR(check_floating(a, 1, "scale"));
  TARMAC_RETURN_IF_ERROR(check_floating(a, 2, "bias"));
  const Dims x = static_dims(a.in(0).shape);
  if (x.size() < 2) return node_error(node, "X must have rank >= 2, got {}", x.size());
  if (!node.has_attr("num_groups")) return node_error(node, "attribute 'num_groups' is required");
  const int64_t groups = node.attr_int("num_groups", 0), c = x[1];
  if (groups <= 0 || c % groups != 0)
    return node_error(node, "num_groups = {} must be positive and divide the {} channels", groups,
                      c);
  const bool per_channel = a.opset >= 21;
  const int64_t want = per_channel ? c : groups;
  for (size_t i = 1; i < 3; ++i)
    if (num_elements(static_dims(a.in(i).shape)) != want)
      return node_error(node, "input {} has shape {}, expected {} values", i, a.in(i).to_string(),
                        want);
  return group_norm_kernel(a, groups, per_channel, node.attr_float("epsilon", 1e-5f));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_layer_norm(const KernelArgs& a) {
  const Node& node = a.node;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(node, "expects inputs X and Scale");
  TARMAC_RETURN_IF_ERROR(check_floating(a, 0, "X"));
  TARMAC_RETURN_IF_ERROR(check_floating(a, 1, "Scale"));
  if (a.has_input(2)) TARMAC_RETURN_IF_ERROR(check_floating(a, 2, "B"));
  const Dims x = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = node.attr_int("axis", -1);
  if (axis < -rank || axis >= rank)
    return node_error(node, "axis {} is out of range for rank {}", axis, rank);
  if (axis < 0) axis += rank;
  if (node.attr_int("stash_type", 1) != 1)
    return unsupported("{}: stash_type {} is not supported (float32 only)", node.describe(),
                       node.attr_int("stash_type", 1));
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (node.outputs[i] != nullptr && a.out(i).dtype != DType::kFloat32)
      return unsupported("{}: output {} has dtype {}", node.describe(), i,
                         dtype_name(a.out(i).dtype));
  LayerNormParams p;
  if (!to_shape8(x, &p.dims)) return unsupported("{}: rank above 8", node.describe());
  p.n = 1;
  for (int64_t d = axis; d < rank; ++d) p.n *= x[static_cast<size_t>(d)];
  p.rows = p.n > 0 ? num_elements(x) / p.n : 0;
  p.eps = node.attr_float("epsilon", 1e-5f);
  TARMAC_RETURN_IF_ERROR(layer_norm_param(node, static_dims(a.in(1).shape), x, axis, "Scale",
                                          &p.scale_tail, &p.scale_strides));
  DType bias_t = DType::kFloat32;
  if (a.has_input(2)) {
    bias_t = a.in(2).dtype;
    TARMAC_RETURN_IF_ERROR(layer_norm_param(node, static_dims(a.in(2).shape), x, axis, "B",
                                            &p.bias_tail, &p.bias_strides));
  }
  return std::unique_ptr<DeviceKernel>(
      new LayerNormKernel(a.in(0).dtype, p, a.in(1).dtype, bias_t));
}

}  // namespace tarmac::cuda::nn
