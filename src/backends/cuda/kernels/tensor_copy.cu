// Data-movement kernels of the tensor family: strided gather, tiled transpose, pitched row
// copies and Pad. Elements are moved as opaque unsigned words of their size.
#include "backends/cuda/kernels/tensor_copy.cuh"
#include "backends/cuda/kernels/tensor_device.cuh"

namespace tarmac::cuda {

namespace {

using tensor_dev::grid_for;
using tensor_dev::kMaxBlocks;
using tensor_dev::kThreads;
using tensor_dev::view_offset;
using tensor_dev::word_t;

constexpr int kTile = 32;     // transpose tile edge
constexpr int kTileRows = 8;  // thread rows per tile: each thread moves kTile / kTileRows

// ---- strided gather ----

template <typename U, typename I>
__global__ void strided_copy_kernel(const U* __restrict__ in,  // strided view
                                    U* __restrict__ out,       // [dims] dense
                                    Shape8 dims, Shape8 strides, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    out[i] = in[view_offset<I>(static_cast<I>(i), dims, strides)];
  }
}

template <int bytes, typename I>
cudaError_t strided_copy_as(const void* in, void* out, const Shape8& dims, const Shape8& strides,
                            int64_t n, cudaStream_t s) {
  using U = word_t<bytes>;
  static_assert(sizeof(U) == bytes, "word size");
  strided_copy_kernel<U, I><<<grid_for(n), kThreads, 0, s>>>(
      static_cast<const U*>(in), static_cast<U*>(out), dims, strides, n);
  return cudaGetLastError();
}

template <typename I>
cudaError_t strided_copy_idx(const void* in, void* out, int unit, const Shape8& dims,
                             const Shape8& strides, int64_t n, cudaStream_t s) {
  switch (unit) {
    case 1:
      return strided_copy_as<1, I>(in, out, dims, strides, n, s);
    case 2:
      return strided_copy_as<2, I>(in, out, dims, strides, n, s);
    case 4:
      return strided_copy_as<4, I>(in, out, dims, strides, n, s);
    case 8:
      return strided_copy_as<8, I>(in, out, dims, strides, n, s);
    case 16:
      return strided_copy_as<16, I>(in, out, dims, strides, n, s);
    default:
      return cudaErrorInvalidValue;
  }
}

// ---- tiled transpose ----

template <typename U, typename I>
__global__ void transpose_tiled_kernel(const U* __restrict__ in,  // strided view
                                       U* __restrict__ out,       // [outer..., rows, cols]
                                       Shape8 outer_dims, Shape8 outer_strides, I rows, I cols,
                                       I col_stride, I tiles_r, I tiles_c, int64_t tiles) {
  __shared__ U tile[kTile][kTile + 1];  // tile[c - c0][r - r0]; +1 keeps columns conflict-free
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
    const I tc = static_cast<I>(t % tiles_c);
    const I rest = static_cast<I>(t / tiles_c);
    const I tr = rest % tiles_r;
    const I o = rest / tiles_r;
    const I in_base = view_offset<I>(o, outer_dims, outer_strides);
    const I out_base = o * rows * cols;
    const I r0 = tr * kTile, c0 = tc * kTile;
    {
      const I r = r0 + tx;
      for (int j = ty; j < kTile; j += kTileRows) {
        const I c = c0 + j;
        if (r < rows && c < cols) tile[j][tx] = in[in_base + r + c * col_stride];
      }
    }
    __syncthreads();
    {
      const I c = c0 + tx;
      for (int j = ty; j < kTile; j += kTileRows) {
        const I r = r0 + j;
        if (r < rows && c < cols) out[out_base + r * cols + c] = tile[tx][j];
      }
    }
    __syncthreads();
  }
}

template <int bytes, typename I>
cudaError_t transpose_as(const void* in, void* out, const Shape8& outer_dims,
                         const Shape8& outer_strides, int64_t rows, int64_t cols,
                         int64_t col_stride, cudaStream_t s) {
  using U = word_t<bytes>;
  static_assert(sizeof(U) == bytes, "word size");
  int64_t outer = 1;
  for (int k = 0; k < outer_dims.rank; ++k) outer *= outer_dims.d[k];
  const int64_t tiles_r = (rows + kTile - 1) / kTile, tiles_c = (cols + kTile - 1) / kTile;
  const int64_t tiles = outer * tiles_r * tiles_c;
  const unsigned int grid = static_cast<unsigned int>(tiles < kMaxBlocks ? tiles : kMaxBlocks);
  transpose_tiled_kernel<U, I><<<grid, dim3(kTile, kTileRows), 0, s>>>(
      static_cast<const U*>(in), static_cast<U*>(out), outer_dims, outer_strides,
      static_cast<I>(rows), static_cast<I>(cols), static_cast<I>(col_stride),
      static_cast<I>(tiles_r), static_cast<I>(tiles_c), tiles);
  return cudaGetLastError();
}

template <typename I>
cudaError_t transpose_idx(const void* in, void* out, int elem, const Shape8& outer_dims,
                          const Shape8& outer_strides, int64_t rows, int64_t cols,
                          int64_t col_stride, cudaStream_t s) {
  switch (elem) {
    case 1:
      return transpose_as<1, I>(in, out, outer_dims, outer_strides, rows, cols, col_stride, s);
    case 2:
      return transpose_as<2, I>(in, out, outer_dims, outer_strides, rows, cols, col_stride, s);
    case 4:
      return transpose_as<4, I>(in, out, outer_dims, outer_strides, rows, cols, col_stride, s);
    case 8:
      return transpose_as<8, I>(in, out, outer_dims, outer_strides, rows, cols, col_stride, s);
    default:
      return cudaErrorInvalidValue;
  }
}

// ---- pitched rows ----

template <typename U>
__global__ void copy_rows_kernel(const U* __restrict__ src,  // [rows, src_pitch] units
                                 int64_t src_pitch,
                                 U* __restrict__ dst,  // [rows, dst_pitch] units
                                 int64_t dst_pitch, int64_t row, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / row, j = i - r * row;
    dst[r * dst_pitch + j] = src[r * src_pitch + j];
  }
}

template <int bytes>
cudaError_t copy_rows_as(const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch,
                         int64_t row_bytes, int64_t rows, cudaStream_t s) {
  using U = word_t<bytes>;
  static_assert(sizeof(U) == bytes, "word size");
  const int64_t row = row_bytes / bytes, n = row * rows;
  copy_rows_kernel<U><<<grid_for(n), kThreads, 0, s>>>(static_cast<const U*>(src),
                                                       src_pitch / bytes, static_cast<U*>(dst),
                                                       dst_pitch / bytes, row, n);
  return cudaGetLastError();
}

// ---- Pad ----

/// Input coordinate for padded coordinate c on an axis of size n; -1: the fill value.
/// Mirrors pad_source in src/backends/cpu/tensor_movement.cc.
__device__ __forceinline__ int64_t pad_source(int64_t c, int64_t n, PadKind mode) {
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case PadKind::kConstant:
      return -1;
    case PadKind::kEdge:
      return c < 0 ? 0 : n - 1;
    case PadKind::kWrap:
      return ((c % n) + n) % n;
    case PadKind::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      const int64_t m = ((c % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

template <typename U, typename I>
__global__ void pad_kernel(const U* __restrict__ in,  // [in_dims]
                           U* __restrict__ out,       // [out_dims]
                           Shape8 in_dims, Shape8 out_dims, Shape8 begin, PadKind mode, U fill,
                           const U* __restrict__ fill_ptr, int64_t n) {
  const U value = fill_ptr ? *fill_ptr : fill;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    I rem = static_cast<I>(i), off = 0, stride = 1;
    bool constant = false;
#pragma unroll
    for (int k = kMaxRank - 1; k >= 0; --k) {
      if (k < out_dims.rank) {
        const I d = static_cast<I>(out_dims.d[k]);
        const I o = rem % d;
        rem /= d;
        const I len = static_cast<I>(in_dims.d[k]);
        const int64_t src = pad_source(static_cast<int64_t>(o) - begin.d[k], len, mode);
        constant |= src < 0;
        off += static_cast<I>(src) * stride;
        stride *= len;
      }
    }
    out[i] = constant ? value : in[off];
  }
}

template <int bytes, typename I>
cudaError_t pad_as(const void* in, void* out, const Shape8& in_dims, const Shape8& out_dims,
                   const Shape8& begin, PadKind mode, uint64_t fill_bits, const void* fill_ptr,
                   int64_t n, cudaStream_t s) {
  using U = word_t<bytes>;
  static_assert(sizeof(U) == bytes && bytes <= 8, "word size");
  const U fill = static_cast<U>(fill_bits);
  pad_kernel<U, I><<<grid_for(n), kThreads, 0, s>>>(static_cast<const U*>(in), static_cast<U*>(out),
                                                    in_dims, out_dims, begin, mode, fill,
                                                    static_cast<const U*>(fill_ptr), n);
  return cudaGetLastError();
}

template <typename I>
cudaError_t pad_idx(const void* in, void* out, int elem, const Shape8& in_dims,
                    const Shape8& out_dims, const Shape8& begin, PadKind mode, uint64_t fill_bits,
                    const void* fill_ptr, int64_t n, cudaStream_t s) {
  switch (elem) {
    case 1:
      return pad_as<1, I>(in, out, in_dims, out_dims, begin, mode, fill_bits, fill_ptr, n, s);
    case 2:
      return pad_as<2, I>(in, out, in_dims, out_dims, begin, mode, fill_bits, fill_ptr, n, s);
    case 4:
      return pad_as<4, I>(in, out, in_dims, out_dims, begin, mode, fill_bits, fill_ptr, n, s);
    case 8:
      return pad_as<8, I>(in, out, in_dims, out_dims, begin, mode, fill_bits, fill_ptr, n, s);
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

cudaError_t launch_strided_copy(const void* in, void* out, int unit, const Shape8& dims,
                                const Shape8& strides, int64_t numel, bool wide_index,
                                cudaStream_t stream) {
  if (numel <= 0) return cudaSuccess;
  return wide_index ? strided_copy_idx<int64_t>(in, out, unit, dims, strides, numel, stream)
                    : strided_copy_idx<int32_t>(in, out, unit, dims, strides, numel, stream);
}

cudaError_t launch_transpose_tiled(const void* in, void* out, int elem, const Shape8& outer_dims,
                                   const Shape8& outer_strides, int64_t rows, int64_t cols,
                                   int64_t col_stride, bool wide_index, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return cudaSuccess;
  return wide_index ? transpose_idx<int64_t>(in, out, elem, outer_dims, outer_strides, rows, cols,
                                             col_stride, stream)
                    : transpose_idx<int32_t>(in, out, elem, outer_dims, outer_strides, rows, cols,
                                             col_stride, stream);
}

cudaError_t launch_copy_rows(const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch,
                             int64_t row_bytes, int64_t rows, cudaStream_t stream) {
  if (row_bytes <= 0 || rows <= 0) return cudaSuccess;
  if (rows == 1 || (src_pitch == row_bytes && dst_pitch == row_bytes)) {
    return cudaMemcpyAsync(dst, src, static_cast<size_t>(row_bytes * rows),
                           cudaMemcpyDeviceToDevice, stream);
  }
  switch (widest_unit({src_pitch, dst_pitch, row_bytes}, {src, dst})) {
    case 16:
      return copy_rows_as<16>(src, src_pitch, dst, dst_pitch, row_bytes, rows, stream);
    case 8:
      return copy_rows_as<8>(src, src_pitch, dst, dst_pitch, row_bytes, rows, stream);
    case 4:
      return copy_rows_as<4>(src, src_pitch, dst, dst_pitch, row_bytes, rows, stream);
    case 2:
      return copy_rows_as<2>(src, src_pitch, dst, dst_pitch, row_bytes, rows, stream);
    default:
      return copy_rows_as<1>(src, src_pitch, dst, dst_pitch, row_bytes, rows, stream);
  }
}

cudaError_t launch_pad(const void* in, void* out, int elem, const Shape8& in_dims,
                       const Shape8& out_dims, const Shape8& begin, PadKind mode,
                       uint64_t fill_bits, const void* fill_ptr, int64_t numel, bool wide_index,
                       cudaStream_t stream) {
  if (numel <= 0) return cudaSuccess;
  return wide_index ? pad_idx<int64_t>(in, out, elem, in_dims, out_dims, begin, mode, fill_bits,
                                       fill_ptr, numel, stream)
                    : pad_idx<int32_t>(in, out, elem, in_dims, out_dims, begin, mode, fill_bits,
                                       fill_ptr, numel, stream);
}

}  // namespace tarmac::cuda
