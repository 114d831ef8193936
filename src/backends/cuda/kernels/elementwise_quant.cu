// QuantizeLinear / DequantizeLinear kernels: per-tensor, per-axis and blocked scales, int8/uint8
// quantized values. Semantics follow src/backends/cpu/vision_quant.cc (round half to even,
// saturation, NaN to the zero point).
#include "backends/cuda/kernels/elementwise_device.cuh"

namespace tarmac::cuda::ew {
namespace {

/// Index of the scale (and zero point) that applies to element i of x.
__device__ __forceinline__ int64_t scale_index(const QuantParams& p, int64_t i) {
  switch (p.kind) {
    case 1:
      return (i / p.inner) % p.axis_len;
    case 2: {
      const int64_t o = i / (p.axis_len * p.inner);
      const int64_t a = (i / p.inner) % p.axis_len;
      return (o * p.scale_len + a / p.block) * p.inner + i % p.inner;
    }
    default:
      return 0;
  }
}

/// Element i of a float tensor as double (Tensor::as_double).
__device__ __forceinline__ double load_float_as_double(const void* p, int64_t i, DType dt) {
  switch (dt) {
    case DType::kFloat16:
      return __half2float(static_cast<const __half*>(p)[i]);
    case DType::kBFloat16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DType::kFloat64:
      return static_cast<const double*>(p)[i];
    default:
      return static_cast<const float*>(p)[i];
  }
}

/// Element i of an integer zero point (Tensor::as_int64).
__device__ __forceinline__ int64_t load_int(const void* p, int64_t i, DType dt) {
  switch (dt) {
    case DType::kInt8:
      return static_cast<const int8_t*>(p)[i];
    case DType::kInt32:
      return static_cast<const int32_t*>(p)[i];
    default:
      return static_cast<const uint8_t*>(p)[i];
  }
}

// x, y: [n]; scale/zero point indexed by scale_index
template <typename X, typename Q, typename C>
__global__ void quantize_kernel(const X* x, Q* y, int64_t n,
                                const __grid_constant__ QuantParams p) {
  static_assert(std::is_same_v<Q, int8_t> || std::is_same_v<Q, uint8_t>, "int8/uint8 output");
  static_assert(std::is_floating_point_v<C>, "computes in float or double");
  constexpr C lo = static_cast<C>(std::numeric_limits<Q>::lowest());
  constexpr C hi = static_cast<C>(std::numeric_limits<Q>::max());
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t s = scale_index(p, i);
    const C sc = static_cast<C>(load_float_as_double(p.scale, s, p.scale_dtype));
    const C zp = p.zero_point ? static_cast<C>(load_int(p.zero_point, p.zero_point_scalar ? 0 : s,
                                                        p.zero_point_dtype))
                              : C(0);
    C q = m_rint(static_cast<C>(load(x[i])) / sc);  // rint: half to even
    if (isnan(q)) q = 0;                            // NaN maps to the zero point
    const C v = q + zp;
    y[i] = static_cast<Q>(v < lo ? lo : (hi < v ? hi : v));
  }
}

// x, y: [n]; scale/zero point indexed by scale_index
template <typename X, typename Y, typename C>
__global__ void dequantize_kernel(const X* x, Y* y, int64_t n,
                                  const __grid_constant__ QuantParams p) {
  static_assert(kIsInt<X>, "integer input");
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t s = scale_index(p, i);
    const C sc = static_cast<C>(load_float_as_double(p.scale, s, p.scale_dtype));
    const int64_t zp =
        p.zero_point ? load_int(p.zero_point, p.zero_point_scalar ? 0 : s, p.zero_point_dtype) : 0;
    const C v = static_cast<C>(static_cast<int64_t>(x[i]) - zp) * sc;
    y[i] = store<Y>(v);
  }
}

template <typename X, typename Q>
cudaError_t run_quantize(bool wide, const void* x, void* y, int64_t n, const QuantParams& p,
                         cudaStream_t stream) {
  const X* px = static_cast<const X*>(x);
  Q* py = static_cast<Q*>(y);
  if (wide) {
    quantize_kernel<X, Q, double><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(px, py, n, p);
  } else {
    quantize_kernel<X, Q, float><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(px, py, n, p);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_quantize(DType x_dtype, DType q, bool wide, const void* x, void* y, int64_t n,
                            const QuantParams& p, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (q != DType::kInt8 && q != DType::kUint8) return cudaErrorInvalidValue;
  return dispatch(x_dtype, [&](auto tag) -> cudaError_t {
    using X = typename decltype(tag)::type;
    if constexpr (kIsFloat<X> || std::is_same_v<X, int32_t>) {
      return q == DType::kInt8 ? run_quantize<X, int8_t>(wide, x, y, n, p, stream)
                               : run_quantize<X, uint8_t>(wide, x, y, n, p, stream);
    } else {
      return cudaErrorInvalidValue;
    }
  });
}

cudaError_t launch_dequantize(DType x_dtype, DType y_dtype, const void* x, void* y, int64_t n,
                              const QuantParams& p, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  return dispatch(x_dtype, [&](auto xtag) -> cudaError_t {
    using X = typename decltype(xtag)::type;
    if constexpr (!(std::is_same_v<X, int8_t> || std::is_same_v<X, uint8_t> ||
                    std::is_same_v<X, int32_t>)) {
      return cudaErrorInvalidValue;
    } else {
      return dispatch(y_dtype, [&](auto ytag) -> cudaError_t {
        using Y = typename decltype(ytag)::type;
        if constexpr (!kIsFloat<Y>) {
          return cudaErrorInvalidValue;
        } else {
          using C = std::conditional_t<std::is_same_v<Y, double>, double, float>;
          dequantize_kernel<X, Y, C><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(
              static_cast<const X*>(x), static_cast<Y*>(y), n, p);
          return cudaGetLastError();
        }
      });
    }
  });
}

}  // namespace tarmac::cuda::ew
