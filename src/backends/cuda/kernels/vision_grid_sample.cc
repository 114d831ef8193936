// Factories of GridSample (4-D before opset 20, up to 3 spatial axes from opset 20) and
// NonMaxSuppression (refused: its output length depends on the data).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/vision_grid_sample.cuh"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {
namespace {

class GridSampleKernel final : public DeviceKernel {
 public:
  GridSampleKernel(DType x_dt, DType g_dt, GridSampleParams p) : x_dt_(x_dt), g_dt_(g_dt), p_(p) {}
  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    TARMAC_CUDA_CHECK(
        launch_grid_sample(x_dt_, g_dt_, p_, in[0].data, in[1].data, out[0].data, stream_of(ctx)));
    return Status::ok();
  }

 private:
  DType x_dt_, g_dt_;
  GridSampleParams p_;
};

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_grid_sample(const KernelArgs& a) {
  const Node& n = a.node;
  if (!a.has_input(0) || !a.has_input(1)) return node_error(n, "needs inputs X and grid");
  const Dims x = static_dims(a.in(0).shape);
  const Dims grid = static_dims(a.in(1).shape);
  const DType x_dt = a.in(0).dtype, g_dt = a.in(1).dtype;
  const bool v20 = a.opset >= 20;
  const int64_t xr = static_cast<int64_t>(x.size());
  if (!v20 && xr != 4) return node_error(n, "X has {} dims, expected 4 before opset 20", xr);
  if (xr < 3) return node_error(n, "X has {} dims, expected at least 3", xr);
  const int64_t r = xr - 2;
  if (r > kGridSampleMaxSpatial)
    return unsupported("{}: {} spatial axes (at most {} are supported)", n.describe(), r,
                       kGridSampleMaxSpatial);
  if (static_cast<int64_t>(grid.size()) != r + 2)
    return node_error(n, "grid has {} dims, expected {}", grid.size(), r + 2);
  if (grid[0] != x[0]) return node_error(n, "grid batch does not match X batch");
  if (grid.back() != r) return node_error(n, "grid last dim is {}, expected {}", grid.back(), r);
  if (!is_floating(g_dt))
    return node_error(n, "grid must be a float tensor, got {}", dtype_name(g_dt));
  if (!is_floating(x_dt) && !is_integer(x_dt))
    return unsupported("{}: X dtype {} is not supported", n.describe(), dtype_name(x_dt));

  GridSampleParams p;
  const std::string mode = n.attr_string("mode", v20 ? "linear" : "bilinear");
  if (mode == "nearest") {
    p.mode = GridMode::kNearest;
  } else if (mode == (v20 ? "linear" : "bilinear")) {
    p.mode = GridMode::kLinear;
  } else if (mode == (v20 ? "cubic" : "bicubic")) {
    p.mode = GridMode::kCubic;
  } else {
    return node_error(n, "mode '{}' is not supported", mode);
  }
  const std::string pad = n.attr_string("padding_mode", "zeros");
  if (pad == "zeros") {
    p.padding = GridPadding::kZeros;
  } else if (pad == "border") {
    p.padding = GridPadding::kBorder;
  } else if (pad == "reflection") {
    p.padding = GridPadding::kReflection;
  } else {
    return node_error(n, "padding_mode '{}' is not supported", pad);
  }
  p.align_corners = n.attr_int("align_corners", 0) != 0;
  p.float_grid = g_dt != DType::kFloat64;
  p.r = static_cast<int32_t>(r);
  p.batch = x[0];
  p.channels = x[1];
  p.in_size = 1;
  for (int64_t i = 0; i < r; ++i) {
    p.in_dims[i] = x[static_cast<size_t>(2 + i)];
    p.in_size *= p.in_dims[i];
  }
  p.out_size = 1;
  for (int64_t i = 0; i < r; ++i) p.out_size *= grid[static_cast<size_t>(1 + i)];
  if (p.batch * p.channels * p.out_size > 0 && p.in_size == 0)
    return node_error(n, "X has a zero-length spatial axis");
  return std::unique_ptr<DeviceKernel>(new GridSampleKernel(x_dt, g_dt, p));
}

StatusOr<std::unique_ptr<DeviceKernel>> make_non_max_suppression(const KernelArgs& a) {
  return unsupported(
      "{}: NonMaxSuppression has a data-dependent output length; it runs on the "
      "CPU backend",
      a.node.describe());
}

}  // namespace tarmac::cuda
