// Factories of Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9). The attribute and
// roi/scales/sizes reading and the per-axis planning mirror the CPU reference
// (src/backends/cpu/vision_resize_spec.cc, vision_resize.cc) line for line, in double, so
// source indices and weights are bit-identical; roi/scales/sizes must be constants.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/cuda_common.h"
#include "backends/cuda/kernels/vision_resize.cuh"
#include "backends/cuda/registry.h"

namespace tarmac::cuda {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

constexpr double kMaxLength = 4.0e18;

struct Spec {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kAsymmetric;
  Nearest nearest = Nearest::kLegacy;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
  Dims out_dims;
  std::vector<double> scales, extents, roi_start, roi_end;
};

/// A constant roi/scales/sizes input; a zero-element one counts as absent. Sets *dynamic when
/// the input is present, non-empty and computed at run time.
const Tensor* present(const KernelArgs& a, size_t i, bool* dynamic) {
  if (!a.has_input(i)) return nullptr;
  const Tensor* t = a.constant(i);
  if (!t) {
    const Dims d = static_dims(a.in(i).shape);
    if (num_elements(d) != 0) *dynamic = true;
    return nullptr;
  }
  return t->numel() == 0 ? nullptr : t;
}

StatusOr<Mode> parse_mode(const Node& n, const std::string& m, bool allow_cubic) {
  if (m == "nearest") return Mode::kNearest;
  if (m == "linear" || m == "bilinear") return Mode::kLinear;
  if (m == "cubic" && allow_cubic) return Mode::kCubic;
  return node_error(n, "mode '{}' is not supported", m);
}

StatusOr<Coord> parse_coord(const Node& n, int64_t opset, const std::string& m) {
  if (m == "half_pixel") return Coord::kHalfPixel;
  if (m == "pytorch_half_pixel") return Coord::kPytorchHalfPixel;
  if (m == "align_corners") return Coord::kAlignCorners;
  if (m == "asymmetric") return Coord::kAsymmetric;
  if (m == "tf_crop_and_resize") return Coord::kTfCropAndResize;
  if (m == "tf_half_pixel_for_nn") return Coord::kTfHalfPixelForNn;
  if (m == "half_pixel_symmetric" && opset >= 19) return Coord::kHalfPixelSymmetric;
  return node_error(n, "coordinate_transformation_mode '{}' is not supported", m);
}

StatusOr<Nearest> parse_nearest(const Node& n, const std::string& m) {
  if (m == "round_prefer_floor") return Nearest::kRoundPreferFloor;
  if (m == "round_prefer_ceil") return Nearest::kRoundPreferCeil;
  if (m == "floor") return Nearest::kFloor;
  if (m == "ceil") return Nearest::kCeil;
  return node_error(n, "unknown nearest_mode '{}'", m);
}

Status apply_scales(const Node& n, const Tensor& scales, const std::vector<int64_t>& axes,
                    const Dims& in, Spec* s) {
  if (!is_floating(scales.dtype()))
    return node_error(n, "scales must be a float tensor, got {}", dtype_name(scales.dtype()));
  if (scales.numel() != static_cast<int64_t>(axes.size()))
    return node_error(n, "scales has {} values but {} axes are resized", scales.numel(),
                      axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    const double v = scales.as_double(static_cast<int64_t>(i));
    if (!(v > 0) || !std::isfinite(v)) return node_error(n, "scale {} is not positive", v);
    const size_t d = static_cast<size_t>(axes[i]);
    s->scales[d] = v;
    s->extents[d] = static_cast<double>(in[d]) * v;
    const double len = std::floor(static_cast<double>(in[d]) * v);
    if (!(len < kMaxLength)) return node_error(n, "output length is too large");
    s->out_dims[d] = static_cast<int64_t>(len);
  }
  return Status::ok();
}

Status apply_sizes(const Node& n, const Tensor& sizes, const std::vector<int64_t>& axes,
                   const std::string& policy, const Dims& in, Spec* s) {
  if (sizes.dtype() != DType::kInt64)
    return node_error(n, "sizes must be int64, got {}", dtype_name(sizes.dtype()));
  if (sizes.numel() != static_cast<int64_t>(axes.size()))
    return node_error(n, "sizes has {} values but {} axes are resized", sizes.numel(), axes.size());
  const std::vector<int64_t> sz = sizes.to_int64_vector();
  for (size_t i = 0; i < axes.size(); ++i) {
    const size_t d = static_cast<size_t>(axes[i]);
    if (sz[i] < 0) return node_error(n, "sizes[{}] is {}, expected >= 0", i, sz[i]);
    if (in[d] == 0 && sz[i] != 0)
      return node_error(n, "axis {} has length 0 and cannot be resized", d);
  }
  if (policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i) {
      const size_t d = static_cast<size_t>(axes[i]);
      s->out_dims[d] = sz[i];
      s->scales[d] = in[d] == 0 ? 1.0 : static_cast<double>(sz[i]) / static_cast<double>(in[d]);
      s->extents[d] = static_cast<double>(sz[i]);
    }
    return Status::ok();
  }
  if (policy != "not_larger" && policy != "not_smaller")
    return node_error(n, "unknown keep_aspect_ratio_policy '{}'", policy);
  double scale = policy == "not_larger" ? INFINITY : 0.0;
  for (size_t i = 0; i < axes.size(); ++i) {
    const size_t d = static_cast<size_t>(axes[i]);
    if (in[d] == 0) continue;
    const double r = static_cast<double>(sz[i]) / static_cast<double>(in[d]);
    scale = policy == "not_larger" ? std::min(scale, r) : std::max(scale, r);
  }
  if (!std::isfinite(scale)) scale = 1.0;
  for (int64_t a : axes) {
    const size_t d = static_cast<size_t>(a);
    const double len = std::floor(scale * static_cast<double>(in[d]) + 0.5);
    if (!(len < kMaxLength)) return node_error(n, "output length for axis {} is too large", d);
    s->out_dims[d] = static_cast<int64_t>(len);
    s->scales[d] = scale;
    s->extents[d] = scale * static_cast<double>(in[d]);
  }
  return Status::ok();
}

Spec identity_spec(const Dims& in) {
  Spec s;
  s.out_dims = in;
  s.scales.assign(in.size(), 1.0);
  s.extents.resize(in.size());
  for (size_t d = 0; d < in.size(); ++d) s.extents[d] = static_cast<double>(in[d]);
  s.roi_start.assign(in.size(), 0.0);
  s.roi_end.assign(in.size(), 1.0);
  return s;
}

StatusOr<Spec> resize_spec(const KernelArgs& a, bool* dynamic) {
  const Node& n = a.node;
  const Dims in = static_dims(a.in(0).shape);
  const int64_t rank = static_cast<int64_t>(in.size());
  Spec s = identity_spec(in);
  TARMAC_ASSIGN_OR_RETURN(s.mode, parse_mode(n, n.attr_string("mode", "nearest"), a.opset >= 11));
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  if (a.opset < 11) {
    s.coord = Coord::kAsymmetric;
    s.nearest = Nearest::kLegacy;
    const Tensor* scales = present(a, 1, dynamic);
    if (*dynamic) return s;
    if (!scales) return node_error(n, "the scales input is required");
    TARMAC_RETURN_IF_ERROR(apply_scales(n, *scales, axes, in, &s));
    return s;
  }
  TARMAC_ASSIGN_OR_RETURN(
      s.coord,
      parse_coord(n, a.opset, n.attr_string("coordinate_transformation_mode", "half_pixel")));
  TARMAC_ASSIGN_OR_RETURN(s.nearest,
                          parse_nearest(n, n.attr_string("nearest_mode", "round_prefer_floor")));
  s.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
  s.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
  s.extrapolation = n.attr_float("extrapolation_value", 0.0f);
  std::string policy = "stretch";
  if (a.opset >= 18) {
    s.antialias = n.attr_int("antialias", 0) != 0 && s.mode != Mode::kNearest;
    policy = n.attr_string("keep_aspect_ratio_policy", "stretch");
    if (n.has_attr("axes")) {
      axes.clear();
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t ax : n.attr_ints("axes")) {
        if (ax < -rank || ax >= rank) return node_error(n, "axis {} is out of range", ax);
        const int64_t d = ax < 0 ? ax + rank : ax;
        if (seen[static_cast<size_t>(d)]) return node_error(n, "axis {} is repeated", ax);
        seen[static_cast<size_t>(d)] = true;
        axes.push_back(d);
      }
    }
  }
  const Tensor* roi = present(a, 1, dynamic);
  const Tensor* scales = present(a, 2, dynamic);
  const Tensor* sizes = present(a, 3, dynamic);
  if (*dynamic) return s;
  if (roi) {
    if (!is_floating(roi->dtype()))
      return node_error(n, "roi must be a float tensor, got {}", dtype_name(roi->dtype()));
    const size_t k = axes.size();
    if (roi->numel() != static_cast<int64_t>(2 * k))
      return node_error(n, "roi has {} values, expected {}", roi->numel(), 2 * k);
    for (size_t i = 0; i < k; ++i) {
      s.roi_start[static_cast<size_t>(axes[i])] = roi->as_double(static_cast<int64_t>(i));
      s.roi_end[static_cast<size_t>(axes[i])] = roi->as_double(static_cast<int64_t>(k + i));
    }
  }
  if (scales && sizes) return node_error(n, "only one of scales and sizes may be given");
  if (!scales && !sizes) return node_error(n, "one of scales and sizes must be given");
  if (scales) {
    TARMAC_RETURN_IF_ERROR(apply_scales(n, *scales, axes, in, &s));
  } else {
    TARMAC_RETURN_IF_ERROR(apply_sizes(n, *sizes, axes, policy, in, &s));
  }
  return s;
}

StatusOr<Spec> upsample_spec(const KernelArgs& a, bool* dynamic) {
  const Node& n = a.node;
  const Dims in = static_dims(a.in(0).shape);
  Spec s = identity_spec(in);
  s.coord = Coord::kAsymmetric;
  s.nearest = Nearest::kLegacy;
  TARMAC_ASSIGN_OR_RETURN(s.mode, parse_mode(n, n.attr_string("mode", "nearest"), false));
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d) axes.push_back(d);
  if (a.opset < 9) {
    if (!n.has_attr("scales")) return node_error(n, "the scales attribute is required");
    const std::vector<float> v = n.attr_floats("scales");
    const Tensor t = Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())});
    TARMAC_RETURN_IF_ERROR(apply_scales(n, t, axes, in, &s));
  } else {
    if (!a.has_input(1)) return node_error(n, "the scales input is required");
    const Tensor* t = a.constant(1);
    if (!t) {
      *dynamic = true;
      return s;
    }
    TARMAC_RETURN_IF_ERROR(apply_scales(n, *t, axes, in, &s));
  }
  return s;
}

// ---- per-axis plan (the CPU reference's plan_axis) ------------------------------------------

struct AxisPlan {
  int64_t in = 0, out = 0, taps = 1;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<uint8_t> outside;
  bool any_outside = false;
  bool identity = false;
};

double source_coord(const Spec& s, size_t axis, int64_t j, int64_t in, int64_t out) {
  const double x = static_cast<double>(j);
  const double scale = s.scales[axis];
  const double extent = s.extents[axis];
  const double len_in = static_cast<double>(in);
  switch (s.coord) {
    case Coord::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out) / extent;
      const double offset = len_in / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case Coord::kPytorchHalfPixel:
      return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners:
      return extent == 1 ? 0.0 : x * (len_in - 1) / (extent - 1);
    case Coord::kAsymmetric:
      return x / scale;
    case Coord::kTfHalfPixelForNn:
      return (x + 0.5) / scale;
    case Coord::kTfCropAndResize: {
      const double a = s.roi_start[axis], b = s.roi_end[axis];
      if (extent == 1) return 0.5 * (a + b) * (len_in - 1);
      return a * (len_in - 1) + x * (b - a) * (len_in - 1) / (extent - 1);
    }
  }
  return x;
}

double nearest_position(double x, Nearest m, bool downsampling) {
  const double fl = std::floor(x);
  switch (m) {
    case Nearest::kRoundPreferFloor:
      return x - fl == 0.5 ? fl : std::round(x);
    case Nearest::kRoundPreferCeil:
      return x - fl == 0.5 ? fl + 1 : std::round(x);
    case Nearest::kFloor:
      return fl;
    case Nearest::kCeil:
      return std::ceil(x);
    case Nearest::kLegacy:
      return downsampling ? std::ceil(x) : fl;
  }
  return fl;
}

double cubic_kernel(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0.0;
}

AxisPlan plan_axis(const Spec& s, size_t axis, int64_t in) {
  AxisPlan p;
  p.in = in;
  p.out = s.out_dims[axis];
  const double scale = s.scales[axis];
  const bool cubic = s.mode == Mode::kCubic;
  int64_t start = 0;
  if (s.mode == Mode::kNearest) {
    p.taps = 1;
  } else {
    // No antialias here (refused), so the support is 1 (linear) or 2 (cubic).
    const double radius = std::min(cubic ? 2.0 : 1.0, 2.0 * static_cast<double>(in) + 4);
    start = static_cast<int64_t>(std::floor(-radius)) + 1;
    p.taps = 2 - 2 * start;
  }
  const bool normalize = s.exclude_outside;
  p.idx.resize(static_cast<size_t>(p.out * p.taps));
  p.w.resize(p.idx.size());
  p.outside.assign(static_cast<size_t>(p.out), 0);
  const double last = static_cast<double>(in - 1);
  for (int64_t j = 0; j < p.out; ++j) {
    double x = source_coord(s, axis, j, in, p.out);
    if (s.coord == Coord::kTfCropAndResize && (x < 0 || x > last)) {
      p.outside[static_cast<size_t>(j)] = 1;
      p.any_outside = true;
    }
    if (!std::isfinite(x)) x = 0;
    x = std::clamp(x, -4.0 - static_cast<double>(p.taps), last + 4.0 + static_cast<double>(p.taps));
    int64_t* idx = &p.idx[static_cast<size_t>(j * p.taps)];
    double* w = &p.w[static_cast<size_t>(j * p.taps)];
    if (s.mode == Mode::kNearest) {
      const double pos = nearest_position(x, s.nearest, scale < 1);
      idx[0] = static_cast<int64_t>(std::clamp(pos, 0.0, last));
      w[0] = 1;
      continue;
    }
    const double fl = std::floor(x);
    const double t = x - fl;
    const int64_t base = static_cast<int64_t>(fl);
    double sum = 0;
    for (int64_t k = 0; k < p.taps; ++k) {
      const int64_t i = base + start + k;
      const double d = static_cast<double>(start + k) - t;
      double wk = cubic ? cubic_kernel(d, s.cubic_a) : std::max(0.0, 1 - std::abs(d));
      if (s.exclude_outside && (i < 0 || i >= in)) wk = 0;
      idx[k] = std::clamp<int64_t>(i, 0, in - 1);
      w[k] = wk;
      sum += wk;
    }
    if (normalize) {
      if (sum != 0) {
        for (int64_t k = 0; k < p.taps; ++k) w[k] /= sum;
      } else {
        std::fill(w, w + p.taps, 0.0);
        idx[0] = std::clamp<int64_t>(base, 0, in - 1);
        w[0] = 1;
      }
    }
  }
  p.identity = p.out == p.in && !p.any_outside;
  for (int64_t j = 0; p.identity && j < p.out; ++j) {
    for (int64_t k = 0; k < p.taps; ++k) {
      const size_t q = static_cast<size_t>(j * p.taps + k);
      if (p.w[q] != 0 && !(p.w[q] == 1 && p.idx[q] == j)) p.identity = false;
    }
  }
  return p;
}

/// Holds the per-axis tables on the host and uploads them once at initialize().
class ResizeKernel final : public DeviceKernel {
 public:
  ResizeKernel(ResizeKernelMode mode, DType dt, ResizeParams p, std::vector<int64_t> idx,
               std::vector<double> w, std::vector<uint8_t> outside)
      : mode_(mode),
        dt_(dt),
        p_(p),
        idx_(std::move(idx)),
        w_(std::move(w)),
        outside_(std::move(outside)) {}

  Status initialize(const LaunchContext& /*ctx*/) override {
    if (uploaded_) return Status::ok();
    const size_t idx_bytes = idx_.size() * sizeof(int64_t), w_bytes = w_.size() * sizeof(double);
    TARMAC_ASSIGN_OR_RETURN(tables_,
                            DeviceBuffer::allocate(idx_bytes + w_bytes + outside_.size() + 1));
    char* base = static_cast<char*>(tables_.get());
    if (idx_bytes)
      TARMAC_CUDA_CHECK(cudaMemcpy(base, idx_.data(), idx_bytes, cudaMemcpyHostToDevice));
    if (w_bytes)
      TARMAC_CUDA_CHECK(cudaMemcpy(base + idx_bytes, w_.data(), w_bytes, cudaMemcpyHostToDevice));
    if (!outside_.empty())
      TARMAC_CUDA_CHECK(cudaMemcpy(base + idx_bytes + w_bytes, outside_.data(), outside_.size(),
                                   cudaMemcpyHostToDevice));
    p_.idx = reinterpret_cast<const int64_t*>(base);
    p_.w = reinterpret_cast<const double*>(base + idx_bytes);
    p_.outside = reinterpret_cast<const uint8_t*>(base + idx_bytes + w_bytes);
    uploaded_ = true;
    return Status::ok();
  }

  Status enqueue(const std::vector<TensorView>& in, const std::vector<TensorView>& out,
                 const LaunchContext& ctx) override {
    if (!uploaded_) return internal_error("Resize: enqueue before initialize");
    TARMAC_CUDA_CHECK(launch_resize(mode_, dt_, p_, in[0].data, out[0].data, stream_of(ctx)));
    return Status::ok();
  }

 private:
  ResizeKernelMode mode_;
  DType dt_;
  ResizeParams p_;
  std::vector<int64_t> idx_;
  std::vector<double> w_;
  std::vector<uint8_t> outside_;
  DeviceBuffer tables_;
  bool uploaded_ = false;
};

StatusOr<std::unique_ptr<DeviceKernel>> make_resize_common(const KernelArgs& a, bool upsample) {
  const Node& n = a.node;
  if (!a.has_input(0)) return node_error(n, "input X is missing");
  const DType dt = a.in(0).dtype;
  if (!is_floating(dt) && !is_integer(dt) && dt != DType::kBool)
    return unsupported("{}: input dtype {} is not supported", n.describe(), dtype_name(dt));
  const Dims in = static_dims(a.in(0).shape);
  if (in.size() > static_cast<size_t>(kMaxRank))
    return unsupported("{}: rank {} is above {}", n.describe(), in.size(), kMaxRank);
  bool dynamic = false;
  TARMAC_ASSIGN_OR_RETURN(Spec s, upsample ? upsample_spec(a, &dynamic) : resize_spec(a, &dynamic));
  if (dynamic) return unsupported("{}: roi/scales/sizes are computed at run time", n.describe());
  if (s.antialias) return unsupported("{}: antialias is not supported", n.describe());
  if (s.mode != Mode::kNearest && dt == DType::kBool)
    return node_error(n, "linear and cubic modes need a numeric input, got bool");
  // Integer linear resize rounds values that often land exactly on .5; the CPU reference and
  // this kernel accumulate in different orders and disagree there (found on an H200).
  if (s.mode == Mode::kLinear && is_integer(dt))
    return unsupported("{}: linear resize of {} is not supported on the GPU", n.describe(),
                       dtype_name(dt));
  if (s.out_dims != static_dims(a.out(0).shape))
    return internal_error("{}: planned output {} differs from the inferred {}", n.describe(),
                          dims_to_string(s.out_dims), a.out(0).to_string());
  ResizeParams p;
  to_shape8(in, &p.in_dims);
  to_shape8(s.out_dims, &p.out_dims);
  const Dims strides = row_major_strides(in);
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<uint8_t> outside;
  const bool empty_out = num_elements(s.out_dims) == 0;
  if (!empty_out && num_elements(in) == 0)
    return node_error(n, "cannot resize an empty tensor to a non-empty one");
  for (size_t ax = 0; ax < in.size() && !empty_out; ++ax) {
    const AxisPlan plan = plan_axis(s, ax, in[ax]);
    p.in_strides[ax] = strides[ax];
    p.taps[ax] = static_cast<int32_t>(plan.taps);
    p.idx_off[ax] = static_cast<int64_t>(idx.size());
    p.out_off[ax] = static_cast<int64_t>(outside.size());
    idx.insert(idx.end(), plan.idx.begin(), plan.idx.end());
    w.insert(w.end(), plan.w.begin(), plan.w.end());
    outside.insert(outside.end(), plan.outside.begin(), plan.outside.end());
    p.any_outside = p.any_outside || plan.any_outside;
    if (!plan.identity) p.act[p.nact++] = static_cast<int32_t>(ax);
  }
  p.extrapolation = s.extrapolation;
  const ResizeKernelMode mode =
      s.mode == Mode::kNearest ? ResizeKernelMode::kNearest : ResizeKernelMode::kInterpolate;
  return std::unique_ptr<DeviceKernel>(
      new ResizeKernel(mode, dt, p, std::move(idx), std::move(w), std::move(outside)));
}

}  // namespace

StatusOr<std::unique_ptr<DeviceKernel>> make_resize(const KernelArgs& a) {
  return make_resize_common(a, false);
}
StatusOr<std::unique_ptr<DeviceKernel>> make_upsample(const KernelArgs& a) {
  return make_resize_common(a, true);
}

}  // namespace tarmac::cuda
