// Launchers of the data-movement kernels of the tensor family (Transpose, Slice, Expand, Tile,
// DepthToSpace, SpaceToDepth, Concat, Split, Pad). Data movement does not look at values, so
// every launcher works on elements of `elem` bytes (1, 2, 4 or 8; some take 16-byte units made
// of several elements). Each returns the launch status (cudaGetLastError).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "backends/cuda/kernels/shape.h"

namespace tarmac::cuda {

/// Widest unit (16, 8, 4, 2 or 1 bytes) dividing every value in `bytes` and the alignment of
/// every pointer in `ptrs`: copies move this many bytes per load and store.
inline int widest_unit(std::initializer_list<int64_t> bytes,
                       std::initializer_list<const void*> ptrs) {
  int w = 16;
  for (const int64_t b : bytes)
    while (w > 1 && b % w != 0) w /= 2;
  for (const void* p : ptrs)
    while (w > 1 && reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(w) != 0) w /= 2;
  return w;
}

/// Dense gather through a strided view:
///   out[i] = in[sum_k idx_k(i) * strides.d[k]]   out: dense [dims]   in: any strided view
/// `unit` bytes per element (1, 2, 4, 8 or 16); strides in units, possibly 0 or negative.
/// `wide_index`: 64-bit index arithmetic (numel or offsets reach 2^31).
cudaError_t launch_strided_copy(const void* in, void* out, int unit, const Shape8& dims,
                                const Shape8& strides, int64_t numel, bool wide_index,
                                cudaStream_t stream);

/// Tiled transpose of the last two axes of a strided view through shared memory:
///   out[o, r, c] = in[offset(o) + r + c * col_stride]   out: dense [outer..., rows, cols]
/// offset(o) = sum_k o_k * outer_strides.d[k]; reads are coalesced along r, writes along c.
/// `elem` is 1, 2, 4 or 8.
cudaError_t launch_transpose_tiled(const void* in, void* out, int elem, const Shape8& outer_dims,
                                   const Shape8& outer_strides, int64_t rows, int64_t cols,
                                   int64_t col_stride, bool wide_index, cudaStream_t stream);

/// Copies `rows` rows of `row_bytes` bytes between pitched buffers (Concat, Split):
///   dst[r * dst_pitch + j] = src[r * src_pitch + j]   (all in bytes)
cudaError_t launch_copy_rows(const void* src, int64_t src_pitch, void* dst, int64_t dst_pitch,
                             int64_t row_bytes, int64_t rows, cudaStream_t stream);

/// Pad modes, numbered as tensor_ops::PadMode.
enum class PadKind : int32_t { kConstant = 0, kReflect = 1, kEdge = 2, kWrap = 3 };

/// Pad of a dense tensor:
///   in: [in_dims]   out: [out_dims]   out coordinate o_k reads in coordinate o_k - begin.d[k]
/// mapped into range by `mode`; in constant mode out-of-range coordinates get the fill value:
/// *fill_ptr when fill_ptr is not null (a device scalar of the element type), else the low
/// `elem` bytes of fill_bits. `elem` is 1, 2, 4 or 8.
cudaError_t launch_pad(const void* in, void* out, int elem, const Shape8& in_dims,
                       const Shape8& out_dims, const Shape8& begin, PadKind mode,
                       uint64_t fill_bits, const void* fill_ptr, int64_t numel, bool wide_index,
                       cudaStream_t stream);

}  // namespace tarmac::cuda
