// The generic reduction kernels behind launch_reduce, templated on an Op:
//   using Acc;  using Out;
//   static Acc identity();                      // the empty reduction
//   static Acc make(const T* x, int64_t off, int64_t r);  // element r (at x[off])
//   static Acc combine(Acc a, Acc b);           // associative; Acc carries what ties need
//   static Out finish(Acc a, int64_t count);
// Included only by the reduce*.cu files.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "backends/cuda/kernels/reduce_common.cuh"
#include "backends/cuda/kernels/reduce_kernels.cuh"

namespace tarmac::cuda::reduce_detail {

inline constexpr int kReduceThreads = 256;
inline constexpr int kWarpsPerBlock = kReduceThreads / 32;

__device__ __forceinline__ int64_t kept_offset(const ReduceGeom& g, int64_t row) {
  int64_t off = 0;
  for (int k = g.nkept - 1; k >= 0; --k) {
    off += (row % g.kept_size[k]) * g.kept_stride[k];
    row /= g.kept_size[k];
  }
  return off;
}

__device__ __forceinline__ int64_t red_offset(const ReduceGeom& g, int64_t r) {
  if (g.nred == 1) return r * g.red_stride[0];
  int64_t off = 0;
  for (int k = g.nred - 1; k >= 0; --k) {
    off += (r % g.red_size[k]) * g.red_stride[k];
    r /= g.red_size[k];
  }
  return off;
}

/// Combines n accumulators in shared memory (n a power of two); the result lands in sm[0].
/// Lower slots hold lower reduction indices, so combine(lower, higher) keeps the order.
template <typename Op>
__device__ void smem_tree(typename Op::Acc* sm, int t, int n, int stride) {
  for (int s = n / 2; s > 0; s /= 2) {
    __syncthreads();
    if (t < s) sm[t * stride] = Op::combine(sm[t * stride], sm[(t + s) * stride]);
  }
  __syncthreads();
}

/// Stores an output, or its partial accumulator when the reduction is split.
template <typename Op>
__device__ __forceinline__ void emit(typename Op::Acc a, int64_t out, int64_t split,
                                     const ReducePlan& p, typename Op::Out* y,
                                     typename Op::Acc* ws) {
  if (p.splits == 1) {
    y[out] = Op::finish(a, p.g.count);
  } else {
    ws[out * p.splits + split] = a;
  }
}

/// inner == 1, one warp per output: rows are short.  x: [..] strided by geom, y: [rows]
template <typename Op, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_rows_warp(const T* __restrict__ x, typename Op::Out* __restrict__ y,
                     typename Op::Acc* __restrict__ ws, ReducePlan p) {
  using Acc = typename Op::Acc;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + warp;
  const int64_t split = blockIdx.y;
  __shared__ Acc sm[kReduceThreads];
  Acc a = Op::identity();
  const bool active = row < p.g.rows;
  if (active) {
    const int64_t base = kept_offset(p.g, row);
    const int64_t r0 = split * p.chunk;
    const int64_t r1 = min64(p.g.count, r0 + p.chunk);
    for (int64_t r = r0 + lane; r < r1; r += 32)
      a = Op::combine(a, Op::make(x, base + red_offset(p.g, r), r));
  }
  sm[threadIdx.x] = a;
  __syncwarp();
  for (int s = 16; s > 0; s /= 2) {
    if (lane < s) sm[threadIdx.x] = Op::combine(sm[threadIdx.x], sm[threadIdx.x + s]);
    __syncwarp();
  }
  if (active && lane == 0) emit<Op>(sm[threadIdx.x], row, split, p, y, ws);
}

/// inner == 1, one block per output (and split): rows are long.
template <typename Op, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_rows_block(const T* __restrict__ x, typename Op::Out* __restrict__ y,
                      typename Op::Acc* __restrict__ ws, ReducePlan p) {
  using Acc = typename Op::Acc;
  const int64_t row = blockIdx.x;
  const int64_t split = blockIdx.y;
  __shared__ Acc sm[kReduceThreads];
  const int64_t base = kept_offset(p.g, row);
  const int64_t r0 = split * p.chunk;
  const int64_t r1 = min64(p.g.count, r0 + p.chunk);
  Acc a = Op::identity();
  if (p.g.nred == 1 && p.g.red_stride[0] == 1) {
    for (int64_t r = r0 + threadIdx.x; r < r1; r += kReduceThreads)
      a = Op::combine(a, Op::make(x, base + r, r));
  } else {
    for (int64_t r = r0 + threadIdx.x; r < r1; r += kReduceThreads)
      a = Op::combine(a, Op::make(x, base + red_offset(p.g, r), r));
  }
  sm[threadIdx.x] = a;
  smem_tree<Op>(sm, threadIdx.x, kReduceThreads, 1);
  if (threadIdx.x == 0) emit<Op>(sm[0], row, split, p, y, ws);
}

/// inner > 1: block (col_x, 256 / col_x); x-threads take adjacent inner columns (coalesced),
/// y-threads split the reduction. Grid x = rows * column tiles, grid y = splits.
template <typename Op, typename T>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_columns(const T* __restrict__ x, typename Op::Out* __restrict__ y,
                   typename Op::Acc* __restrict__ ws, ReducePlan p) {
  using Acc = typename Op::Acc;
  const int bx = blockDim.x, by = blockDim.y;
  const int64_t tiles = (p.g.inner + bx - 1) / bx;
  const int64_t row = blockIdx.x / tiles;
  const int64_t i = (blockIdx.x % tiles) * bx + threadIdx.x;
  const int64_t split = blockIdx.y;
  __shared__ Acc sm[kReduceThreads];
  Acc a = Op::identity();
  const bool active = i < p.g.inner;
  if (active) {
    const int64_t base = kept_offset(p.g, row) * p.g.inner + i;
    const int64_t r0 = split * p.chunk;
    const int64_t r1 = min64(p.g.count, r0 + p.chunk);
    for (int64_t r = r0 + threadIdx.y; r < r1; r += by)
      a = Op::combine(a, Op::make(x, base + red_offset(p.g, r) * p.g.inner, r));
  }
  const int t = threadIdx.y * bx + threadIdx.x;
  sm[t] = a;
  // Tree over y for each column: slot (ty, tx) combines with (ty + s, tx).
  for (int s = by / 2; s > 0; s /= 2) {
    __syncthreads();
    if (threadIdx.y < s) sm[t] = Op::combine(sm[t], sm[t + s * bx]);
  }
  if (active && threadIdx.y == 0) emit<Op>(sm[t], row * p.g.inner + i, split, p, y, ws);
}

/// Combines the partial accumulators of each output in split order.  ws: [outputs, splits]
template <typename Op>
__global__ void reduce_finalize(const typename Op::Acc* __restrict__ ws,
                                typename Op::Out* __restrict__ y, int64_t outputs, int64_t splits,
                                int64_t count) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < outputs;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    typename Op::Acc a = ws[o * splits];
    for (int64_t s = 1; s < splits; ++s) a = Op::combine(a, ws[o * splits + s]);
    y[o] = Op::finish(a, count);
  }
}

/// count == 0: every output is the reduction of nothing.
template <typename Op>
__global__ void reduce_fill_empty(typename Op::Out* __restrict__ y, int64_t outputs) {
  for (int64_t o = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; o < outputs;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[o] = Op::finish(Op::identity(), 0);
}

/// ArgMax/ArgMin half of launch_reduce (reduce_arg.cu).
cudaError_t launch_arg_reduce(ReduceKind kind, DType dtype, const ReducePlan& p, const void* x,
                              void* y, void* workspace, cudaStream_t stream);
size_t arg_workspace_bytes(DType dtype, const ReducePlan& p);

inline unsigned int grid_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(b < 1 ? 1 : (b > 65535 * 16 ? 65535 * 16 : b));
}

template <typename Op, typename T>
cudaError_t run_reduce(const ReducePlan& p, const void* xv, void* yv, void* wsv,
                       cudaStream_t stream) {
  using Out = typename Op::Out;
  using Acc = typename Op::Acc;
  static_assert(std::is_trivially_copyable_v<Acc>, "partials are copied through memory");
  const T* x = static_cast<const T*>(xv);
  Out* y = static_cast<Out*>(yv);
  Acc* ws = static_cast<Acc*>(wsv);
  const int64_t outputs = p.g.rows * p.g.inner;
  if (outputs == 0) return cudaSuccess;
  if (p.g.count == 0) {
    reduce_fill_empty<Op>
        <<<grid_for(outputs, kReduceThreads), kReduceThreads, 0, stream>>>(y, outputs);
    return cudaGetLastError();
  }
  const unsigned int splits = static_cast<unsigned int>(p.splits);
  if (p.g.inner == 1) {
    if (p.warp_per_row) {
      const dim3 grid(static_cast<unsigned int>((p.g.rows + kWarpsPerBlock - 1) / kWarpsPerBlock),
                      splits);
      reduce_rows_warp<Op, T><<<grid, kReduceThreads, 0, stream>>>(x, y, ws, p);
    } else {
      reduce_rows_block<Op, T>
          <<<dim3(static_cast<unsigned int>(p.g.rows), splits), kReduceThreads, 0, stream>>>(x, y,
                                                                                             ws, p);
    }
  } else {
    const int64_t tiles = (p.g.inner + p.col_x - 1) / p.col_x;
    const dim3 block(static_cast<unsigned int>(p.col_x),
                     static_cast<unsigned int>(kReduceThreads / p.col_x));
    reduce_columns<Op, T>
        <<<dim3(static_cast<unsigned int>(p.g.rows * tiles), splits), block, 0, stream>>>(x, y, ws,
                                                                                          p);
  }
  if (p.splits > 1) {
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    reduce_finalize<Op><<<grid_for(outputs, kReduceThreads), kReduceThreads, 0, stream>>>(
        ws, y, outputs, p.splits, p.g.count);
  }
  return cudaGetLastError();
}

}  // namespace tarmac::cuda::reduce_detail
