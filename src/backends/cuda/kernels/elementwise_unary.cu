// Unary elementwise kernels (math functions, activations, Not) and the in-place activation
// launcher of fused epilogues. Formulas follow src/backends/cpu/elementwise_unary.cc: float16 and
// bfloat16 compute in float, float32 in float, float64 in double, integers exactly.
#include "backends/cuda/kernels/activation.cuh"
#include "backends/cuda/kernels/elementwise_device.cuh"

namespace tarmac::cuda::ew {
namespace {

__device__ __forceinline__ float m_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double m_abs(double x) { return fabs(x); }

/// Which element types each op accepts (the factories refuse the rest).
template <UnaryOp kOp, typename T>
constexpr bool unary_supports() {
  if constexpr (kOp == UnaryOp::kNot) {
    return std::is_same_v<T, bool>;
  } else if constexpr (kOp == UnaryOp::kAbs || kOp == UnaryOp::kSign) {
    return kIsNumeric<T>;
  } else if constexpr (kOp == UnaryOp::kNeg || kOp == UnaryOp::kRelu) {
    return kIsFloat<T> || (kIsInt<T> && std::is_signed_v<T>);
  } else {
    return kIsFloat<T>;
  }
}

/// op(x) in the compute type C (float, double or an integer type).
template <UnaryOp kOp, typename C>
__device__ __forceinline__ C unary_apply(C x, float alpha, float beta) {
  constexpr bool kFp = std::is_floating_point_v<C>;
  if constexpr (kOp == UnaryOp::kAbs) {
    if constexpr (kFp) {
      return m_abs(x);
    } else if constexpr (std::is_signed_v<C>) {
      return x < 0 ? wrap_neg(x) : x;
    } else {
      return x;
    }
  } else if constexpr (kOp == UnaryOp::kNeg) {
    if constexpr (kFp) {
      return -x;
    } else {
      return wrap_neg(x);
    }
  } else if constexpr (kOp == UnaryOp::kSign) {
    if constexpr (kFp) {
      if (isnan(x)) return x;
      return static_cast<C>((x > C(0)) - (x < C(0)));
    } else if constexpr (std::is_signed_v<C>) {
      return static_cast<C>((x > 0) - (x < 0));
    } else {
      return static_cast<C>(x != 0);
    }
  } else if constexpr (kOp == UnaryOp::kRelu) {
    return x > C(0) ? x : C(0);
  } else if constexpr (kOp == UnaryOp::kNot) {
    return !x;
  } else if constexpr (kFp) {
    if constexpr (kOp == UnaryOp::kCeil) {
      return m_ceil(x);
    } else if constexpr (kOp == UnaryOp::kFloor) {
      return m_floor(x);
    } else if constexpr (kOp == UnaryOp::kRound) {
      return m_rint(x);
    } else if constexpr (kOp == UnaryOp::kReciprocal) {
      return C(1) / x;
    } else if constexpr (kOp == UnaryOp::kSqrt) {
      return m_sqrt(x);
    } else if constexpr (kOp == UnaryOp::kExp) {
      return m_exp(x);
    } else if constexpr (kOp == UnaryOp::kLog) {
      return m_log(x);
    } else if constexpr (kOp == UnaryOp::kCos) {
      return m_cos(x);
    } else if constexpr (kOp == UnaryOp::kSin) {
      return m_sin(x);
    } else if constexpr (kOp == UnaryOp::kTanh) {
      return m_tanh(x);
    } else if constexpr (kOp == UnaryOp::kErf) {
      return m_erf(x);
    } else if constexpr (kOp == UnaryOp::kSigmoid) {
      // Two branches keep exp() from overflowing for large |x|.
      if (x >= C(0)) return C(1) / (C(1) + m_exp(-x));
      const C e = m_exp(x);
      return e / (C(1) + e);
    } else if constexpr (kOp == UnaryOp::kSoftplus) {
      return x > C(0) ? x + m_log1p(m_exp(-x)) : m_log1p(m_exp(x));
    } else if constexpr (kOp == UnaryOp::kElu) {
      return x < C(0) ? C(alpha) * m_expm1(x) : x;
    } else if constexpr (kOp == UnaryOp::kSelu) {
      const C gamma = C(beta);
      return x <= C(0) ? gamma * (C(alpha) * m_exp(x) - C(alpha)) : gamma * x;
    } else if constexpr (kOp == UnaryOp::kLeakyRelu) {
      return x < C(0) ? C(alpha) * x : x;
    } else if constexpr (kOp == UnaryOp::kHardSigmoid) {
      if (x != x) return x;  // NaN stays NaN, as in the CPU reference
      return std_max(C(0), std_min(C(1), C(alpha) * x + C(beta)));
    } else if constexpr (kOp == UnaryOp::kHardSwish) {
      return x * std_max(C(0), std_min(C(1), x / C(6) + C(0.5)));
    } else if constexpr (kOp == UnaryOp::kGelu) {
      return C(0.5) * x * (C(1) + m_erf(x * C(0.70710678118654752440)));
    } else if constexpr (kOp == UnaryOp::kGeluTanh) {
      const C inner = C(0.79788456080286535588) * (x + C(0.044715) * x * x * x);
      return C(0.5) * x * (C(1) + m_tanh(inner));
    } else {
      static_assert(kOp == UnaryOp::kGeluTanh, "unhandled unary op");
      return x;
    }
  } else {
    return x;  // not reached: unary_supports refuses integer inputs of float-only ops
  }
}

// y, x: [n] (may alias)
template <typename T, UnaryOp kOp>
__global__ void unary_kernel(const T* x, T* y, int64_t n, float alpha, float beta) {
  static_assert(unary_supports<kOp, T>(), "dtype not accepted by this op");
  for (int64_t i = first_index(); i < n; i += grid_stride())
    y[i] = store<T>(unary_apply<kOp>(load(x[i]), alpha, beta));
}

template <UnaryOp kOp, typename T>
cudaError_t run_unary(const void* x, void* y, int64_t n, float alpha, float beta,
                      cudaStream_t stream) {
  if constexpr (!unary_supports<kOp, T>()) {
    return cudaErrorInvalidValue;
  } else {
    unary_kernel<T, kOp><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), n, alpha, beta);
    return cudaGetLastError();
  }
}

template <typename T>
cudaError_t unary_typed(UnaryOp op, const void* x, void* y, int64_t n, float alpha, float beta,
                        cudaStream_t stream) {
  switch (op) {
#define TARMAC_UNARY_CASE(name) \
  case UnaryOp::name:           \
    return run_unary<UnaryOp::name, T>(x, y, n, alpha, beta, stream);
    TARMAC_UNARY_CASE(kAbs)
    TARMAC_UNARY_CASE(kNeg)
    TARMAC_UNARY_CASE(kSign)
    TARMAC_UNARY_CASE(kRelu)
    TARMAC_UNARY_CASE(kCeil)
    TARMAC_UNARY_CASE(kFloor)
    TARMAC_UNARY_CASE(kRound)
    TARMAC_UNARY_CASE(kReciprocal)
    TARMAC_UNARY_CASE(kSqrt)
    TARMAC_UNARY_CASE(kExp)
    TARMAC_UNARY_CASE(kLog)
    TARMAC_UNARY_CASE(kCos)
    TARMAC_UNARY_CASE(kSin)
    TARMAC_UNARY_CASE(kTanh)
    TARMAC_UNARY_CASE(kErf)
    TARMAC_UNARY_CASE(kSigmoid)
    TARMAC_UNARY_CASE(kSoftplus)
    TARMAC_UNARY_CASE(kElu)
    TARMAC_UNARY_CASE(kSelu)
    TARMAC_UNARY_CASE(kLeakyRelu)
    TARMAC_UNARY_CASE(kHardSigmoid)
    TARMAC_UNARY_CASE(kHardSwish)
    TARMAC_UNARY_CASE(kGelu)
    TARMAC_UNARY_CASE(kGeluTanh)
    TARMAC_UNARY_CASE(kNot)
#undef TARMAC_UNARY_CASE
  }
  return cudaErrorInvalidValue;
}

// data: [n], updated in place
template <typename T>
__global__ void activation_kernel(T* data, int64_t n, int act, float alpha, float beta) {
  static_assert(kIsFloat<T> && !std::is_same_v<T, double>, "float32/float16/bfloat16 only");
  for (int64_t i = first_index(); i < n; i += grid_stride())
    data[i] = store<T>(apply_activation_device(act, load(data[i]), alpha, beta));
}

}  // namespace

cudaError_t launch_unary(UnaryOp op, DType dtype, const void* x, void* y, int64_t n, float alpha,
                         float beta, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  return dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return unary_typed<T>(op, x, y, n, alpha, beta, stream);
  });
}

cudaError_t launch_activation_raw(DType dtype, void* data, int64_t n, int act, float alpha,
                                  float beta, cudaStream_t stream) {
  if (act < 0 || act >= kActCount) return cudaErrorInvalidValue;
  if (n <= 0 || act == kActNone) return cudaSuccess;
  return dispatch(dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || kIsHalf<T>) {
      activation_kernel<T><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(static_cast<T*>(data), n,
                                                                         act, alpha, beta);
      return cudaGetLastError();
    } else {
      return cudaErrorInvalidValue;
    }
  });
}

}  // namespace tarmac::cuda::ew
