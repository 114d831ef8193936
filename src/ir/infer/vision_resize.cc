// Shape and type inference for Resize and Upsample. Output dims are exact when scales/sizes are
// known constants and the input dims they touch are static; otherwise the resized axes get
// fresh symbols. The CPU kernels repeat every check on concrete values.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ir/op_registry.h"

namespace tarmac {
namespace {

/// Whether optional input i is given and not an empty tensor; nullopt when that is unknown.
std::optional<bool> given(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return false;
  if (const Tensor* v = ctx.value(i)) return v->numel() > 0;
  const ValueType& t = ctx.input(i);
  if (t.has_shape && shape_is_static(t.shape)) return num_elements(static_dims(t.shape)) > 0;
  return std::nullopt;
}

Status check_mode(const Node& n, bool allow_cubic) {
  const std::string m = n.attr_string("mode", "nearest");
  if (m == "nearest" || m == "linear" || m == "bilinear" || (allow_cubic && m == "cubic"))
    return Status::ok();
  return node_error(n, "mode '{}' is not one of {}", m,
                    allow_cubic ? "nearest, linear, cubic" : "nearest, linear");
}

Status check_scale_count(const Node& n, const char* what, int64_t got, size_t want) {
  if (got == static_cast<int64_t>(want)) return Status::ok();
  return node_error(n, "{} has {} values but {} axes are resized", what, got, want);
}

/// Output dims from known scale values: floor(in * scale), or the input dim when the scale
/// is 1 (so symbolic dims pass through).
Status dims_from_scales(InferContext& ctx, const std::vector<double>& scales,
                        const std::vector<int64_t>& axes, Shape* out) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (!(scales[i] > 0) || !std::isfinite(scales[i]))
      return node_error(ctx.node, "scale {} is not positive", scales[i]);
    Dim& d = (*out)[static_cast<size_t>(axes[i])];
    if (scales[i] == 1) continue;
    if (d.is_static()) {
      const double len = std::floor(static_cast<double>(d.value) * scales[i]);
      if (!(len < 4.0e18)) return node_error(ctx.node, "output length {} is too large", len);
      d = Dim(static_cast<int64_t>(len));
    } else {
      d = ctx.new_dim("resize");
    }
  }
  return Status::ok();
}

Status dims_from_sizes(InferContext& ctx, const std::vector<int64_t>& sizes,
                       const std::vector<int64_t>& axes, const std::string& policy, Shape* out) {
  for (int64_t s : sizes)
    if (s < 0) return node_error(ctx.node, "sizes holds {}, expected >= 0", s);
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) (*out)[static_cast<size_t>(axes[i])] = Dim(sizes[i]);
    return Status::ok();
  }
  if (policy != "not_larger" && policy != "not_smaller")
    return node_error(ctx.node, "unknown keep_aspect_ratio_policy '{}'", policy);
  bool all_static = true;
  double scale = policy == "not_larger" ? INFINITY : 0.0;
  for (size_t i = 0; i < axes.size(); ++i) {
    const Dim& d = (*out)[static_cast<size_t>(axes[i])];
    if (!d.is_static()) {
      all_static = false;
    } else if (d.value > 0) {
      const double r = static_cast<double>(sizes[i]) / static_cast<double>(d.value);
      scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
    }
  }
  if (!std::isfinite(scale)) scale = 1.0;
  for (int64_t a : axes) {
    Dim& d = (*out)[static_cast<size_t>(a)];
    d = all_static
            ? Dim(static_cast<int64_t>(std::floor(scale * static_cast<double>(d.value) + 0.5)))
            : ctx.new_dim("resize");
  }
  return Status::ok();
}

std::vector<double> float_values(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.as_double(static_cast<int64_t>(i));
  return v;
}

}  // namespace

Status infer_Resize(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "input X is missing");
  TARMAC_RETURN_IF_ERROR(check_mode(n, ctx.opset >= 11));
  const ValueType& x = ctx.input(0);
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  const int64_t rank = x.rank();
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  if (ctx.opset >= 18 && n.has_attr("axes")) {
    axes.clear();
    for (int64_t a : n.attr_ints("axes")) {
      TARMAC_ASSIGN_OR_RETURN(int64_t d, normalize_axis(n, a, rank));
      if (std::count(axes.begin(), axes.end(), d))
        return node_error(n, "axis {} is repeated in axes", a);
      axes.push_back(d);
    }
  }
  const size_t scales_in = ctx.opset >= 11 ? 2 : 1;
  const std::optional<bool> has_scales = given(ctx, scales_in);
  const std::optional<bool> has_sizes = ctx.opset >= 11 ? given(ctx, 3) : false;
  if (has_scales == true && has_sizes == true)
    return node_error(n, "only one of scales and sizes may be given");
  if (has_scales == false && has_sizes == false)
    return node_error(n, "one of scales and sizes must be given");

  Shape out = x.shape;
  const Tensor* scales = has_scales == true ? ctx.value(scales_in) : nullptr;
  const Tensor* sizes = has_sizes == true ? ctx.value(3) : nullptr;
  if (scales) {
    TARMAC_RETURN_IF_ERROR(check_scale_count(n, "scales", scales->numel(), axes.size()));
    TARMAC_RETURN_IF_ERROR(dims_from_scales(ctx, float_values(*scales), axes, &out));
  } else if (sizes) {
    TARMAC_RETURN_IF_ERROR(check_scale_count(n, "sizes", sizes->numel(), axes.size()));
    const std::string policy =
        ctx.opset >= 18 ? n.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
    TARMAC_RETURN_IF_ERROR(dims_from_sizes(ctx, sizes->to_int64_vector(), axes, policy, &out));
  } else {
    for (int64_t a : axes) out[static_cast<size_t>(a)] = ctx.new_dim("resize");
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

Status infer_Upsample(InferContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "input X is missing");
  TARMAC_RETURN_IF_ERROR(check_mode(n, false));
  const ValueType& x = ctx.input(0);
  if (ctx.opset < 9 && !n.has_attr("scales"))
    return node_error(n, "the scales attribute is required");
  if (ctx.opset >= 9 && !ctx.has_input(1)) return node_error(n, "the scales input is required");
  if (!x.has_shape) {
    ctx.set_output_dtype(0, x.dtype);
    return Status::ok();
  }
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < x.rank(); ++d) axes.push_back(d);
  Shape out = x.shape;
  std::optional<std::vector<double>> scales;
  if (ctx.opset < 9) {
    const std::vector<float> f = n.attr_floats("scales");
    scales = std::vector<double>(f.begin(), f.end());
  } else if (const Tensor* t = ctx.value(1)) {
    scales = float_values(*t);
  }
  if (scales) {
    TARMAC_RETURN_IF_ERROR(
        check_scale_count(n, "scales", static_cast<int64_t>(scales->size()), axes.size()));
    TARMAC_RETURN_IF_ERROR(dims_from_scales(ctx, *scales, axes, &out));
  } else {
    for (int64_t a : axes) out[static_cast<size_t>(a)] = ctx.new_dim("upsample");
  }
  ctx.set_output(0, x.dtype, std::move(out));
  return Status::ok();
}

}  // namespace tarmac
