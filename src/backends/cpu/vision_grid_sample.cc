// CPU reference kernel for GridSample: opset 16 (4-D input; bilinear/nearest/bicubic) and
// opset 20 (N-d input; linear/nearest/cubic). Like onnxruntime and PyTorch: out-of-range
// positions are clamped or reflected first, then every tap is resolved with the padding mode.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac {
namespace {

enum class SampleMode { kNearest, kLinear, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

constexpr int kMaxTaps = 4;

/// Reflects x into [lo, hi] as often as needed (a mirror at each border).
double reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x >= lo && x <= hi) return x;
  const double dx = x < lo ? lo - x : x - hi;
  const double flips = std::floor(dx / range);
  const double r = dx - flips * range;
  const bool even = std::fmod(flips, 2.0) == 0;
  if (x < lo) return even ? lo + r : hi - r;
  return even ? hi - r : lo + r;
}

double cubic_weight(double d) {
  constexpr double a = -0.75;  // PyTorch's and the spec's fixed coefficient
  d = std::abs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

struct AxisTaps {
  int count = 0;
  std::array<int64_t, kMaxTaps> idx{};
  std::array<double, kMaxTaps> w{};
  std::array<bool, kMaxTaps> valid{};
};

struct Sampler {
  SampleMode mode;
  Padding padding;
  bool align_corners;
  bool float_grid;  // positions are rounded to float32 like the reference computes them

  AxisTaps taps(double g, int64_t len) const {
    const double n = static_cast<double>(len);
    double x = align_corners ? (g + 1) / 2 * (n - 1) : ((g + 1) * n - 1) / 2;
    if (float_grid) x = static_cast<float>(x);
    if (std::isnan(x)) x = -10;
    if (mode == SampleMode::kNearest) x = std::nearbyint(x);  // halfway rounds to even
    const double lo = align_corners ? 0 : -0.5;
    const double hi = align_corners ? n - 1 : n - 0.5;
    if (x < lo || x > hi) {
      // Bicubic clamps each tap, not the position: PyTorch and onnxruntime agree on that; the
      // ONNX reference clamps the position first, and no node test tells the two apart.
      if (padding == Padding::kBorder && mode != SampleMode::kCubic) x = std::clamp(x, 0.0, n - 1);
      if (padding == Padding::kReflection) x = reflect(x, lo, hi);
    }
    // Far outside, every tap is padding; the clamp keeps the int64 conversions defined.
    x = std::clamp(x, -10.0, n + 10);
    AxisTaps t;
    int64_t first = 0;
    if (mode == SampleMode::kNearest) {
      t.count = 1;
      first = static_cast<int64_t>(x);
      t.w[0] = 1;
    } else {
      const double fl = std::floor(x);
      const double f = x - fl;
      if (mode == SampleMode::kLinear) {
        t.count = 2;
        first = static_cast<int64_t>(fl);
        t.w[0] = 1 - f;
        t.w[1] = f;
      } else {
        t.count = 4;
        first = static_cast<int64_t>(fl) - 1;
        for (int k = 0; k < 4; ++k) t.w[k] = cubic_weight(static_cast<double>(k - 1) - f);
      }
    }
    for (int k = 0; k < t.count; ++k) {
      int64_t i = first + k;
      bool ok = true;
      if (i < 0 || i >= len) {
        if (padding == Padding::kZeros) ok = false;
        if (padding == Padding::kReflection)
          i = static_cast<int64_t>(reflect(static_cast<double>(i), lo, hi));
        i = std::clamp<int64_t>(i, 0, len - 1);
      }
      t.idx[k] = i;
      t.valid[k] = ok;
    }
    return t;
  }
};

template <typename T, typename G>
void grid_sample(const Tensor& x, const Tensor& grid, Tensor* y, const Sampler& s) {
  const Dims& xd = x.dims();
  const size_t r = xd.size() - 2;
  const int64_t batch = xd[0], channels = xd[1];
  const Dims spatial(xd.begin() + 2, xd.end());
  const int64_t in_size = num_elements(spatial);
  const int64_t out_size = y->numel() / std::max<int64_t>(1, batch * channels);
  const Dims in_strides = row_major_strides(spatial);
  const T* xs = x.data<T>();
  const G* gs = grid.data<G>();
  T* ys = y->data<T>();
  parallel_for(batch * out_size, 64, [&](int64_t b, int64_t e) {
    std::vector<AxisTaps> axes(r);
    std::vector<int64_t> offsets;
    std::vector<double> weights;
    std::vector<int> k(r, 0);
    for (int64_t q = b; q < e; ++q) {
      const int64_t nb = q / out_size, p = q % out_size;
      const G* g = gs + q * static_cast<int64_t>(r);
      // The grid's last dimension lists coordinates innermost axis first (x, y, z...).
      for (size_t i = 0; i < r; ++i)
        axes[i] = s.taps(static_cast<double>(load(g[r - 1 - i])), spatial[i]);
      offsets.clear();
      weights.clear();
      std::fill(k.begin(), k.end(), 0);
      while (true) {
        double w = 1;
        int64_t off = 0;
        bool ok = true;
        for (size_t i = 0; i < r && ok; ++i) {
          ok = axes[i].valid[k[i]];
          w *= axes[i].w[k[i]];
          off += axes[i].idx[k[i]] * in_strides[i];
        }
        if (ok && w != 0) {
          offsets.push_back(off);
          weights.push_back(w);
        }
        size_t i = r;
        while (i > 0 && ++k[i - 1] == axes[i - 1].count) k[--i] = 0;
        if (i == 0) break;
      }
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = xs + (nb * channels + c) * in_size;
        double acc = 0;
        for (size_t t = 0; t < offsets.size(); ++t)
          acc += weights[t] * static_cast<double>(load(plane[offsets[t]]));
        T& out = ys[(nb * channels + c) * out_size + p];
        if constexpr (std::is_integral_v<T>) {
          // Like a numpy astype: truncate, after saturating to the type's range.
          acc = std::clamp(acc, static_cast<double>(std::numeric_limits<T>::lowest()),
                           static_cast<double>(std::numeric_limits<T>::max()));
          out = static_cast<T>(acc);
        } else {
          out = store<T>(static_cast<compute_t<T>>(acc));
        }
      }
    }
  });
}

}  // namespace

Status cpu_GridSample(KernelContext& ctx) {
  const Node& n = ctx.node;
  if (!ctx.has_input(0) || !ctx.has_input(1)) return node_error(n, "needs inputs X and grid");
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  const bool v20 = ctx.opset >= 20;
  if (!v20 && x.rank() != 4)
    return node_error(n, "X has {} dims, expected 4 before opset 20", x.rank());
  if (x.rank() < 3) return node_error(n, "X has {} dims, expected at least 3", x.rank());
  const int r = x.rank() - 2;
  if (grid.rank() != r + 2)
    return node_error(n, "grid has {} dims, expected {}", grid.rank(), r + 2);
  if (grid.dim(0) != x.dim(0))
    return node_error(n, "grid batch {} does not match X batch {}", grid.dim(0), x.dim(0));
  if (grid.dim(-1) != r) return node_error(n, "grid last dim is {}, expected {}", grid.dim(-1), r);
  if (!is_floating(grid.dtype()))
    return node_error(n, "grid must be a float tensor, got {}", dtype_name(grid.dtype()));
  if (!is_floating(x.dtype()) && !is_integer(x.dtype()))
    return node_error(n, "X dtype {} is not supported", dtype_name(x.dtype()));

  Sampler s{};
  const std::string mode = n.attr_string("mode", v20 ? "linear" : "bilinear");
  if (mode == "nearest") {
    s.mode = SampleMode::kNearest;
  } else if (mode == (v20 ? "linear" : "bilinear")) {
    s.mode = SampleMode::kLinear;
  } else if (mode == (v20 ? "cubic" : "bicubic")) {
    s.mode = SampleMode::kCubic;
  } else {
    return node_error(n, "mode '{}' is not one of {}", mode,
                      v20 ? "linear, nearest, cubic" : "bilinear, nearest, bicubic");
  }
  const std::string pad = n.attr_string("padding_mode", "zeros");
  if (pad == "zeros") {
    s.padding = Padding::kZeros;
  } else if (pad == "border") {
    s.padding = Padding::kBorder;
  } else if (pad == "reflection") {
    s.padding = Padding::kReflection;
  } else {
    return node_error(n, "padding_mode '{}' is not one of zeros, border, reflection", pad);
  }
  s.align_corners = n.attr_int("align_corners", 0) != 0;
  s.float_grid = grid.dtype() != DType::kFloat64;

  Dims out{x.dim(0), x.dim(1)};
  for (int i = 0; i < r; ++i) out.push_back(grid.dim(1 + i));
  TARMAC_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out));
  if (y->numel() == 0) return Status::ok();
  if (x.numel() == 0) return node_error(n, "X has a zero-length spatial axis");
  dispatch_all(x.dtype(), [&](auto xt) {
    using T = decltype(xt);
    if constexpr (!std::is_same_v<T, bool>) {
      dispatch_all(grid.dtype(), [&](auto gt) {
        using G = decltype(gt);
        if constexpr (std::is_floating_point_v<compute_t<G>>) grid_sample<T, G>(x, grid, y, s);
      });
    }
  });
  return Status::ok();
}

}  // namespace tarmac
