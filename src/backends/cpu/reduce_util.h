// Helpers private to the reduce family's CPU kernels (reduce*.cc).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "backends/cpu/kernel.h"

namespace tarmac::reduce_detail {

/// A tensor seen as [outer, n, inner] around one axis (or around a flattened range of axes).
struct AxisView {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
};

/// dims[:begin] -> outer, dims[begin:end] -> n, dims[end:] -> inner.
inline AxisView axis_view(const Dims& dims, int64_t begin, int64_t end) {
  AxisView v;
  for (int64_t k = 0; k < static_cast<int64_t>(dims.size()); ++k) {
    const int64_t d = dims[static_cast<size_t>(k)];
    if (k < begin) {
      v.outer *= d;
    } else if (k < end) {
      v.n *= d;
    } else {
      v.inner *= d;
    }
  }
  return v;
}

/// Range-checks an axis attribute/input against rank (accepted range [-rank, rank-1]).
inline StatusOr<int64_t> checked_axis(const Node& node, const char* what, int64_t axis,
                                      int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return node_error(node, "{} {} is out of range for an input of rank {}", what, axis, rank);
  }
  return axis < 0 ? axis + rank : axis;
}

/// Accumulator type: double for every floating type (so float32 sums over long rows keep
/// their accuracy), int64 for integer and bool types.
template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, int64_t>;

/// Integer accumulation wraps around like the storage type would instead of being UB.
inline int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
inline double wrap_add(double a, double b) { return a + b; }
inline double wrap_mul(double a, double b) { return a * b; }

/// Converts an accumulator back to the storage type.
template <typename T, typename A>
inline T from_acc(A v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    return store<T>(static_cast<compute_t<T>>(v));
  }
}

/// Double -> storage type where the value may be NaN/inf (integer outputs get 0 or clamp,
/// never an undefined float-to-int conversion).
template <typename T>
inline T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return store<T>(static_cast<compute_t<T>>(v));
  }
}

/// Calls f(T{}) for the four floating storage types; callers check is_floating() first.
template <typename F>
decltype(auto) dispatch_floating(DType t, F&& f) {
  switch (t) {
    case DType::kFloat64:
      return f(double{});
    case DType::kFloat16:
      return f(Half{});
    case DType::kBFloat16:
      return f(BFloat16{});
    default:
      return f(float{});
  }
}

/// Calls f(T{}) for floating and integer storage types (not bool); callers validate first.
template <typename F>
decltype(auto) dispatch_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kInt8:
      return f(int8_t{});
    case DType::kUint8:
      return f(uint8_t{});
    case DType::kInt32:
      return f(int32_t{});
    case DType::kInt64:
      return f(int64_t{});
    default:
      return dispatch_floating(t, std::forward<F>(f));
  }
}

/// Grain (in items) for parallel_for so each chunk does at least ~32k element operations.
inline int64_t grain_for(int64_t work_per_item) {
  constexpr int64_t kChunkWork = 32768;
  return work_per_item >= kChunkWork ? 1 : kChunkWork / std::max<int64_t>(work_per_item, 1);
}

/// All values of a small parameter tensor (scale, bias, statistics) as doubles.
inline std::vector<double> to_double_vector(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.as_double(i);
  return v;
}

}  // namespace tarmac::reduce_detail
