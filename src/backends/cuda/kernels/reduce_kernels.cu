// ReduceSum/SumSquare/L2/Mean/Prod/Max/Min on the generic reduction kernels. Accumulators:
// float for float32/float16/bfloat16, double for float64, int64 (wrapping) for integers and
// bool, as the CPU reference (which uses double for every float type) does up to rounding.
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/reduce_engine.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

template <typename T>
using acc_t = std::conditional_t<std::is_same_v<T, double>, double,
                                 std::conditional_t<kIsFloat<T>, float, int64_t>>;

/// Integer accumulation wraps like the storage type would instead of being UB.
__device__ __forceinline__ int64_t wrap_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
__device__ __forceinline__ int64_t wrap_mul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
template <typename A>
__device__ __forceinline__ A wrap_add(A a, A b) {
  return a + b;
}
template <typename A>
__device__ __forceinline__ A wrap_mul(A a, A b) {
  return a * b;
}

/// Double -> storage type where the value may be NaN/inf: integers get 0 or saturate.
template <typename T>
__device__ __forceinline__ T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    if (v != v) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  } else {
    return store<T>(static_cast<compute_t<T>>(v));
  }
}

template <typename T, ReduceKind K>
struct ReduceOp {
  using Acc = acc_t<T>;
  using Out = T;
  static_assert(K != ReduceKind::kArgMax && K != ReduceKind::kArgMin, "see reduce_arg.cu");

  __device__ static Acc identity() {
    if constexpr (K == ReduceKind::kProd) {
      return Acc{1};
    } else if constexpr (K == ReduceKind::kMax) {
      if constexpr (std::is_floating_point_v<Acc>) {
        return -std::numeric_limits<Acc>::infinity();
      } else {
        return static_cast<Acc>(std::numeric_limits<T>::lowest());  // false for bool
      }
    } else if constexpr (K == ReduceKind::kMin) {
      if constexpr (std::is_floating_point_v<Acc>) {
        return std::numeric_limits<Acc>::infinity();
      } else {
        return static_cast<Acc>(std::numeric_limits<T>::max());  // true for bool
      }
    } else {
      return Acc{0};
    }
  }
  __device__ static Acc make(const T* x, int64_t off, int64_t /*r*/) {
    const Acc v = static_cast<Acc>(load_at(x, off));
    if constexpr (K == ReduceKind::kSumSquare || K == ReduceKind::kL2) {
      return wrap_mul(v, v);
    } else {
      return v;
    }
  }
  __device__ static Acc combine(Acc a, Acc b) {
    if constexpr (K == ReduceKind::kMax) {
      // NaN wins and then sticks, as numpy's max does.
      return (b > a || is_nan(b)) ? b : a;
    } else if constexpr (K == ReduceKind::kMin) {
      return (b < a || is_nan(b)) ? b : a;
    } else if constexpr (K == ReduceKind::kProd) {
      return wrap_mul(a, b);
    } else {
      return wrap_add(a, b);
    }
  }
  __device__ static Out finish(Acc a, int64_t count) {
    if constexpr (K == ReduceKind::kMean) {
      if constexpr (std::is_integral_v<Acc>) {
        // An empty integer mean is 0/0 = NaN, which converts to 0 like the CPU.
        return from_double<T>(static_cast<double>(a) / static_cast<double>(count));
      } else {
        return store<T>(a / static_cast<Acc>(count));
      }
    } else if constexpr (K == ReduceKind::kL2) {
      if constexpr (std::is_integral_v<Acc>) {
        return from_double<T>(sqrt(static_cast<double>(a)));
      } else {
        return store<T>(sqrt(a));
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      return a != 0;
    } else {
      return store<T>(a);
    }
  }
};

template <typename F>
bool dispatch_kind(ReduceKind k, F&& f) {
  switch (k) {
    case ReduceKind::kSum:
      f(std::integral_constant<ReduceKind, ReduceKind::kSum>{});
      return true;
    case ReduceKind::kSumSquare:
      f(std::integral_constant<ReduceKind, ReduceKind::kSumSquare>{});
      return true;
    case ReduceKind::kL2:
      f(std::integral_constant<ReduceKind, ReduceKind::kL2>{});
      return true;
    case ReduceKind::kMean:
      f(std::integral_constant<ReduceKind, ReduceKind::kMean>{});
      return true;
    case ReduceKind::kProd:
      f(std::integral_constant<ReduceKind, ReduceKind::kProd>{});
      return true;
    case ReduceKind::kMax:
      f(std::integral_constant<ReduceKind, ReduceKind::kMax>{});
      return true;
    case ReduceKind::kMin:
      f(std::integral_constant<ReduceKind, ReduceKind::kMin>{});
      return true;
    default:
      return false;
  }
}

/// The (kind, dtype) pairs the CPU reference accepts: every numeric type but 8-bit integers,
/// plus int8/uint8/bool for Max and Min.
template <typename T, ReduceKind K>
constexpr bool kSupported = kIsFloat<T> || std::is_same_v<T, int32_t> ||
                            std::is_same_v<T, int64_t> ||
                            ((K == ReduceKind::kMax || K == ReduceKind::kMin) &&
                             (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                              std::is_same_v<T, bool>));

}  // namespace
}  // namespace reduce_detail

size_t reduce_workspace_bytes(ReduceKind kind, DType dtype, const ReducePlan& p) {
  using namespace reduce_detail;
  if (kind == ReduceKind::kArgMax || kind == ReduceKind::kArgMin)
    return arg_workspace_bytes(dtype, p);
  if (p.splits <= 1) return 0;
  size_t acc_bytes = 8;
  dispatch_type(dtype, [&](auto tag) { acc_bytes = sizeof(acc_t<decltype(tag)>); });
  return static_cast<size_t>(p.g.rows * p.g.inner * p.splits) * acc_bytes;
}

cudaError_t launch_reduce(ReduceKind kind, DType dtype, const ReducePlan& p, const void* x, void* y,
                          void* workspace, cudaStream_t stream) {
  using namespace reduce_detail;
  if (kind == ReduceKind::kArgMax || kind == ReduceKind::kArgMin)
    return launch_arg_reduce(kind, dtype, p, x, y, workspace, stream);
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    dispatch_kind(kind, [&](auto kc) {
      constexpr ReduceKind K = decltype(kc)::value;
      if constexpr (kSupported<T, K>) {
        err = run_reduce<ReduceOp<T, K>, T>(p, x, y, workspace, stream);
      }
    });
  });
  return err;
}

}  // namespace tarmac::cuda
