// Binary elementwise kernels with numpy broadcasting: arithmetic, Mod, PRelu, comparisons,
// logic and Pow. Semantics follow src/backends/cpu/elementwise_binary.cc: float16/bfloat16
// compute in float, integers wrap, integer x / 0 and x mod 0 give 0.
#include "backends/cuda/kernels/elementwise_device.cuh"

namespace tarmac::cuda::ew {
namespace {

template <BinaryOp kOp, typename T>
constexpr bool binary_supports() {
  if constexpr (kOp == BinaryOp::kAnd || kOp == BinaryOp::kOr || kOp == BinaryOp::kXor) {
    return std::is_same_v<T, bool>;
  } else if constexpr (kOp == BinaryOp::kEqual) {
    return true;
  } else {
    return kIsNumeric<T>;
  }
}

/// op(a, b) in the compute type C; comparisons and logic return bool.
template <BinaryOp kOp, typename C>
__device__ __forceinline__ auto binary_apply(C a, C b) {
  constexpr bool kInt = std::is_integral_v<C> && !std::is_same_v<C, bool>;
  if constexpr (kOp == BinaryOp::kAdd) {
    if constexpr (kInt) {
      return wrap_add(a, b);
    } else {
      return a + b;
    }
  } else if constexpr (kOp == BinaryOp::kSub) {
    if constexpr (kInt) {
      return wrap_sub(a, b);
    } else {
      return a - b;
    }
  } else if constexpr (kOp == BinaryOp::kMul) {
    if constexpr (kInt) {
      return wrap_mul(a, b);
    } else {
      return a * b;
    }
  } else if constexpr (kOp == BinaryOp::kDiv) {
    if constexpr (kInt) {
      return int_div(a, b);
    } else {
      return a / b;
    }
  } else if constexpr (kOp == BinaryOp::kModFmod) {
    if constexpr (kInt) {
      return int_rem(a, b);
    } else {
      return m_fmod(a, b);
    }
  } else if constexpr (kOp == BinaryOp::kModPy) {
    if constexpr (kInt) {
      return int_mod(a, b);
    } else {
      C r = m_fmod(a, b);
      if (r != C(0) && ((r < C(0)) != (b < C(0)))) r += b;
      return r;
    }
  } else if constexpr (kOp == BinaryOp::kPRelu) {
    if constexpr (kInt) {
      if constexpr (std::is_signed_v<C>) {
        return a < 0 ? wrap_mul(b, a) : a;
      } else {
        return a;
      }
    } else {
      return a < C(0) ? b * a : a;
    }
  } else if constexpr (kOp == BinaryOp::kEqual) {
    return static_cast<bool>(a == b);
  } else if constexpr (kOp == BinaryOp::kLess) {
    return static_cast<bool>(a < b);
  } else if constexpr (kOp == BinaryOp::kLessOrEqual) {
    return static_cast<bool>(a <= b);
  } else if constexpr (kOp == BinaryOp::kGreater) {
    return static_cast<bool>(a > b);
  } else if constexpr (kOp == BinaryOp::kGreaterOrEqual) {
    return static_cast<bool>(a >= b);
  } else if constexpr (kOp == BinaryOp::kAnd) {
    return static_cast<bool>(a && b);
  } else if constexpr (kOp == BinaryOp::kOr) {
    return static_cast<bool>(a || b);
  } else {
    static_assert(kOp == BinaryOp::kXor, "unhandled binary op");
    return static_cast<bool>(a != b);
  }
}

// a, b: broadcast to l.out; y: [l.numel] of O (T, or bool for predicates)
template <typename T, typename O, BinaryOp kOp>
__global__ void binary_kernel(const T* a, const T* b, O* y,
                              const __grid_constant__ BroadcastLayout<2> l) {
  static_assert(binary_supports<kOp, T>(), "dtype not accepted by this op");
  for (int64_t i = first_index(); i < l.numel; i += grid_stride()) {
    int64_t off[2] = {i, i};
    if (!l.flat) broadcast_offsets<2>(i, l.out, l.in, 2, off);
    y[i] = store<O>(binary_apply<kOp>(load(a[off[0]]), load(b[off[1]])));
  }
}

template <BinaryOp kOp, typename T>
cudaError_t run_binary(const void* a, const void* b, void* y, const BroadcastLayout<2>& l,
                       cudaStream_t stream) {
  if constexpr (!binary_supports<kOp, T>()) {
    return cudaErrorInvalidValue;
  } else {
    using O = std::conditional_t<(kOp >= BinaryOp::kEqual), bool, T>;
    binary_kernel<T, O, kOp><<<grid_for(l.numel), kThreadsPerBlock, 0, stream>>>(
        static_cast<const T*>(a), static_cast<const T*>(b), static_cast<O*>(y), l);
    return cudaGetLastError();
  }
}

template <typename T>
cudaError_t binary_typed(BinaryOp op, const void* a, const void* b, void* y,
                         const BroadcastLayout<2>& l, cudaStream_t stream) {
  switch (op) {
#define TARMAC_BINARY_CASE(name) \
  case BinaryOp::name:           \
    return run_binary<BinaryOp::name, T>(a, b, y, l, stream);
    TARMAC_BINARY_CASE(kAdd)
    TARMAC_BINARY_CASE(kSub)
    TARMAC_BINARY_CASE(kMul)
    TARMAC_BINARY_CASE(kDiv)
    TARMAC_BINARY_CASE(kModFmod)
    TARMAC_BINARY_CASE(kModPy)
    TARMAC_BINARY_CASE(kPRelu)
    TARMAC_BINARY_CASE(kEqual)
    TARMAC_BINARY_CASE(kLess)
    TARMAC_BINARY_CASE(kLessOrEqual)
    TARMAC_BINARY_CASE(kGreater)
    TARMAC_BINARY_CASE(kGreaterOrEqual)
    TARMAC_BINARY_CASE(kAnd)
    TARMAC_BINARY_CASE(kOr)
    TARMAC_BINARY_CASE(kXor)
#undef TARMAC_BINARY_CASE
  }
  return cudaErrorInvalidValue;
}

// ---- Pow ----------------------------------------------------------------------------------

/// Exponent element i of dtype `dt` promoted as the CPU kernel promotes the whole tensor:
/// integers to int64, float64 stays, other floats to float32. E is that promoted type.
template <typename E>
__device__ __forceinline__ E load_exponent(const void* p, int64_t i, DType dt) {
  if constexpr (std::is_same_v<E, int64_t>) {
    switch (dt) {
      case DType::kInt8:
        return static_cast<const int8_t*>(p)[i];
      case DType::kUint8:
        return static_cast<const uint8_t*>(p)[i];
      case DType::kInt32:
        return static_cast<const int32_t*>(p)[i];
      default:
        return static_cast<const int64_t*>(p)[i];
    }
  } else if constexpr (std::is_same_v<E, double>) {
    return static_cast<const double*>(p)[i];
  } else {
    switch (dt) {
      case DType::kFloat16:
        return __half2float(static_cast<const __half*>(p)[i]);
      case DType::kBFloat16:
        return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
      default:
        return static_cast<const float*>(p)[i];
    }
  }
}

/// Integer power by squaring, wrapping like repeated multiplication; a negative exponent
/// truncates 1 / x^|e| toward zero.
template <typename T>
__device__ __forceinline__ T int_pow(T base, int64_t e) {
  if (e < 0) {
    if (base == 1) return 1;
    if constexpr (std::is_signed_v<T>) {
      if (base == -1) return (e % 2 == 0) ? T{1} : T{-1};
    }
    return 0;
  }
  T result = 1;
  while (e > 0) {
    if (e & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
    e >>= 1;
  }
  return result;
}

/// Truncation like a C cast, defined for NaN (0) and out-of-range values (saturated).
template <typename T>
__device__ __forceinline__ T double_to_int(double v) {
  if (isnan(v)) return 0;
  constexpr T lo = std::numeric_limits<T>::min();
  constexpr T hi = std::numeric_limits<T>::max();
  if (v <= static_cast<double>(lo)) return lo;
  if (v >= static_cast<double>(hi)) return hi;
  return static_cast<T>(v);
}

template <typename T, typename E>
__device__ __forceinline__ T pow_apply(T x, E y) {
  if constexpr (kIsFloat<T>) {
    using C = std::conditional_t<std::is_same_v<E, double>, double, compute_t<T>>;
    const C v = static_cast<C>(load(x));
    // x^2 is x*x exactly (the CPU kernel squares for a scalar exponent 2, and its pow(x, 2)
    // is correctly rounded, i.e. x*x); other exponents use pow.
    const C r = static_cast<double>(y) == 2.0 ? v * v : m_pow(v, static_cast<C>(y));
    return store<T>(static_cast<compute_t<T>>(r));
  } else if constexpr (std::is_same_v<E, int64_t>) {
    return int_pow<T>(x, y);
  } else {
    return double_to_int<T>(pow(static_cast<double>(x), static_cast<double>(y)));
  }
}

// a: base, b: exponent (dtype edt), both broadcast to l.out; y: [l.numel]
template <typename T, typename E>
__global__ void pow_kernel(const T* a, const void* b, DType edt, T* y,
                           const __grid_constant__ BroadcastLayout<2> l) {
  static_assert(kIsNumeric<T>, "numeric bases only");
  for (int64_t i = first_index(); i < l.numel; i += grid_stride()) {
    int64_t off[2] = {i, i};
    if (!l.flat) broadcast_offsets<2>(i, l.out, l.in, 2, off);
    y[i] = pow_apply<T, E>(a[off[0]], load_exponent<E>(b, off[1], edt));
  }
}

}  // namespace

cudaError_t launch_binary(BinaryOp op, DType dtype, const void* a, const void* b, void* y,
                          const BroadcastLayout<2>& l, cudaStream_t stream) {
  if (l.numel <= 0) return cudaSuccess;
  return dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return binary_typed<T>(op, a, b, y, l, stream);
  });
}

cudaError_t launch_pow(DType base, DType exponent, const void* a, const void* b, void* y,
                       const BroadcastLayout<2>& l, cudaStream_t stream) {
  if (l.numel <= 0) return cudaSuccess;
  const bool int_exp = exponent == DType::kInt8 || exponent == DType::kUint8 ||
                       exponent == DType::kInt32 || exponent == DType::kInt64;
  const bool float_exp =
      exponent == DType::kFloat32 || exponent == DType::kFloat16 || exponent == DType::kBFloat16;
  if (!int_exp && !float_exp && exponent != DType::kFloat64) return cudaErrorInvalidValue;
  return dispatch(base, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    if constexpr (!kIsNumeric<T>) {
      return cudaErrorInvalidValue;
    } else {
      const unsigned int grid = grid_for(l.numel);
      const T* pa = static_cast<const T*>(a);
      T* py = static_cast<T*>(y);
      if (int_exp) {
        pow_kernel<T, int64_t><<<grid, kThreadsPerBlock, 0, stream>>>(pa, b, exponent, py, l);
      } else if (float_exp) {
        pow_kernel<T, float><<<grid, kThreadsPerBlock, 0, stream>>>(pa, b, exponent, py, l);
      } else {
        pow_kernel<T, double><<<grid, kThreadsPerBlock, 0, stream>>>(pa, b, exponent, py, l);
      }
      return cudaGetLastError();
    }
  });
}

}  // namespace tarmac::cuda::ew
