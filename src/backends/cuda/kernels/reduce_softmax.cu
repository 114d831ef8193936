// Softmax/LogSoftmax and CumSum kernels. Softmax follows the CPU reference: the slice max
// (NaN sticks) is subtracted before exponentiating; exponentials are summed in float (double
// for float64); softmax multiplies by 1/sum, log-softmax subtracts log(sum).
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/kernels/reduce_common.cuh"
#include "backends/cuda/kernels/reduce_softmax.cuh"

namespace tarmac::cuda {
namespace reduce_detail {
namespace {

constexpr int kSoftmaxBlock = 512;
constexpr int kWarpRowsPerBlock = 8;

template <typename C>
__device__ __forceinline__ C max_nan(C a, C b) {
  return (b > a || is_nan(b)) ? b : a;
}

template <typename C>
__device__ __forceinline__ C warp_max(C v) {
  for (int s = 16; s > 0; s /= 2) v = max_nan(v, __shfl_xor_sync(0xffffffffu, v, s));
  return v;
}

template <typename C>
__device__ __forceinline__ C warp_sum(C v) {
  for (int s = 16; s > 0; s /= 2) v += __shfl_xor_sync(0xffffffffu, v, s);
  return v;
}

/// Block-wide reduction of one value per thread; every thread gets the result.
template <bool kMax, typename C>
__device__ C block_reduce(C v, C* sm) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = kMax ? warp_max(v) : warp_sum(v);
  __syncthreads();  // sm may still be read by a previous reduction
  if (lane == 0) sm[warp] = v;
  __syncthreads();
  C r = sm[0];
  for (int w = 1; w < warps; ++w) r = kMax ? max_nan(r, sm[w]) : r + sm[w];
  return r;
}

template <typename C>
__device__ __forceinline__ C exp_c(C v) {
  if constexpr (std::is_same_v<C, double>) {
    return exp(v);
  } else {
    return expf(v);
  }
}
template <typename C>
__device__ __forceinline__ C log_c(C v) {
  if constexpr (std::is_same_v<C, double>) {
    return log(v);
  } else {
    return logf(v);
  }
}

/// inner == 1. kWarp: one warp per row (8 rows per block); else one block per row.
/// x, y: [rows, n]
template <typename T, bool kLog, bool kWarp>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n) {
  using C = compute_t<T>;
  __shared__ C sm[32];
  const int64_t row =
      kWarp ? static_cast<int64_t>(blockIdx.x) * kWarpRowsPerBlock + (threadIdx.x >> 5)
            : static_cast<int64_t>(blockIdx.x);
  if (row >= rows) return;  // whole warps leave together (kWarp), never in block mode
  const int t = kWarp ? (threadIdx.x & 31) : threadIdx.x;
  const int step = kWarp ? 32 : blockDim.x;
  const T* xr = x + row * n;
  T* yr = y + row * n;
  C mx = -std::numeric_limits<C>::infinity();
  for (int64_t j = t; j < n; j += step) mx = max_nan(mx, load(xr[j]));
  mx = kWarp ? warp_max(mx) : block_reduce<true>(mx, sm);
  C sum = 0;
  for (int64_t j = t; j < n; j += step) sum += exp_c(load(xr[j]) - mx);
  sum = kWarp ? warp_sum(sum) : block_reduce<false>(sum, sm);
  if constexpr (kLog) {
    const C lse = log_c(sum);
    for (int64_t j = t; j < n; j += step) yr[j] = store<T>((load(xr[j]) - mx) - lse);
  } else {
    const C inv = C{1} / sum;
    for (int64_t j = t; j < n; j += step) yr[j] = store<T>(exp_c(load(xr[j]) - mx) * inv);
  }
}

/// inner > 1: one thread per (outer, inner) column, adjacent threads on adjacent columns.
/// x, y: [outer, n, inner]
template <typename T, bool kLog>
__global__ void softmax_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer,
                                int64_t n, int64_t inner) {
  using C = compute_t<T>;
  const int64_t total = outer * inner;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = q / inner, i = q % inner;
    const T* xc = x + o * n * inner + i;
    T* yc = y + o * n * inner + i;
    C mx = -std::numeric_limits<C>::infinity();
    for (int64_t j = 0; j < n; ++j) mx = max_nan(mx, load(xc[j * inner]));
    C sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += exp_c(load(xc[j * inner]) - mx);
    if constexpr (kLog) {
      const C lse = log_c(sum);
      for (int64_t j = 0; j < n; ++j) yc[j * inner] = store<T>((load(xc[j * inner]) - mx) - lse);
    } else {
      const C inv = C{1} / sum;
      for (int64_t j = 0; j < n; ++j)
        yc[j * inner] = store<T>(exp_c(load(xc[j * inner]) - mx) * inv);
    }
  }
}

template <typename T, bool kLog>
cudaError_t run_softmax(int64_t outer, int64_t n, int64_t inner, const void* xv, void* yv,
                        cudaStream_t stream) {
  static_assert(kIsFloat<T>, "Softmax is defined on float types only");
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  if (inner == 1) {
    if (n <= kSoftmaxWarpRow) {
      const int64_t blocks = (outer + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock;
      softmax_rows<T, kLog, true>
          <<<static_cast<unsigned int>(blocks), kWarpRowsPerBlock * 32, 0, stream>>>(x, y, outer,
                                                                                     n);
    } else {
      softmax_rows<T, kLog, false>
          <<<static_cast<unsigned int>(outer), kSoftmaxBlock, 0, stream>>>(x, y, outer, n);
    }
  } else {
    const int64_t total = outer * inner;
    const int64_t blocks = min64((total + 255) / 256, int64_t{1} << 20);
    softmax_columns<T, kLog>
        <<<static_cast<unsigned int>(blocks), 256, 0, stream>>>(x, y, outer, n, inner);
  }
  return cudaGetLastError();
}

// ---- CumSum ----------------------------------------------------------------------------------

/// Scan accumulator: float for the float types, double for float64, uint64 (wrapping) for ints.
template <typename T>
using scan_t = std::conditional_t<std::is_same_v<T, double>, double,
                                  std::conditional_t<kIsFloat<T>, float, uint64_t>>;

template <typename T, typename A>
__device__ __forceinline__ A scan_load(const T* p, int64_t i) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<int64_t>(p[i]));
  } else {
    return static_cast<A>(load(p[i]));
  }
}

template <typename T, typename A>
__device__ __forceinline__ T scan_store(A v) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<T>(static_cast<int64_t>(v));
  } else {
    return store<T>(v);
  }
}

/// One thread scans one (outer, inner) column sequentially.  x, y: [outer, n, inner]
template <typename T>
__global__ void cumsum_columns(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                               int64_t inner, bool exclusive, bool reverse) {
  using A = scan_t<T>;
  const int64_t total = outer * inner;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < total;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t o = q / inner, i = q % inner;
    const int64_t base = o * n * inner + i;
    A acc = 0;
    for (int64_t s = 0; s < n; ++s) {
      const int64_t off = base + (reverse ? n - 1 - s : s) * inner;
      const A cur = scan_load<T, A>(x, off);
      if (exclusive) {
        y[off] = scan_store<T>(acc);
        acc += cur;
      } else {
        acc += cur;
        y[off] = scan_store<T>(acc);
      }
    }
  }
}

constexpr int kScanThreads = 256;
constexpr int kScanItems = 4;

/// inner == 1, long rows: one block per row walks tiles of kScanThreads * kScanItems
/// elements; each thread scans its kScanItems, the block scans the thread totals, and a
/// carry crosses tiles.  x, y: [rows, n]
template <typename T>
__global__ void __launch_bounds__(kScanThreads)
    cumsum_rows(const T* __restrict__ x, T* __restrict__ y, int64_t n, bool exclusive,
                bool reverse) {
  using A = scan_t<T>;
  __shared__ A warp_tot[kScanThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const T* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  T* yr = y + static_cast<int64_t>(blockIdx.x) * n;
  A carry = 0;
  for (int64_t t0 = 0; t0 < n; t0 += kScanThreads * kScanItems) {
    A v[kScanItems];
    A local = 0;
    const int64_t s0 = t0 + static_cast<int64_t>(threadIdx.x) * kScanItems;
#pragma unroll
    for (int k = 0; k < kScanItems; ++k) {
      const int64_t s = s0 + k;
      v[k] = s < n ? scan_load<T, A>(xr, reverse ? n - 1 - s : s) : A{0};
      local += v[k];
    }
    // Inclusive warp scan of the thread totals, then across warps.
    A incl = local;
    for (int d = 1; d < 32; d *= 2) {
      const A o = __shfl_up_sync(0xffffffffu, incl, d);
      if (lane >= d) incl += o;
    }
    if (lane == 31) warp_tot[warp] = incl;
    __syncthreads();
    A warp_prefix = 0, tile_total = 0;
    for (int w = 0; w < kScanThreads / 32; ++w) {
      if (w < warp) warp_prefix += warp_tot[w];
      tile_total += warp_tot[w];
    }
    __syncthreads();  // warp_tot is rewritten by the next tile
    A run = carry + warp_prefix + (incl - local);
#pragma unroll
    for (int k = 0; k < kScanItems; ++k) {
      const int64_t s = s0 + k;
      if (s >= n) break;
      const int64_t j = reverse ? n - 1 - s : s;
      if (exclusive) {
        yr[j] = scan_store<T>(run);
        run += v[k];
      } else {
        run += v[k];
        yr[j] = scan_store<T>(run);
      }
    }
    carry += tile_total;
  }
}

template <typename T>
cudaError_t run_cumsum(bool exclusive, bool reverse, int64_t outer, int64_t n, int64_t inner,
                       const void* xv, void* yv, cudaStream_t stream) {
  const T* x = static_cast<const T*>(xv);
  T* y = static_cast<T*>(yv);
  if (inner == 1 && n > 256) {
    cumsum_rows<T><<<static_cast<unsigned int>(outer), kScanThreads, 0, stream>>>(
        x, y, n, exclusive, reverse);
  } else {
    const int64_t total = outer * inner;
    const int64_t blocks = min64((total + 255) / 256, int64_t{1} << 20);
    cumsum_columns<T><<<static_cast<unsigned int>(blocks), 256, 0, stream>>>(x, y, outer, n, inner,
                                                                             exclusive, reverse);
  }
  return cudaGetLastError();
}

}  // namespace
}  // namespace reduce_detail

cudaError_t launch_softmax(DType dtype, bool log, int64_t outer, int64_t n, int64_t inner,
                           const void* x, void* y, cudaStream_t stream) {
  using namespace reduce_detail;
  if (outer * n * inner == 0) return cudaSuccess;
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) {
      err = log ? run_softmax<T, true>(outer, n, inner, x, y, stream)
                : run_softmax<T, false>(outer, n, inner, x, y, stream);
    }
  });
  return err;
}

cudaError_t launch_cumsum(DType dtype, bool exclusive, bool reverse, int64_t outer, int64_t n,
                          int64_t inner, const void* x, void* y, cudaStream_t stream) {
  using namespace reduce_detail;
  if (outer * n * inner == 0) return cudaSuccess;
  cudaError_t err = cudaErrorInvalidValue;
  dispatch_type(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      err = run_cumsum<T>(exclusive, reverse, outer, n, inner, x, y, stream);
    }
  });
  return err;
}

}  // namespace tarmac::cuda
