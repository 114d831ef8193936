// Indexing kernels of the tensor family: Gather, GatherElements, GatherND (opaque words) and
// ScatterElements, ScatterND (typed when reducing, through atomics).
#include <cstring>
#include <type_traits>

#include "backends/cuda/kernels/common.cuh"
#include "backends/cuda/kernels/tensor_copy.cuh"
#include "backends/cuda/kernels/tensor_device.cuh"
#include "backends/cuda/kernels/tensor_index.cuh"

namespace tarmac::cuda {

namespace {

using tensor_dev::grid_for;
using tensor_dev::kThreads;
using tensor_dev::word_t;
using tensor_dev::wrap_index;

/// The CUDA type of a tarmac dtype, handed to `f` as a value; unknown dtypes get float.
template <typename F>
cudaError_t dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat64:
      return f(double{});
    case DType::kFloat16:
      return f(__half{});
    case DType::kBFloat16:
      return f(__nv_bfloat16{});
    case DType::kInt8:
      return f(int8_t{});
    case DType::kUint8:
      return f(uint8_t{});
    case DType::kInt32:
      return f(int32_t{});
    case DType::kInt64:
      return f(int64_t{});
    case DType::kBool:
      return f(bool{});
    default:
      return cudaErrorInvalidValue;
  }
}

/// Calls f(word_t<unit>{}) for a unit of 1, 2, 4, 8 or 16 bytes.
template <typename F>
cudaError_t dispatch_unit(int unit, F&& f) {
  switch (unit) {
    case 1:
      return f(word_t<1>{});
    case 2:
      return f(word_t<2>{});
    case 4:
      return f(word_t<4>{});
    case 8:
      return f(word_t<8>{});
    case 16:
      return f(word_t<16>{});
    default:
      return cudaErrorInvalidValue;
  }
}

/// Element offset of index tuple t in the data; false when an index is out of range.
template <typename Idx>
__device__ __forceinline__ bool nd_offset(const Idx* __restrict__ idx, int64_t t,
                                          const NdIndexing& nd, int64_t* off) {
  const int k = nd.dims.rank;
  int64_t o = (t / nd.per_batch) * nd.batch_stride;
#pragma unroll
  for (int m = 0; m < kMaxRank; ++m) {
    if (m < k) {
      int64_t v = 0;
      if (!wrap_index(static_cast<int64_t>(idx[t * k + m]), nd.dims.d[m], &v)) return false;
      o += v * nd.strides.d[m];
    }
  }
  *off = o;
  return true;
}

/// Element offset of GatherElements/ScatterElements position i (dense over [dims]).
template <typename Idx>
__device__ __forceinline__ bool elements_offset(const Idx* __restrict__ idx, int64_t i,
                                                const Shape8& dims, const Shape8& strides, int axis,
                                                int64_t axis_len, int64_t* off) {
  int64_t rem = i, o = 0;
#pragma unroll
  for (int k = kMaxRank - 1; k >= 0; --k) {
    if (k < dims.rank) {
      const int64_t d = dims.d[k];
      int64_t c = rem % d;
      rem /= d;
      if (k == axis && !wrap_index(static_cast<int64_t>(idx[i]), axis_len, &c)) return false;
      o += c * strides.d[k];
    }
  }
  *off = o;
  return true;
}

// ---- gathers ----

template <typename U, typename Idx>
__global__ void gather_kernel(const U* __restrict__ data,   // [outer, axis_len, inner]
                              const Idx* __restrict__ idx,  // [count]
                              U* __restrict__ out,          // [outer, count, inner]
                              int64_t axis_len, int64_t count, int64_t inner, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t rest = i / inner, u = i - rest * inner;
    const int64_t o = rest / count, j = rest - o * count;
    int64_t v = 0;
    out[i] = wrap_index(static_cast<int64_t>(idx[j]), axis_len, &v)
                 ? data[(o * axis_len + v) * inner + u]
                 : U{};
  }
}

template <typename U, typename Idx>
__global__ void gather_elements_kernel(const U* __restrict__ data,   // strided by data_strides
                                       const Idx* __restrict__ idx,  // [dims]
                                       U* __restrict__ out,          // [dims]
                                       Shape8 dims, Shape8 data_strides, int axis, int64_t axis_len,
                                       int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off = 0;
    out[i] = elements_offset(idx, i, dims, data_strides, axis, axis_len, &off) ? data[off] : U{};
  }
}

template <typename U, typename Idx>
__global__ void gather_nd_kernel(const U* __restrict__ data,   // data, in units
                                 const Idx* __restrict__ idx,  // [tuples, k]
                                 U* __restrict__ out,          // [tuples, slice_units]
                                 NdIndexing nd, int64_t slice, int64_t slice_units, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / slice_units, j = i - t * slice_units;
    int64_t off = 0;
    // Tuple offsets are multiples of the slice, so they convert to whole units.
    out[i] = nd_offset(idx, t, nd, &off) ? data[off / slice * slice_units + j] : U{};
  }
}

// ---- scatter: last-writer-wins for reduction none ----

/// winners[slot(t)] = max over the tuples t aiming at the slot of t + 1.
template <typename Idx>
__global__ void scatter_nd_mark_kernel(const Idx* __restrict__ idx, NdIndexing nd, int64_t slice,
                                       uint32_t* __restrict__ winners) {
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < nd.tuples;
       t += int64_t{gridDim.x} * blockDim.x) {
    int64_t off = 0;
    if (nd_offset(idx, t, nd, &off)) atomicMax(winners + off / slice, static_cast<uint32_t>(t + 1));
  }
}

template <typename U, typename Idx>
__global__ void scatter_nd_write_kernel(U* __restrict__ out,  // data, in units
                                        const Idx* __restrict__ idx,
                                        const U* __restrict__ upd,  // [tuples, slice_units]
                                        NdIndexing nd, int64_t slice, int64_t slice_units,
                                        const uint32_t* __restrict__ winners, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / slice_units, j = i - t * slice_units;
    int64_t off = 0;
    if (!nd_offset(idx, t, nd, &off)) continue;
    const int64_t slot = off / slice;
    if (winners[slot] == static_cast<uint32_t>(t + 1)) out[slot * slice_units + j] = upd[i];
  }
}

template <typename Idx>
__global__ void scatter_elements_mark_kernel(const Idx* __restrict__ idx, Shape8 dims,
                                             Shape8 strides, int axis, int64_t axis_len,
                                             uint32_t* __restrict__ winners, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off = 0;
    if (elements_offset(idx, i, dims, strides, axis, axis_len, &off))
      atomicMax(winners + off, static_cast<uint32_t>(i + 1));
  }
}

template <typename U, typename Idx>
__global__ void scatter_elements_write_kernel(U* __restrict__ out, const Idx* __restrict__ idx,
                                              const U* __restrict__ upd,  // [dims]
                                              Shape8 dims, Shape8 strides, int axis,
                                              int64_t axis_len,
                                              const uint32_t* __restrict__ winners, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off = 0;
    if (elements_offset(idx, i, dims, strides, axis, axis_len, &off) &&
        winners[off] == static_cast<uint32_t>(i + 1)) {
      out[off] = upd[i];
    }
  }
}

// ---- scatter reductions ----

/// The CPU reference's reduce_into formula for one element (src/backends/cpu/tensor_index.cc);
/// integer arithmetic wraps.
template <typename T>
__device__ __forceinline__ T reduce_value(T dst, T src, ScatterOp op) {
  using C = compute_t<T>;
  const C a = load(dst), b = load(src);
  switch (op) {
    case ScatterOp::kAdd:
      if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        using W = std::make_unsigned_t<C>;
        return static_cast<T>(static_cast<W>(static_cast<W>(a) + static_cast<W>(b)));
      } else {
        return store<T>(static_cast<C>(a + b));
      }
    case ScatterOp::kMul:
      if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
        using W = std::make_unsigned_t<C>;
        return static_cast<T>(static_cast<W>(static_cast<W>(a) * static_cast<W>(b)));
      } else {
        return store<T>(static_cast<C>(a * b));
      }
    case ScatterOp::kMax:
      return store<T>(a < b ? b : a);
    case ScatterOp::kMin:
      return store<T>(b < a ? b : a);
    case ScatterOp::kNone:
      break;
  }
  return src;
}

template <typename W, typename T>
__device__ __forceinline__ W bits_of(T v) {
  static_assert(sizeof(W) == sizeof(T), "bit cast between equal sizes");
  W w;
  memcpy(&w, &v, sizeof(T));
  return w;
}
template <typename T, typename W>
__device__ __forceinline__ T from_bits(W w) {
  static_assert(sizeof(W) == sizeof(T), "bit cast between equal sizes");
  T v;
  memcpy(&v, &w, sizeof(T));
  return v;
}

/// *addr = reduce_value(*addr, v, op) atomically: native atomics where they compute the same
/// value, else a compare-and-swap loop on the (aligned 4- or 8-byte) word holding *addr.
template <typename T>
__device__ void atomic_reduce(T* addr, T v, ScatterOp op) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                std::is_same_v<T, int32_t>) {
    if (op == ScatterOp::kAdd) {
      atomicAdd(addr, v);
      return;
    }
  }
  if constexpr (std::is_same_v<T, int64_t>) {
    if (op == ScatterOp::kAdd) {
      atomicAdd(reinterpret_cast<unsigned long long*>(addr), static_cast<unsigned long long>(v));
      return;
    }
  }
  if constexpr (sizeof(T) == 8 || sizeof(T) == 4) {
    using W = std::conditional_t<sizeof(T) == 8, unsigned long long, unsigned int>;
    W* w = reinterpret_cast<W*>(addr);
    W old = *w, assumed;
    do {
      assumed = old;
      const W next = bits_of<W>(reduce_value(from_bits<T>(assumed), v, op));
      if (next == assumed) return;
      old = atomicCAS(w, assumed, next);
    } while (old != assumed);
  } else {
    static_assert(sizeof(T) == 1 || sizeof(T) == 2, "element sizes 1, 2, 4, 8");
    using B = std::conditional_t<sizeof(T) == 1, uint8_t, uint16_t>;
    const uintptr_t p = reinterpret_cast<uintptr_t>(addr);
    unsigned int* w = reinterpret_cast<unsigned int*>(p & ~uintptr_t{3});
    const unsigned int shift = static_cast<unsigned int>(p & 3) * 8;
    const unsigned int mask = static_cast<unsigned int>(B(~B{0})) << shift;
    unsigned int old = *w, assumed;
    do {
      assumed = old;
      const T cur = from_bits<T>(static_cast<B>((assumed & mask) >> shift));
      const B nb = bits_of<B>(reduce_value(cur, v, op));
      const unsigned int next = (assumed & ~mask) | (static_cast<unsigned int>(nb) << shift);
      if (next == assumed) return;
      old = atomicCAS(w, assumed, next);
    } while (old != assumed);
  }
}

template <typename T, typename Idx>
__global__ void scatter_nd_reduce_kernel(T* __restrict__ out, const Idx* __restrict__ idx,
                                         const T* __restrict__ upd,  // [tuples, slice]
                                         NdIndexing nd, int64_t slice, ScatterOp op, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t t = i / slice, j = i - t * slice;
    int64_t off = 0;
    if (nd_offset(idx, t, nd, &off)) atomic_reduce(out + off + j, upd[i], op);
  }
}

template <typename T, typename Idx>
__global__ void scatter_elements_reduce_kernel(T* __restrict__ out, const Idx* __restrict__ idx,
                                               const T* __restrict__ upd,  // [dims]
                                               Shape8 dims, Shape8 strides, int axis,
                                               int64_t axis_len, ScatterOp op, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    int64_t off = 0;
    if (elements_offset(idx, i, dims, strides, axis, axis_len, &off))
      atomic_reduce(out + off, upd[i], op);
  }
}

/// Calls f(int32_t{}) or f(int64_t{}) for the index type.
template <typename F>
cudaError_t dispatch_index(bool is_64, F&& f) {
  return is_64 ? f(int64_t{}) : f(int32_t{});
}

}  // namespace

cudaError_t launch_gather(const void* data, const void* indices, bool index_is_64, void* out,
                          int64_t outer, int64_t axis_len, int64_t count, int64_t inner_bytes,
                          cudaStream_t stream) {
  const int64_t total_bytes = outer * count * inner_bytes;
  if (total_bytes <= 0) return cudaSuccess;
  const int unit = widest_unit({inner_bytes}, {data, out});
  return dispatch_index(index_is_64, [&](auto itag) {
    using Idx = decltype(itag);
    return dispatch_unit(unit, [&](auto utag) {
      using U = decltype(utag);
      const int64_t n = total_bytes / unit;
      gather_kernel<U, Idx><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<const U*>(data), static_cast<const Idx*>(indices), static_cast<U*>(out),
          axis_len, count, inner_bytes / unit, n);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_gather_elements(const void* data, const void* indices, bool index_is_64,
                                   void* out, int elem, const Shape8& dims,
                                   const Shape8& data_strides, int axis, int64_t axis_len,
                                   cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < dims.rank; ++k) n *= dims.d[k];
  if (n <= 0) return cudaSuccess;
  if (elem > 8) return cudaErrorInvalidValue;
  return dispatch_index(index_is_64, [&](auto itag) {
    using Idx = decltype(itag);
    return dispatch_unit(elem, [&](auto utag) {
      using U = decltype(utag);
      gather_elements_kernel<U, Idx><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<const U*>(data), static_cast<const Idx*>(indices), static_cast<U*>(out), dims,
          data_strides, axis, axis_len, n);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_gather_nd(const void* data, const void* indices, bool index_is_64, void* out,
                             int elem, const NdIndexing& nd, int64_t slice, cudaStream_t stream) {
  const int64_t slice_bytes = slice * elem;
  if (nd.tuples <= 0 || slice_bytes <= 0) return cudaSuccess;
  const int unit = widest_unit({slice_bytes}, {data, out});
  const int64_t slice_units = slice_bytes / unit, n = nd.tuples * slice_units;
  return dispatch_index(index_is_64, [&](auto itag) {
    using Idx = decltype(itag);
    return dispatch_unit(unit, [&](auto utag) {
      using U = decltype(utag);
      gather_nd_kernel<U, Idx><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<const U*>(data), static_cast<const Idx*>(indices), static_cast<U*>(out), nd,
          slice, slice_units, n);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_scatter_nd(void* out, const void* indices, bool index_is_64, const void* updates,
                              DType dtype, const NdIndexing& nd, int64_t slice, ScatterOp op,
                              uint32_t* winners, int64_t slots, cudaStream_t stream) {
  const int elem = static_cast<int>(dtype_size(dtype));
  if (nd.tuples <= 0 || slice <= 0) return cudaSuccess;
  return dispatch_index(index_is_64, [&](auto itag) -> cudaError_t {
    using Idx = decltype(itag);
    const Idx* idx = static_cast<const Idx*>(indices);
    if (op != ScatterOp::kNone) {
      return dispatch_dtype(dtype, [&](auto ttag) {
        using T = decltype(ttag);
        const int64_t n = nd.tuples * slice;
        scatter_nd_reduce_kernel<T, Idx><<<grid_for(n), kThreads, 0, stream>>>(
            static_cast<T*>(out), idx, static_cast<const T*>(updates), nd, slice, op, n);
        return cudaGetLastError();
      });
    }
    if (const cudaError_t e = cudaMemsetAsync(winners, 0, static_cast<size_t>(slots) * 4, stream);
        e != cudaSuccess) {
      return e;
    }
    scatter_nd_mark_kernel<Idx>
        <<<grid_for(nd.tuples), kThreads, 0, stream>>>(idx, nd, slice, winners);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    const int64_t slice_bytes = slice * elem;
    const int unit = widest_unit({slice_bytes}, {out, updates});
    return dispatch_unit(unit, [&](auto utag) {
      using U = decltype(utag);
      const int64_t slice_units = slice_bytes / unit, n = nd.tuples * slice_units;
      scatter_nd_write_kernel<U, Idx><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<U*>(out), idx, static_cast<const U*>(updates), nd, slice, slice_units,
          winners, n);
      return cudaGetLastError();
    });
  });
}

cudaError_t launch_scatter_elements(void* out, const void* indices, bool index_is_64,
                                    const void* updates, DType dtype, const Shape8& dims,
                                    const Shape8& out_strides, int axis, int64_t axis_len,
                                    ScatterOp op, uint32_t* winners, int64_t slots,
                                    cudaStream_t stream) {
  int64_t n = 1;
  for (int k = 0; k < dims.rank; ++k) n *= dims.d[k];
  if (n <= 0) return cudaSuccess;
  const int elem = static_cast<int>(dtype_size(dtype));
  return dispatch_index(index_is_64, [&](auto itag) -> cudaError_t {
    using Idx = decltype(itag);
    const Idx* idx = static_cast<const Idx*>(indices);
    if (op != ScatterOp::kNone) {
      return dispatch_dtype(dtype, [&](auto ttag) {
        using T = decltype(ttag);
        scatter_elements_reduce_kernel<T, Idx><<<grid_for(n), kThreads, 0, stream>>>(
            static_cast<T*>(out), idx, static_cast<const T*>(updates), dims, out_strides, axis,
            axis_len, op, n);
        return cudaGetLastError();
      });
    }
    if (const cudaError_t e = cudaMemsetAsync(winners, 0, static_cast<size_t>(slots) * 4, stream);
        e != cudaSuccess) {
      return e;
    }
    scatter_elements_mark_kernel<Idx>
        <<<grid_for(n), kThreads, 0, stream>>>(idx, dims, out_strides, axis, axis_len, winners, n);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    return dispatch_unit(elem, [&](auto utag) {
      using U = decltype(utag);
      scatter_elements_write_kernel<U, Idx><<<grid_for(n), kThreads, 0, stream>>>(
          static_cast<U*>(out), idx, static_cast<const U*>(updates), dims, out_strides, axis,
          axis_len, winners, n);
      return cudaGetLastError();
    });
  });
}

}  // namespace tarmac::cuda
