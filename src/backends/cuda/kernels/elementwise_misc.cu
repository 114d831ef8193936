// The remaining elementwise kernels: variadic Sum/Mean/Max/Min, Where, Clip, Cast and the
// constant fill of Dropout's mask. Semantics follow src/backends/cpu/elementwise_misc.cc and
// Tensor::cast (src/core/tensor.cc).
#include "backends/cuda/kernels/elementwise_device.cuh"

namespace tarmac::cuda::ew {
namespace {

// ---- variadic -----------------------------------------------------------------------------

template <VariadicOp kOp, typename C>
__device__ __forceinline__ C variadic_combine(C acc, C v) {
  if constexpr (kOp == VariadicOp::kMax) {
    return nan_max<C>(acc, v);
  } else if constexpr (kOp == VariadicOp::kMin) {
    return nan_min<C>(acc, v);
  } else if constexpr (std::is_integral_v<C>) {
    return wrap_add(acc, v);
  } else {
    return acc + v;
  }
}

// c.in[k]: broadcast to c.out; acc_in, acc_out, y: [c.numel]
template <typename T, VariadicOp kOp>
__global__ void variadic_kernel(const __grid_constant__ VariadicChunk c, const compute_t<T>* acc_in,
                                compute_t<T>* acc_out, T* y, compute_t<T> mean_count) {
  static_assert(kIsNumeric<T>, "numeric types only");
  static_assert(kOp != VariadicOp::kMean || kIsFloat<T>, "Mean takes floating-point types");
  using C = compute_t<T>;
  for (int64_t i = first_index(); i < c.numel; i += grid_stride()) {
    int64_t off[kMaxVariadicInputs];
    if (c.flat) {
#pragma unroll
      for (int k = 0; k < kMaxVariadicInputs; ++k) off[k] = i;
    } else {
      broadcast_offsets<kMaxVariadicInputs>(i, c.out, c.strides, c.count, off);
    }
    int k = 0;
    C acc;
    if (acc_in) {
      acc = acc_in[i];
    } else {
      acc = load(static_cast<const T*>(c.in[0])[off[0]]);
      k = 1;
    }
    for (; k < c.count; ++k)
      acc = variadic_combine<kOp, C>(acc, load(static_cast<const T*>(c.in[k])[off[k]]));
    if (acc_out) {
      acc_out[i] = acc;
    } else {
      if constexpr (kOp == VariadicOp::kMean) acc = acc / mean_count;
      y[i] = store<T>(acc);
    }
  }
}

template <typename T, VariadicOp kOp>
cudaError_t run_variadic(const VariadicChunk& c, const void* acc_in, void* acc_out, void* y,
                         double mean_count, cudaStream_t stream) {
  using C = compute_t<T>;
  if constexpr (!kIsNumeric<T> || (kOp == VariadicOp::kMean && !kIsFloat<T>)) {
    return cudaErrorInvalidValue;
  } else {
    variadic_kernel<T, kOp><<<grid_for(c.numel), kThreadsPerBlock, 0, stream>>>(
        c, static_cast<const C*>(acc_in), static_cast<C*>(acc_out), static_cast<T*>(y),
        static_cast<C>(mean_count));
    return cudaGetLastError();
  }
}

// ---- Where --------------------------------------------------------------------------------

// cond, x, y: broadcast to l.out; out: [l.numel]
template <typename E>
__global__ void where_kernel(const bool* cond, const E* x, const E* y, E* out,
                             const __grid_constant__ BroadcastLayout<3> l) {
  static_assert(std::is_unsigned_v<E>, "moves raw elements");
  for (int64_t i = first_index(); i < l.numel; i += grid_stride()) {
    int64_t off[3] = {i, i, i};
    if (!l.flat) broadcast_offsets<3>(i, l.out, l.in, 3, off);
    out[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
  }
}

template <typename E>
cudaError_t run_where(const bool* cond, const void* x, const void* y, void* out,
                      const BroadcastLayout<3>& l, cudaStream_t stream) {
  where_kernel<E><<<grid_for(l.numel), kThreadsPerBlock, 0, stream>>>(
      cond, static_cast<const E*>(x), static_cast<const E*>(y), static_cast<E*>(out), l);
  return cudaGetLastError();
}

// ---- Clip ---------------------------------------------------------------------------------

// x, y: [n]
template <typename T>
__global__ void clip_kernel(const T* x, T* y, int64_t n, ClipBounds b) {
  static_assert(kIsNumeric<T>, "numeric types only");
  using C = compute_t<T>;
  C lo = std::numeric_limits<C>::lowest(), hi = std::numeric_limits<C>::max();
  if (b.lo) {
    lo = load(*static_cast<const T*>(b.lo));
  } else if (b.has_lo_attr) {
    lo = static_cast<C>(b.lo_attr);
  }
  if (b.hi) {
    hi = load(*static_cast<const T*>(b.hi));
  } else if (b.has_hi_attr) {
    hi = static_cast<C>(b.hi_attr);
  }
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    // Written so NaN inputs stay NaN; with lo > hi every value becomes hi (spec).
    C v = load(x[i]);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    y[i] = store<T>(v);
  }
}

// ---- Cast ---------------------------------------------------------------------------------

/// Tensor::cast's cast_one: bool is "!= 0" (NaN is true); float16/bfloat16 targets go through
/// float; float -> integer truncates, NaN/Inf give 0 and values outside int64 give INT64_MIN
/// before narrowing (x86's conversion result, which the CPU reference inherits); everything
/// else is a C++ conversion (integers wrap).
template <typename To, typename From>
__device__ __forceinline__ To cast_one(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<double>(load(v)) != 0.0;
  } else if constexpr (kIsHalf<To>) {
    return store<To>(static_cast<float>(load(v)));
  } else if constexpr (kIsInt<To> && !std::is_integral_v<From>) {
    const double d = static_cast<double>(load(v));
    if (!isfinite(d)) return To{0};
    const int64_t w = (d >= 9.2233720368547758e18 || d < -9.2233720368547758e18)
                          ? std::numeric_limits<int64_t>::min()
                          : static_cast<int64_t>(d);
    return static_cast<To>(w);
  } else {
    return static_cast<To>(load(v));
  }
}

// x, y: [n]
template <typename From, typename To>
__global__ void cast_kernel(const From* x, To* y, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = cast_one<To, From>(x[i]);
}

// y: [n]
template <typename T>
__global__ void fill_one_kernel(T* y, int64_t n) {
  const T one = store<T>(static_cast<compute_t<T>>(1));
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = one;
}

}  // namespace

cudaError_t launch_variadic(VariadicOp op, DType dtype, const VariadicChunk& chunk,
                            const void* acc_in, void* acc_out, void* y, double mean_count,
                            cudaStream_t stream) {
  if (chunk.numel <= 0) return cudaSuccess;
  if (chunk.count < 1 || chunk.count > kMaxVariadicInputs) return cudaErrorInvalidValue;
  return dispatch(dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    switch (op) {
      case VariadicOp::kSum:
        return run_variadic<T, VariadicOp::kSum>(chunk, acc_in, acc_out, y, mean_count, stream);
      case VariadicOp::kMean:
        return run_variadic<T, VariadicOp::kMean>(chunk, acc_in, acc_out, y, mean_count, stream);
      case VariadicOp::kMax:
        return run_variadic<T, VariadicOp::kMax>(chunk, acc_in, acc_out, y, mean_count, stream);
      case VariadicOp::kMin:
        return run_variadic<T, VariadicOp::kMin>(chunk, acc_in, acc_out, y, mean_count, stream);
    }
    return cudaErrorInvalidValue;
  });
}

cudaError_t launch_where(size_t elem_bytes, const bool* cond, const void* x, const void* y,
                         void* out, const BroadcastLayout<3>& l, cudaStream_t stream) {
  if (l.numel <= 0) return cudaSuccess;
  switch (elem_bytes) {
    case 1:
      return run_where<uint8_t>(cond, x, y, out, l, stream);
    case 2:
      return run_where<uint16_t>(cond, x, y, out, l, stream);
    case 4:
      return run_where<uint32_t>(cond, x, y, out, l, stream);
    case 8:
      return run_where<uint64_t>(cond, x, y, out, l, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t launch_clip(DType dtype, const void* x, void* y, int64_t n, const ClipBounds& b,
                        cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  return dispatch(dtype, [&](auto tag) -> cudaError_t {
    using T = typename decltype(tag)::type;
    if constexpr (!kIsNumeric<T>) {
      return cudaErrorInvalidValue;
    } else {
      clip_kernel<T><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(static_cast<const T*>(x),
                                                                   static_cast<T*>(y), n, b);
      return cudaGetLastError();
    }
  });
}

cudaError_t launch_cast(DType from, DType to, const void* x, void* y, int64_t n,
                        cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  return dispatch(from, [&](auto from_tag) {
    using From = typename decltype(from_tag)::type;
    return dispatch(to, [&](auto to_tag) {
      using To = typename decltype(to_tag)::type;
      cast_kernel<From, To><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(
          static_cast<const From*>(x), static_cast<To*>(y), n);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_fill_one(DType dtype, void* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  return dispatch(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_one_kernel<T><<<grid_for(n), kThreadsPerBlock, 0, stream>>>(static_cast<T*>(y), n);
    return cudaGetLastError();
  });
}

}  // namespace tarmac::cuda::ew
