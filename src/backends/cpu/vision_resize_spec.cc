// Reads Resize (opsets 10, 11, 13, 18, 19) and Upsample (opsets 7, 9) attributes and inputs
// into a ResizeSpec: output dims, per-axis scales and the interpolation settings.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/cpu/vision_util.h"

namespace tarmac::vision {
namespace {

// Output lengths beyond this cannot be allocated anyway; checking first keeps the
// double -> int64 conversion defined.
constexpr double kMaxLength = 4.0e18;

/// A zero-element tensor counts as absent for roi/scales/sizes (exporters write "" or []).
const Tensor* present(const KernelContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return nullptr;
  const Tensor& t = ctx.input(i);
  return t.numel() == 0 ? nullptr : &t;
}

StatusOr<ResizeMode> parse_mode(const Node& n, const std::string& m, bool allow_cubic) {
  if (m == "nearest") return ResizeMode::kNearest;
  if (m == "linear" || m == "bilinear") return ResizeMode::kLinear;
  if (m == "cubic" && allow_cubic) return ResizeMode::kCubic;
  return node_error(n, "mode '{}' is not one of {}", m,
                    allow_cubic ? "nearest, linear, cubic" : "nearest, linear");
}

StatusOr<CoordMode> parse_coord(const Node& n, int64_t opset, const std::string& m) {
  if (m == "half_pixel") return CoordMode::kHalfPixel;
  if (m == "pytorch_half_pixel") return CoordMode::kPytorchHalfPixel;
  if (m == "align_corners") return CoordMode::kAlignCorners;
  if (m == "asymmetric") return CoordMode::kAsymmetric;
  if (m == "tf_crop_and_resize") return CoordMode::kTfCropAndResize;
  // Removed from the spec in opset 13, but onnxruntime still runs it there; so do we.
  if (m == "tf_half_pixel_for_nn") return CoordMode::kTfHalfPixelForNn;
  if (m == "half_pixel_symmetric") {
    if (opset >= 19) return CoordMode::kHalfPixelSymmetric;
    return node_error(n, "coordinate_transformation_mode 'half_pixel_symmetric' needs opset 19");
  }
  return node_error(n, "unknown coordinate_transformation_mode '{}'", m);
}

StatusOr<NearestMode> parse_nearest(const Node& n, const std::string& m) {
  if (m == "round_prefer_floor") return NearestMode::kRoundPreferFloor;
  if (m == "round_prefer_ceil") return NearestMode::kRoundPreferCeil;
  if (m == "floor") return NearestMode::kFloor;
  if (m == "ceil") return NearestMode::kCeil;
  return node_error(n, "unknown nearest_mode '{}'", m);
}

/// Output length floor(in * scale), the rule of every Resize/Upsample version. onnxruntime and
/// the reference implementation ignore the roi here even for tf_crop_and_resize; so do we.
StatusOr<int64_t> scaled_length(const Node& n, int64_t in, double scale) {
  const double len = std::floor(static_cast<double>(in) * scale);
  if (!(len < kMaxLength)) return node_error(n, "output length {} * {} is too large", in, scale);
  return static_cast<int64_t>(len);
}

/// Fills out_dims/scales/extents of the resized axes from a scales tensor.
Status apply_scales(const Node& n, const Tensor& scales, const std::vector<int64_t>& axes,
                    const Dims& in, ResizeSpec* s) {
  if (!is_floating(scales.dtype()))
    return node_error(n, "scales must be a float tensor, got {}", dtype_name(scales.dtype()));
  if (scales.numel() != static_cast<int64_t>(axes.size())) {
    return node_error(n, "scales has {} values but {} axes are resized", scales.numel(),
                      axes.size());
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    // The reference computes with the float32 value itself, not the decimal it stands for.
    const double v = scales.as_double(static_cast<int64_t>(i));
    if (!(v > 0) || !std::isfinite(v)) return node_error(n, "scale {} is not positive", v);
    const int64_t d = axes[i];
    s->scales[d] = v;
    s->extents[d] = static_cast<double>(in[d]) * v;
    TARMAC_ASSIGN_OR_RETURN(s->out_dims[d], scaled_length(n, in[d], v));
  }
  return Status::ok();
}

Status apply_sizes(const Node& n, const Tensor& sizes, const std::vector<int64_t>& axes,
                   const std::string& policy, const Dims& in, ResizeSpec* s) {
  if (sizes.dtype() != DType::kInt64)
    return node_error(n, "sizes must be int64, got {}", dtype_name(sizes.dtype()));
  if (sizes.numel() != static_cast<int64_t>(axes.size())) {
    return node_error(n, "sizes has {} values but {} axes are resized", sizes.numel(), axes.size());
  }
  const std::vector<int64_t> sz = sizes.to_int64_vector();
  for (size_t i = 0; i < axes.size(); ++i) {
    if (sz[i] < 0) return node_error(n, "sizes[{}] is {}, expected >= 0", i, sz[i]);
    if (in[axes[i]] == 0 && sz[i] != 0)
      return node_error(n, "axis {} has length 0 and cannot be resized to {}", axes[i], sz[i]);
  }
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) {
      const int64_t d = axes[i];
      s->out_dims[d] = sz[i];
      s->scales[d] = in[d] == 0 ? 1.0 : static_cast<double>(sz[i]) / static_cast<double>(in[d]);
      s->extents[d] = static_cast<double>(sz[i]);
    }
    return Status::ok();
  }
  if (policy != "not_larger" && policy != "not_smaller")
    return node_error(n, "unknown keep_aspect_ratio_policy '{}'", policy);
  // One scale for all resized axes keeps the aspect ratio; the spec rounds half up.
  double scale = policy == "not_larger" ? INFINITY : 0.0;
  for (size_t i = 0; i < axes.size(); ++i) {
    if (in[axes[i]] == 0) continue;
    const double r = static_cast<double>(sz[i]) / static_cast<double>(in[axes[i]]);
    scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
  }
  if (!std::isfinite(scale)) scale = 1.0;
  for (int64_t d : axes) {
    const double len = std::floor(scale * static_cast<double>(in[d]) + 0.5);
    if (!(len < kMaxLength)) return node_error(n, "output length for axis {} is too large", d);
    s->out_dims[d] = static_cast<int64_t>(len);
    s->scales[d] = scale;
    s->extents[d] = scale * static_cast<double>(in[d]);
  }
  return Status::ok();
}

ResizeSpec identity_spec(const Dims& in) {
  ResizeSpec s;
  s.out_dims = in;
  s.scales.assign(in.size(), 1.0);
  s.extents.resize(in.size());
  for (size_t d = 0; d < in.size(); ++d) s.extents[d] = static_cast<double>(in[d]);
  s.roi_start.assign(in.size(), 0.0);
  s.roi_end.assign(in.size(), 1.0);
  return s;
}

}  // namespace

StatusOr<ResizeSpec> resize_spec(const KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "input X is missing");
  const Dims& in = ctx.input(0).dims();
  const int64_t rank = static_cast<int64_t>(in.size());
  ResizeSpec s = identity_spec(in);
  TARMAC_ASSIGN_OR_RETURN(s.mode, parse_mode(n, n.attr_string("mode", "nearest"), ctx.opset >= 11));

  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d) axes.push_back(d);

  if (ctx.opset < 11) {
    // Resize-10: X and scales only; coordinates are x_out / scale.
    s.coord = CoordMode::kAsymmetric;
    s.nearest = NearestMode::kLegacy;
    const Tensor* scales = present(ctx, 1);
    if (!scales) return node_error(n, "the scales input is required");
    TARMAC_RETURN_IF_ERROR(apply_scales(n, *scales, axes, in, &s));
    return s;
  }

  TARMAC_ASSIGN_OR_RETURN(
      s.coord,
      parse_coord(n, ctx.opset, n.attr_string("coordinate_transformation_mode", "half_pixel")));
  TARMAC_ASSIGN_OR_RETURN(s.nearest,
                          parse_nearest(n, n.attr_string("nearest_mode", "round_prefer_floor")));
  s.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
  s.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
  s.extrapolation = n.attr_float("extrapolation_value", 0.0f);
  std::string policy = "stretch";
  if (ctx.opset >= 18) {
    s.antialias = n.attr_int("antialias", 0) != 0 && s.mode != ResizeMode::kNearest;
    policy = n.attr_string("keep_aspect_ratio_policy", "stretch");
    if (n.has_attr("axes")) {
      axes.clear();
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t a : n.attr_ints("axes")) {
        TARMAC_ASSIGN_OR_RETURN(int64_t d, normalize_axis(n, a, rank));
        if (seen[static_cast<size_t>(d)]) return node_error(n, "axis {} is repeated in axes", a);
        seen[static_cast<size_t>(d)] = true;
        axes.push_back(d);
      }
    }
  }

  if (const Tensor* roi = present(ctx, 1)) {
    if (!is_floating(roi->dtype()))
      return node_error(n, "roi must be a float tensor, got {}", dtype_name(roi->dtype()));
    const size_t k = axes.size();
    if (roi->numel() != static_cast<int64_t>(2 * k))
      return node_error(n, "roi has {} values, expected {} (2 per resized axis)", roi->numel(),
                        2 * k);
    for (size_t i = 0; i < k; ++i) {
      s.roi_start[axes[i]] = roi->as_double(static_cast<int64_t>(i));
      s.roi_end[axes[i]] = roi->as_double(static_cast<int64_t>(k + i));
    }
  }

  const Tensor* scales = present(ctx, 2);
  const Tensor* sizes = present(ctx, 3);
  if (scales && sizes) return node_error(n, "only one of scales and sizes may be given");
  if (!scales && !sizes) return node_error(n, "one of scales and sizes must be given");
  if (scales) {
    TARMAC_RETURN_IF_ERROR(apply_scales(n, *scales, axes, in, &s));
  } else {
    TARMAC_RETURN_IF_ERROR(apply_sizes(n, *sizes, axes, policy, in, &s));
  }
  return s;
}

StatusOr<ResizeSpec> upsample_spec(const KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0)) return node_error(n, "input X is missing");
  const Dims& in = ctx.input(0).dims();
  ResizeSpec s = identity_spec(in);
  s.coord = CoordMode::kAsymmetric;
  s.nearest = NearestMode::kLegacy;
  TARMAC_ASSIGN_OR_RETURN(s.mode, parse_mode(n, n.attr_string("mode", "nearest"), false));
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d) axes.push_back(d);
  if (ctx.opset < 9) {
    if (!n.has_attr("scales")) return node_error(n, "the scales attribute is required");
    const std::vector<float> v = n.attr_floats("scales");
    const Tensor t = Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())});
    TARMAC_RETURN_IF_ERROR(apply_scales(n, t, axes, in, &s));
  } else {
    if (!ctx.has_input(1)) return node_error(n, "the scales input is required");
    TARMAC_RETURN_IF_ERROR(apply_scales(n, ctx.input(1), axes, in, &s));
  }
  return s;
}

}  // namespace tarmac::vision
