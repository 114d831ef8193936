// CPU reference kernels for Resize and Upsample. Nearest copies elements (any dtype); linear
// and cubic run one separable 1-D resampling pass per resized axis.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "backends/cpu/vision_util.h"

namespace tarmac {
namespace vision {
namespace {

/// The 1-D resampling of one axis: output j reads input[idx[j * taps + k]] with weight
/// w[j * taps + k] for k < taps; outside[j] marks tf_crop_and_resize extrapolation.
struct AxisPlan {
  int64_t in = 0, out = 0, taps = 1;
  std::vector<int64_t> idx;
  std::vector<double> w;
  std::vector<uint8_t> outside;
  bool any_outside = false;
  bool identity = false;
};

double source_coord(const ResizeSpec& s, size_t axis, int64_t j, int64_t in, int64_t out) {
  const double x = static_cast<double>(j);
  const double scale = s.scales[axis];
  const double extent = s.extents[axis];
  const double len_in = static_cast<double>(in);
  switch (s.coord) {
    case CoordMode::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case CoordMode::kHalfPixelSymmetric: {
      // Centers the sampled region when floor() shortened the output.
      const double adjustment = static_cast<double>(out) / extent;
      const double offset = len_in / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CoordMode::kPytorchHalfPixel:
      return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordMode::kAlignCorners:
      return extent == 1 ? 0.0 : x * (len_in - 1) / (extent - 1);
    case CoordMode::kAsymmetric:
      return x / scale;
    case CoordMode::kTfHalfPixelForNn:
      return (x + 0.5) / scale;
    case CoordMode::kTfCropAndResize: {
      const double a = s.roi_start[axis], b = s.roi_end[axis];
      if (extent == 1) return 0.5 * (a + b) * (len_in - 1);
      return a * (len_in - 1) + x * (b - a) * (len_in - 1) / (extent - 1);
    }
  }
  return x;
}

double nearest_position(double x, NearestMode m, bool downsampling) {
  const double fl = std::floor(x);
  switch (m) {
    case NearestMode::kRoundPreferFloor:
      return x - fl == 0.5 ? fl : std::round(x);
    case NearestMode::kRoundPreferCeil:
      return x - fl == 0.5 ? fl + 1 : std::round(x);
    case NearestMode::kFloor:
      return fl;
    case NearestMode::kCeil:
      return std::ceil(x);
    case NearestMode::kLegacy:
      return downsampling ? std::ceil(x) : fl;
  }
  return fl;
}

/// Keys' cubic convolution kernel with coefficient a.
double cubic_kernel(double d, double a) {
  d = std::abs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0.0;
}

AxisPlan plan_axis(const ResizeSpec& s, size_t axis, int64_t in) {
  AxisPlan p;
  p.in = in;
  p.out = s.out_dims[axis];
  const double scale = s.scales[axis];
  const bool cubic = s.mode == ResizeMode::kCubic;
  int64_t start = 0;  // first tap relative to floor(x)
  double support_scale = 1.0;
  if (s.mode == ResizeMode::kNearest) {
    p.taps = 1;
  } else {
    // Antialiasing stretches the filter by 1/scale when downsampling.
    if (s.antialias && scale < 1) support_scale = scale;
    // A non-empty output bounds 1/scale by the input length; the min only guards the cast.
    const double radius =
        std::min((cubic ? 2.0 : 1.0) / support_scale, 2.0 * static_cast<double>(in) + 4);
    start = static_cast<int64_t>(std::floor(-radius)) + 1;
    p.taps = 2 - 2 * start;
  }
  const bool normalize = s.antialias || s.exclude_outside;
  p.idx.resize(static_cast<size_t>(p.out * p.taps));
  p.w.resize(p.idx.size());
  p.outside.assign(static_cast<size_t>(p.out), 0);
  const double last = static_cast<double>(in - 1);
  for (int64_t j = 0; j < p.out; ++j) {
    double x = source_coord(s, axis, j, in, p.out);
    if (s.coord == CoordMode::kTfCropAndResize && (x < 0 || x > last)) {
      p.outside[static_cast<size_t>(j)] = 1;
      p.any_outside = true;
    }
    if (!std::isfinite(x)) x = 0;
    // Far-away positions only ever read the edge; clamping keeps the int64 casts defined.
    x = std::clamp(x, -4.0 - static_cast<double>(p.taps), last + 4.0 + static_cast<double>(p.taps));
    int64_t* idx = &p.idx[static_cast<size_t>(j * p.taps)];
    double* w = &p.w[static_cast<size_t>(j * p.taps)];
    if (s.mode == ResizeMode::kNearest) {
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
      const double d = (static_cast<double>(start + k) - t) * support_scale;
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
        // Every tap fell outside: read the nearest edge instead of dividing by zero.
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

/// Converts a resampled value to an element of T; integers round half to even and saturate,
/// like the reference implementation (onnxruntime rounds too).
template <typename T, typename C>
T to_element(C v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T{0};
    const C lo = static_cast<C>(std::numeric_limits<T>::lowest());
    const C hi = static_cast<C>(std::numeric_limits<T>::max());
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi) return std::numeric_limits<T>::max();
    return static_cast<T>(std::nearbyint(v));
  } else {
    return store<T>(v);
  }
}

/// Calls fn(row, coords) for each index of all but the last axis of dims (row-major).
/// Splits rows across threads; coords holds the row's coordinates.
template <typename F>
void for_each_row(const Dims& dims, int64_t grain, F&& fn) {
  const size_t lead = dims.empty() ? 0 : dims.size() - 1;
  Dims lead_dims(dims.begin(), dims.begin() + static_cast<std::ptrdiff_t>(lead));
  const int64_t rows = num_elements(lead_dims);
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    std::vector<int64_t> c(lead, 0);
    int64_t r = b;
    for (size_t a = lead; a-- > 0;) {
      c[a] = r % lead_dims[a];
      r /= lead_dims[a];
    }
    for (int64_t row = b; row < e; ++row) {
      fn(row, c);
      for (size_t a = lead; a-- > 0;) {
        if (++c[a] < lead_dims[a]) break;
        c[a] = 0;
      }
    }
  });
}

template <typename U>
void gather_nearest(const Tensor& x, Tensor* y, const std::vector<AxisPlan>& plans, U extrap,
                    bool any_outside) {
  const U* src = static_cast<const U*>(x.raw());
  U* dst = static_cast<U*>(y->raw());
  const Dims& od = y->dims();
  if (od.empty()) {
    dst[0] = src[0];
    return;
  }
  const Dims strides = row_major_strides(x.dims());
  const AxisPlan& lastp = plans.back();
  const int64_t width = od.back();
  for_each_row(od, std::max<int64_t>(1, 4096 / std::max<int64_t>(width, 1)),
               [&](int64_t row, const std::vector<int64_t>& c) {
                 int64_t off = 0;
                 bool out_row = false;
                 for (size_t a = 0; a < c.size(); ++a) {
                   off += plans[a].idx[static_cast<size_t>(c[a])] * strides[a];
                   out_row = out_row || plans[a].outside[static_cast<size_t>(c[a])];
                 }
                 U* d = dst + row * width;
                 for (int64_t j = 0; j < width; ++j) {
                   const size_t q = static_cast<size_t>(j);
                   d[j] = (any_outside && (out_row || lastp.outside[q])) ? extrap
                                                                         : src[off + lastp.idx[q]];
                 }
               });
}

template <typename T>
Status resample(const KernelContext& ctx, const Tensor& x, Tensor* y,
                const std::vector<AxisPlan>& plans, double extrapolation) {
  // float keeps float16/bfloat16/float32 fast; float64 and integers need double.
  using C = std::conditional_t<std::is_same_v<compute_t<T>, float>, float, double>;
  const T* src = x.data<T>();
  std::vector<size_t> order;
  for (size_t a = 0; a < plans.size(); ++a)
    if (!plans[a].identity) order.push_back(a);
  // Shrinking axes first keeps the intermediate buffers small.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return static_cast<double>(plans[a].out) * static_cast<double>(plans[b].in) <
           static_cast<double>(plans[b].out) * static_cast<double>(plans[a].in);
  });
  Dims dims = x.dims();
  std::vector<C> cur(static_cast<size_t>(x.numel()));
  for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<C>(load(src[i]));
  for (size_t a : order) {
    const AxisPlan& p = plans[a];
    Dims next_dims = dims;
    next_dims[a] = p.out;
    const double bytes = static_cast<double>(num_elements(next_dims)) * sizeof(C);
    if (bytes > static_cast<double>(max_host_allocation_bytes()))
      return resource_exhausted("{}: intermediate buffer of {} bytes is too large",
                                ctx.node.describe(), bytes);
    int64_t outer = 1, inner = 1;
    for (size_t k = 0; k < a; ++k) outer *= dims[k];
    for (size_t k = a + 1; k < dims.size(); ++k) inner *= dims[k];
    std::vector<C> next(static_cast<size_t>(num_elements(next_dims)), C{0});
    std::vector<C> w(p.w.begin(), p.w.end());
    if (inner == 1) {
      // Innermost axis: each output is a short dot product over contiguous input.
      const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.out * p.taps));
      parallel_for(outer, grain, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const C* s = cur.data() + o * p.in;
          C* d = next.data() + o * p.out;
          for (int64_t j = 0; j < p.out; ++j) {
            const int64_t* ix = p.idx.data() + j * p.taps;
            const C* wj = w.data() + j * p.taps;
            C acc = 0;
            for (int64_t k = 0; k < p.taps; ++k) acc += wj[k] * s[ix[k]];
            d[j] = acc;
          }
        }
      });
    } else {
      const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, inner * p.taps));
      parallel_for(outer * p.out, grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          const int64_t o = r / p.out, j = r % p.out;
          C* d = next.data() + r * inner;
          const C* base = cur.data() + o * p.in * inner;
          for (int64_t k = 0; k < p.taps; ++k) {
            const C wk = w[static_cast<size_t>(j * p.taps + k)];
            if (wk == 0) continue;
            const C* s = base + p.idx[static_cast<size_t>(j * p.taps + k)] * inner;
            for (int64_t i = 0; i < inner; ++i) d[i] += wk * s[i];
          }
        }
      });
    }
    cur.swap(next);
    dims = next_dims;
  }
  T* dst = y->data<T>();
  const int64_t total = y->numel();
  parallel_for(total, 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = to_element<T>(cur[static_cast<size_t>(i)]);
  });
  bool any_outside = false;
  for (const AxisPlan& p : plans) any_outside = any_outside || p.any_outside;
  if (any_outside && !dims.empty()) {
    // tf_crop_and_resize: a sample outside the input on any axis takes extrapolation_value.
    const T ev = to_element<T>(static_cast<C>(extrapolation));
    const int64_t width = dims.back();
    for_each_row(dims, 64, [&](int64_t row, const std::vector<int64_t>& c) {
      bool out_row = false;
      for (size_t a = 0; a < c.size(); ++a)
        out_row = out_row || plans[a].outside[static_cast<size_t>(c[a])];
      for (int64_t j = 0; j < width; ++j)
        if (out_row || plans.back().outside[static_cast<size_t>(j)]) dst[row * width + j] = ev;
    });
  }
  return Status::ok();
}

bool resize_dtype_ok(DType t) { return is_floating(t) || is_integer(t) || t == DType::kBool; }

}  // namespace

Status run_resize(KernelContext& ctx, const ResizeSpec& spec) {
  const Tensor& x = ctx.input(0);
  const DType dt = x.dtype();
  if (!resize_dtype_ok(dt))
    return node_error(ctx.node, "input dtype {} is not supported", dtype_name(dt));
  if (spec.mode != ResizeMode::kNearest && dt == DType::kBool)
    return node_error(ctx.node, "linear and cubic modes need a numeric input, got bool");
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, dt, spec.out_dims));
  if (y->numel() == 0) return Status::ok();
  if (x.numel() == 0)
    return node_error(ctx.node, "cannot resize an empty tensor to a non-empty one");
  std::vector<AxisPlan> plans;
  for (size_t a = 0; a < x.dims().size(); ++a) plans.push_back(plan_axis(spec, a, x.dims()[a]));

  if (spec.mode == ResizeMode::kNearest) {
    bool any_outside = false;
    for (const AxisPlan& p : plans) any_outside = any_outside || p.any_outside;
    // The extrapolation value, converted once to the element's bytes.
    uint64_t bits = 0;
    dispatch_all(dt, [&](auto tag) {
      using T = decltype(tag);
      const T v = to_element<T>(spec.extrapolation);
      std::memcpy(&bits, &v, sizeof(T));
    });
    switch (dtype_size(dt)) {
      case 1:
        gather_nearest<uint8_t>(x, y, plans, static_cast<uint8_t>(bits), any_outside);
        break;
      case 2:
        gather_nearest<uint16_t>(x, y, plans, static_cast<uint16_t>(bits), any_outside);
        break;
      case 4:
        gather_nearest<uint32_t>(x, y, plans, static_cast<uint32_t>(bits), any_outside);
        break;
      default:
        gather_nearest<uint64_t>(x, y, plans, bits, any_outside);
        break;
    }
    return Status::ok();
  }
  return dispatch_all(dt, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      return internal_error("unreachable");
    } else {
      return resample<T>(ctx, x, y, plans, spec.extrapolation);
    }
  });
}

}  // namespace vision

Status cpu_Resize(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(vision::ResizeSpec spec, vision::resize_spec(ctx));
  return vision::run_resize(ctx, spec);
}

Status cpu_Upsample(KernelContext& ctx) {
  TARMAC_ASSIGN_OR_RETURN(vision::ResizeSpec spec, vision::upsample_spec(ctx));
  return vision::run_resize(ctx, spec);
}

}  // namespace tarmac
